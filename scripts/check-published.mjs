// After `pnpm build`: loads the publishable packages the way an npm consumer
// would — plain Node, no "@skymesh/source" condition — so `exports` must
// resolve to dist/*.js, and every entry must have its .d.ts beside it.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
let failed = 0;
for (const pkg of ['crypto', 'protocol']) {
  const dir = join('packages', pkg);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const [sub, target] of Object.entries(manifest.exports)) {
    const spec = `${manifest.name}${sub === '.' ? '' : sub.slice(1)}`;
    const js = join(dir, target.default);
    const dts = join(dir, target.types);
    try {
      if (!existsSync(js) || !existsSync(dts)) throw new Error(`missing ${js} or ${dts}`);
      const resolved = require.resolve(spec, { paths: [join(process.cwd(), 'packages/protocol')] });
      if (!resolved.includes(`${join(dir, 'dist')}`) && !resolved.includes('/dist/')) {
        throw new Error(`resolved to ${resolved}, not dist/`);
      }
      const mod = await import(spec);
      console.log(`published: ${spec} → ${dirname(js)} (${Object.keys(mod).length} exports)`);
    } catch (err) {
      failed++;
      console.error(`published: ${spec} FAILED: ${err.message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
