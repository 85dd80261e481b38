/**
 * Browser-safety: every entry point of @skymesh/protocol, and
 * @skymesh/crypto beneath it, must bundle for the browser with no Node
 * built-in. esbuild (platform "browser") fails on any `node:*` or bare
 * built-in import; the metafile is scanned as well, and the crypto package's
 * `#native` import must resolve to its browser stand-in (src/native/none.ts).
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
// Every published entry point, read from package.json so a new subpath is
// covered the day it is added.
const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as {
  exports: Record<string, { '@skymesh/source': string }>;
};
const ENTRIES = Object.values(manifest.exports).map((e) => e['@skymesh/source'].slice(2));
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

interface Bundle {
  errors: string[];
  metafile: Metafile | undefined;
}

async function bundle(source: string): Promise<Bundle> {
  try {
    const result = await build({
      stdin: { contents: source, resolveDir: pkg, loader: 'ts', sourcefile: 'browser-entry.ts' },
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      conditions: ['@skymesh/source', 'browser'],
      metafile: true,
      absWorkingDir: pkg,
      logLevel: 'silent',
    });
    return { errors: [], metafile: result.metafile };
  } catch (err) {
    const errors = (err as { errors?: { text: string }[] }).errors ?? [{ text: String(err) }];
    return { errors: errors.map((e) => e.text), metafile: undefined };
  }
}

/** Every Node built-in a bundle's inputs import, as "file -> module". */
function builtinImports(meta: Metafile): string[] {
  const found: string[] = [];
  for (const [file, input] of Object.entries(meta.inputs)) {
    for (const imp of input.imports) {
      if (imp.path.startsWith('node:') || BUILTINS.has(imp.path))
        found.push(`${file} -> ${imp.path}`);
    }
  }
  return found;
}

function entrySource(paths: string[]): string {
  return paths.map((p, i) => `export * as m${i} from ${JSON.stringify(p)};`).join('\n');
}

describe('browser safety', () => {
  it('bundles every protocol entry point and @skymesh/crypto without Node built-ins', async () => {
    const { errors, metafile } = await bundle(
      entrySource([...ENTRIES.map((e) => `./${e}`), '@skymesh/crypto']),
    );
    expect(errors).toEqual([]);
    expect(metafile).toBeDefined();
    expect(builtinImports(metafile!)).toEqual([]);
    const inputs = Object.keys(metafile!.inputs); // paths relative to the package
    for (const e of ENTRIES) expect(inputs).toContain(e);
    const all = inputs.join('\n');
    expect(all).toMatch(/crypto\/src\/native\/none\.ts/);
    expect(all).not.toMatch(/crypto\/src\/native\/node\.ts/);
  });

  it('would catch a Node built-in (control)', async () => {
    const direct = await bundle(`import { readFileSync } from 'node:fs'; export { readFileSync };`);
    expect(direct.errors.length).toBeGreaterThan(0);
    const bare = await bundle(`import { createHash } from 'crypto'; export { createHash };`);
    expect(bare.errors.length).toBeGreaterThan(0);
  });
});
