// The PGlite template (src/db/client.ts): kept in a per-user 0700 cache
// directory, written 0600; a persistent data directory never starts from it
// (a template that is not what we wrote cannot become a lasting database);
// a cache directory open to others, a symlink or someone else's is not used.
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase, rows, templatePath } from '../src/db/client.js';

const savedTmp = process.env.TMPDIR;
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'skymesh-template-test-'));
});

afterAll(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(root, { recursive: true, force: true });
});

/** Whether the database has the table a planted template adds. */
async function planted(d: Database): Promise<boolean> {
  const [r] = await rows<{ t: string | null }>(d.db, sql`SELECT to_regclass('planted')::text AS t`);
  await d.close();
  return r?.t === 'planted';
}

/** Replaces the template with one holding an extra table (what an attacker would plant). */
async function plant(file: string): Promise<void> {
  const pg = await PGlite.create({ loadDataDir: new Blob([readFileSync(file)]) });
  await pg.exec('CREATE TABLE planted (x int)');
  const dump = await pg.dumpDataDir('none');
  await pg.close();
  writeFileSync(file, new Uint8Array(await dump.arrayBuffer()), { mode: 0o600 });
}

describe('the PGlite template', () => {
  it('is written 0600 in a 0700 per-user directory and never seeds a data directory', async () => {
    // This user's real template, if there is one, saves an initdb here.
    const real = templatePath();
    process.env.TMPDIR = root;
    const file = templatePath()!;
    if (real && existsSync(real)) copyFileSync(real, file);
    else await (await openDatabase({})).close(); // makes the template
    expect(file.startsWith(join(root, `skymesh-gateway-pglite-${process.getuid!()}`))).toBe(true);
    expect(statSync(dirname(file)).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await plant(file);
    // In memory, a new database loads the template (the plant is seen: the test can tell)…
    expect(await planted(await openDatabase({}))).toBe(true);
    // …but a persistent data directory runs initdb instead.
    const dir = join(root, 'data');
    expect(await planted(await openDatabase({ pgliteDir: dir }))).toBe(false);
  });

  it('is not used from a cache directory open to others, a symlink or another owner', async () => {
    const file = templatePath()!;
    const cache = dirname(file);
    chmodSync(cache, 0o755);
    expect(templatePath()).toBeUndefined(); // so no database loads it
    chmodSync(cache, 0o700);
    expect(templatePath()).toBe(file);

    // A symlink in its place (pointing at a private directory) is refused too.
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    rmSync(cache, { recursive: true });
    symlinkSync(elsewhere, cache);
    expect(templatePath()).toBeUndefined();
    rmSync(cache);

    // Another user's directory (only root can make one here to check it).
    if (process.getuid!() === 0) {
      mkdirSync(cache, { mode: 0o700 });
      chownSync(cache, 65534, 65534);
      expect(templatePath()).toBeUndefined();
    }
  });
});
