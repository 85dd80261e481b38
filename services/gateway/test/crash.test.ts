// Crash safety: the gateway runs as its own process (tsx) on real
// PostgreSQL; clients hammer it over HTTP on 127.0.0.1; it is SIGKILLed
// mid-load and restarted. Every acknowledged receipt must be there byte for
// byte, nothing half-applied (conservation, journal = balances), and the
// calls in flight at the kill, re-sent, are applied exactly once.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex, randomBytes, toHex } from '@skymesh/crypto';
import {
  encodeReceipt,
  GatewayClient,
  generateAccount,
  httpTransport,
  type Receipt,
  verifyAccountChain,
} from '@skymesh/protocol/gateway';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bytes, idToDb, openDatabase, rows } from '../src/db/client.js';
import { conservation } from '../src/postings.js';
import { freshDatabase } from './_harness.js';

const COIN = 1_000_000n;
const root = fileURLToPath(new URL('..', import.meta.url));
const key = toHex(randomBytes(32));
let dir: string;
let db: { url: string; drop: () => Promise<void> };
let child: ChildProcess | undefined;

beforeAll(async () => {
  db = await freshDatabase();
  dir = mkdtempSync(join(tmpdir(), 'gw-crash-'));
});
afterAll(async () => {
  await stopProcess();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Kills the gateway process (if running) and waits for it to exit. */
async function stopProcess(): Promise<void> {
  const c = child;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await exited;
}

/** Polls `cond` every 50 ms; throws after `ms`. */
async function until(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts the gateway process; resolves with its base URL once it listens. */
function startProcess(): Promise<string> {
  // node itself with tsx as a loader (not the tsx CLI, which would run the
  // gateway in a grandchild that SIGKILL cannot reach).
  child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@skymesh/source', 'src/main.ts'],
    {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        GATEWAY_KEY: key,
        HOST: '127.0.0.1',
        PORT: '0',
        CHAIN: 'devchain',
        DEVCHAIN_FILE: join(dir, 'chain.json'),
        DEVCHAIN_BLOCK_MS: '0',
        DEPOSIT_POLL_MS: '100',
        WITHDRAW_POLL_MS: '100',
        LOG_LEVEL: 'warn',
        NODE_ENV: 'test',
        // One signature worker: each starts its own TypeScript loader (slow to boot).
        CRYPTO_WORKERS: '1',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('gateway did not start')), 25_000);
    child!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /GATEWAY_LISTENING (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child!.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
}

async function post(base: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.json();
}

it('SIGKILL mid-load: acknowledged receipts survive, nothing half-applied, retries idempotent', async () => {
  let base = await startProcess();
  const gatewayKey = fromHex(
    ((await (await fetch(`${base}/v1/gateway`)).json()) as { publicKey: string }).publicKey,
  );
  // A transport whose base URL can move to the restarted process.
  const transport = () => httpTransport({ baseUrl: base });
  const proxy = {
    call: (c: Parameters<ReturnType<typeof transport>['call']>[0]) => transport().call(c),
    checkpoint: () => transport().checkpoint(),
    inclusionProof: (i: bigint, s: bigint) => transport().inclusionProof(i, s),
    consistencyProof: (a: bigint, b: bigint) => transport().consistencyProof(a, b),
  };
  const clients = Array.from(
    { length: 12 },
    () => new GatewayClient({ gatewayKey, transport: proxy, account: generateAccount() }),
  );
  for (const c of clients) {
    await c.createAccount();
    await post(base, '/dev/faucet', {
      address: await c.depositAddress(),
      amount: String(5n * COIN),
    });
  }
  await post(base, '/dev/mine', { blocks: 1 });
  await until(async () => (await clients[0]!.fetchBalance()) === 5n * COIN, 20_000, 'deposits');

  // Load: every client transfers to the next, round and round, until the kill.
  const acked: Receipt[] = [];
  let killed = false;
  const loops = clients.map(async (c, i) => {
    const to = clients[(i + 1) % clients.length]!;
    while (!killed) {
      try {
        acked.push(await c.transfer(to.account, 1000n + BigInt(i)));
      } catch {
        return; // the process is gone; this call stays pending in the client
      }
    }
  });
  await until(() => acked.length >= 150, 30_000, '150 acknowledged transfers');
  killed = true;
  await stopProcess();
  await Promise.all(loops);

  base = await startProcess();
  // Every acknowledged receipt is stored, byte for byte.
  const database = await openDatabase({ url: db.url, poolSize: 2 });
  try {
    for (const r of acked) {
      const [row] = await rows<{ receipt: unknown }>(
        database.db,
        sql`SELECT receipt FROM receipts WHERE account = ${idToDb(r.account).toString()}::bigint
            AND sequence = ${r.sequence.toString()}::bigint`,
      );
      expect(toHex(bytes(row!.receipt))).toBe(toHex(encodeReceipt(r)));
    }
    expect((await conservation(database.db)).ok).toBe(true);

    // Calls in flight at the kill are re-sent: applied once (or answered from the log).
    for (const c of clients) await c.resume();
    for (const c of clients) await c.fetchBalance();
    const total = clients.reduce((s, c) => s + c.balance, 0n);
    expect(total).toBe(12n * 5n * COIN); // transfers only move coins between these accounts
    for (const c of clients) verifyAccountChain(gatewayKey, c.links);
    const cons = await conservation(database.db);
    expect(cons.ok).toBe(true);
    expect(cons.userBalances).toBe(12n * 5n * COIN);
    await clients[0]!.audit();
  } finally {
    await database.close();
    await stopProcess();
  }
}, 90_000);
