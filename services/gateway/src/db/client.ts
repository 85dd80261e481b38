/**
 * Opens the gateway database and applies the committed drizzle migrations:
 * PostgreSQL through postgres.js when a URL is given, otherwise embedded
 * PGlite (in memory, or in a data directory). Both expose the same drizzle
 * API; `rows()` hides the one difference in how raw query results come back.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/postgres-js';
import { migrate as migratePg } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';

/** A drizzle database or transaction on either driver. */
export type Db = PgDatabase<PgQueryResultHKT>;

/**
 * Fixed-text SQL with `$n` parameters, all passed as text (or null) and cast
 * in the statement. The ledger's hot path uses it: on PostgreSQL each text is
 * parsed and planned once per connection (a named prepared statement), where
 * drizzle's `execute` sends a fresh unnamed statement and waits for a
 * parameter description every time.
 */
export interface RawSql {
  query<T = Record<string, unknown>>(
    text: string,
    params: readonly (string | null)[],
  ): Promise<T[]>;
}

export interface Database {
  db: Db;
  /** 'postgres' or 'pglite'. */
  driver: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction over raw SQL; COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(fn: (q: RawSql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** postgres:// URL; unset → PGlite. */
  url?: string | undefined;
  /** PGlite data directory; unset → in memory. */
  pgliteDir?: string | undefined;
  /** postgres.js pool size. @default 10 */
  poolSize?: number;
}

const MIGRATIONS = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Opens the database and brings its schema up to date. */
export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.url) {
    const client = postgres(opts.url, {
      max: opts.poolSize ?? 10,
      onnotice: () => {},
      // Connection errors must not print the URL (it may hold a password).
      connection: { application_name: 'skymesh-gateway' },
    });
    const db = drizzlePg(client);
    await migratePg(db, { migrationsFolder: MIGRATIONS });
    return {
      db: db as unknown as Db,
      driver: 'postgres',
      transaction: <T>(fn: (q: RawSql) => Promise<T>) =>
        client.begin((tx) =>
          fn({
            query: async <R>(text: string, params: readonly (string | null)[]) =>
              (await tx.unsafe(text, params as string[], { prepare: true })) as unknown as R[],
          }),
        ) as Promise<T>,
      close: () => client.end({ timeout: 5 }),
    };
  }
  const client = await migratedPglite(opts.pgliteDir);
  const db = drizzlePglite(client);
  await migratePglite(db, { migrationsFolder: MIGRATIONS });
  return {
    db: db as unknown as Db,
    driver: 'pglite',
    transaction: (fn) =>
      client.transaction((tx) =>
        fn({
          query: async <R>(text: string, params: readonly (string | null)[]) =>
            (await tx.query<R>(text, params as string[])).rows,
        }),
      ),
    close: () => client.close(),
  };
}

/**
 * A PGlite (in memory, or in `dir`) with the schema migrated. Creating a
 * cluster (initdb) is most of PGlite's start-up (~1 s); so the first one made
 * by this user is migrated and dumped to a template file in a per-user cache
 * directory (see templatePath), named by a hash of the migrations and the
 * PGlite version, and later in-memory ones (tests, in any process) start from
 * a copy of it (~0.3 s). A persistent `dir` never starts from the template:
 * it runs initdb, so a template that is not what we wrote cannot become a
 * lasting database. A directory that already holds a database opens as it
 * is. The migrator still runs after (a no-op when nothing is new).
 */
async function migratedPglite(dir: string | undefined): Promise<PGlite> {
  if (dir && existsSync(join(dir, 'PG_VERSION'))) return PGlite.create(dir);
  const file = templatePath();
  if (file && !dir) {
    try {
      const st = lstatSync(file);
      if (st.isFile() && st.uid === process.getuid?.() && (st.mode & 0o022) === 0) {
        return await PGlite.create({ loadDataDir: new Blob([readFileSync(file)]) });
      }
    } catch {
      // no template yet (or an unreadable one): make it
    }
  }
  const fresh = await PGlite.create(dir ? { dataDir: dir } : {});
  await migratePglite(drizzlePglite(fresh), { migrationsFolder: MIGRATIONS });
  if (file && !existsSync(file)) {
    // A fresh random name, created exclusively (never through a file someone
    // else made), then renamed into place: readers see a whole file or none.
    const tmp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
    try {
      const dump = await fresh.dumpDataDir('none');
      writeFileSync(tmp, new Uint8Array(await dump.arrayBuffer()), { flag: 'wx', mode: 0o600 });
      renameSync(tmp, file);
    } catch {
      rmSync(tmp, { force: true }); // the template is only a speed-up
    }
  }
  return fresh;
}

