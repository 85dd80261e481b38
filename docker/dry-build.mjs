// Checks a Dockerfile's build stage without a Docker engine: every path its
// COPY lines take from the build context (the repository root) must exist;
// with --run, those files are copied into a temporary folder and the
// stage's RUN lines run there (pnpm from this machine, its store first),
// then the runtime stage's COPY --from=build sources must exist in /out
// (here: <tmp>/out) and its RUN checks run on that output.
//
//   node docker/dry-build.mjs docker/node.Dockerfile [--run]
//
// Only what these Dockerfiles use is understood (ARG, FROM, ENV, WORKDIR,
// COPY, RUN with `\` continuations); it is a check, not a builder: the base
// image is this machine (Node 20 on Debian), not the image's.
import { execSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const [file, flag] = process.argv.slice(2);
if (!file) {
  console.error('usage: node docker/dry-build.mjs <Dockerfile> [--run]');
  process.exit(2);
}
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const lines = readFileSync(resolve(file), 'utf8')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

const stages = [];
for (const l of lines) {
  const [op, ...rest] = l.split(/\s+/);
  const arg = rest.join(' ');
  if (op === 'FROM') stages.push({ from: arg, steps: [] });
  else if (stages.length > 0) stages.at(-1).steps.push({ op, arg });
}
const build = stages[0];
const runtime = stages.at(-1);
let failed = 0;
const fail = (m) => {
  failed++;
  console.error(`missing: ${m}`);
};

// Build-context COPY sources (the last word is the destination).
const copies = [];
let workdir = '/';
for (const { op, arg } of build.steps) {
  if (op === 'WORKDIR') workdir = arg;
  if (op !== 'COPY' || arg.startsWith('--from')) continue;
  const words = arg.split(/\s+/).filter((w) => !w.startsWith('--'));
  const dest = words.pop();
  for (const src of words) {
    if (!existsSync(join(root, src))) fail(src);
    copies.push({ src, dest: dest.startsWith('/') ? dest : join(workdir, dest) });
  }
}
console.log(`${file}: ${copies.length} build-context paths, ${failed} missing`);
if (failed > 0 || flag !== '--run') process.exit(failed > 0 ? 1 : 0);

const tmp = mkdtempSync(join(tmpdir(), 'dry-build-'));
const at = (p) => join(tmp, p);
try {
  for (const { src, dest } of copies) {
    const target =
      dest.endsWith('/') || copies.filter((c) => c.dest === dest).length > 1
        ? join(at(dest), src.split('/').pop())
        : at(dest);
    cpSync(join(root, src), target, { recursive: true });
  }
  const env = { ...process.env, CI: '1', npm_config_prefer_offline: 'true' };
  for (const { op, arg } of build.steps) {
    if (op !== 'RUN' || arg.startsWith('npm install -g pnpm')) continue;
    const cmd = arg.replaceAll(' /out', ` ${at('/out')}`);
    console.log(`RUN ${cmd}`);
    execSync(cmd, { cwd: at(workdir), env, stdio: 'inherit' });
  }
  for (const { op, arg } of runtime.steps) {
    if (op === 'COPY' && arg.startsWith('--from=build')) {
      const src = arg.split(/\s+/).filter((w) => !w.startsWith('--'))[0];
      if (!existsSync(at(src))) fail(`${src} (from the build stage)`);
    }
  }
  for (const { op, arg } of runtime.steps) {
    if (op === 'RUN' && arg.startsWith('node -e')) {
      console.log(`RUN ${arg}`);
      execSync(arg, { cwd: at('/out'), stdio: 'inherit' });
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(
  failed > 0 ? `${file}: ${failed} missing` : `${file}: build stage ran, output complete`,
);
process.exit(failed > 0 ? 1 : 0);