/**
 * Where this user's PGlite template lives: `skymesh-gateway-pglite-<uid>/`
 * in the temp directory, created 0700, holding `<hash>.tar`. Undefined (no
 * template: every database runs initdb) when that directory is not a real
 * directory owned by this user and closed to others (another local user may
 * have made it first to plant a template), or where there are no user ids.
 */
export function templatePath(): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const cache = join(tmpdir(), `skymesh-gateway-pglite-${uid}`);
  try {
    mkdirSync(cache, { mode: 0o700 });
  } catch {
    // already there: checked below
  }
  try {
    const st = lstatSync(cache);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return undefined;
  } catch {
    return undefined;
  }
  // PGlite's installed path names its version (pnpm store: …/@electric-sql+pglite@x.y.z/…).
  const hash = createHash('sha256').update(
    realpathSync(createRequire(import.meta.url).resolve('@electric-sql/pglite')),
  );
  for (const f of readdirSync(MIGRATIONS, { recursive: true }).map(String).sort()) {
    if (f.endsWith('.sql') || f.endsWith('.json'))
      hash.update(f).update(readFileSync(join(MIGRATIONS, f)));
  }
  return join(cache, `${hash.digest('hex').slice(0, 16)}.tar`);
}

/** Runs raw SQL and returns its rows (postgres.js answers an array, PGlite `{ rows }`). */
export async function rows<T = Record<string, unknown>>(db: Db, query: SQL): Promise<T[]> {
  const res = (await db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(res) ? res : res.rows;
}

/** A 64-bit integer from either driver (string, number or bigint). */
export function big(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' || typeof v === 'string') return BigInt(v);
  throw new TypeError(`not an integer: ${typeof v}`);
}

/** bytea from either driver as a plain Uint8Array. */
export function bytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError('not bytea');
}

/** Unsigned 64-bit account id → the signed bigint stored in Postgres (same bits). */
export function idToDb(id: bigint): bigint {
  return BigInt.asIntN(64, id);
}

/** Stored signed bigint → unsigned 64-bit account id. */
export function idFromDb(v: unknown): bigint {
  return BigInt.asUintN(64, big(v));
}

/** Bytes as a Buffer view for postgres.js parameters (PGlite accepts it too). */
export function param(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Integers as a Postgres array literal (`{1,-2,3}`), for a `$n::bigint[]` parameter. */
export function intArray(list: readonly (bigint | number)[]): string {
  return `{${list.join(',')}}`;
}

/** Byte strings as a hex text array literal, for `decode(x, 'hex')` over `unnest($n::text[])`. */
export function hexArray(list: readonly Uint8Array[]): string {
  return `{${list.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')).join(',')}}`;
}

/** Strings as a Postgres text array literal: every element quoted, `"` and `\` escaped. */
export function textArray(list: readonly string[]): string {
  return `{${list.map((t) => `"${t.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/**
 * RawSql over a drizzle database or transaction, for code that already runs
 * inside a drizzle transaction (deposits, withdrawals) and shares a
 * statement with the ledger's hot path.
 */
export function rawOver(db: Db): RawSql {
  return {
    query: <T>(text: string, params: readonly (string | null)[]) =>
      rows<T>(
        db,
        sql.join(
          text
            .split(/\$(\d+)/)
            .map((part, i) =>
              i % 2 === 1 ? sql`${params[Number(part) - 1] ?? null}` : sql.raw(part),
            ),
        ),
      ),
  };
}
