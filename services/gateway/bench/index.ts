/**
 * Gateway throughput benchmark on real PostgreSQL: signed transfers from 50
 * concurrent clients over 10,000 accounts, half of them paying one of 10 hot
 * accounts. Each transfer is signature-checked, executed under row locks,
 * receipted, signed and appended to the transparency log (group commit).
 * Clients sign their calls in this same process, so the numbers include the
 * client side too. Prints one JSON line.
 *
 * Env: BENCH_DATABASE_URL (admin URL; a fresh database is made and dropped),
 * BENCH_TRANSFERS (default 20000), BENCH_CLIENTS (50), BENCH_ACCOUNTS (10000),
 * BENCH_INFLIGHT (calls each client keeps in flight, default 20), BENCH_BATCH (group-commit
 * batch size, default 256).
 */
import { loadavg } from 'node:os';
import { ed25519PublicKey, randomBytes, toHex } from '@skymesh/crypto';
import { receiptHash, type SignedCall, signCall, ZERO_HASH } from '@skymesh/protocol/gateway';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { DevChain } from '../src/chain/devchain.js';
import { openDatabase } from '../src/db/client.js';
import { Ledger, SYSTEM } from '../src/ledger.js';
import { conservation } from '../src/postings.js';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TRANSFERS = env('BENCH_TRANSFERS', 20_000);
const CLIENTS = env('BENCH_CLIENTS', 50);
const ACCOUNTS = env('BENCH_ACCOUNTS', 10_000);
const INFLIGHT = env('BENCH_INFLIGHT', 20);
const BATCH = env('BENCH_BATCH', 256);
const HOT = 10;
const FUND = 1_000_000_000n;

interface Acct {
  id: bigint;
  seed: Uint8Array;
  next: bigint;
  prev: Uint8Array;
}

const admin = postgres(ADMIN, { max: 1, onnotice: () => {} });
const name = `gw_bench_${toHex(randomBytes(4))}`;
await admin.unsafe(`CREATE DATABASE ${name}`);
const url = new URL(ADMIN);
url.pathname = `/${name}`;
const database = await openDatabase({ url: url.toString(), poolSize: 4 });
const db = database.db;
try {
  const gatewaySeed = randomBytes(32);
  const ledger = await Ledger.open({ db, gatewaySeed, chain: new DevChain(), batchMax: BATCH });
  const gk = ledger.gatewayKey;

  // Accounts are opened through the ledger (signed create calls)…
  const accts: Acct[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    accts.push({ id: (1n << 40n) + BigInt(i), seed: randomBytes(32), next: 0n, prev: ZERO_HASH });
  }
  const run = async (a: Acct, call: SignedCall) => {
    const r = await ledger.submit(call);
    a.next++;
    a.prev = receiptHash(r.receipt);
  };
  const opening: Promise<void>[] = [];
  for (const a of accts) {
    opening.push(
      run(
        a,
        signCall(a.seed, gk, {
          type: 'create_account',
          account: a.id,
          sequence: 0n,
          previous: ZERO_HASH,
          publicKey: ed25519PublicKey(a.seed),
        }),
      ),
    );
  }
  await Promise.all(opening);
  // …and funded in bulk with the same double-entry shape deposits use.
  await db.execute(sql`INSERT INTO deposits (id, address, account, amount)
    SELECT 'bench-' || id, 'bench', id, ${FUND.toString()}::bigint FROM accounts WHERE kind = 0`);
  await db.execute(sql`INSERT INTO entries (debit, credit, amount, kind, ref)
    SELECT ${SYSTEM.deposits.toString()}::bigint, id, ${FUND.toString()}::bigint, 'deposit', 'bench-' || id
    FROM accounts WHERE kind = 0`);
  await db.execute(
    sql`UPDATE accounts SET balance = balance + ${FUND.toString()}::bigint WHERE kind = 0`,
  );
  await db.execute(sql`UPDATE accounts SET balance = balance - ${(FUND * BigInt(ACCOUNTS)).toString()}::bigint
    WHERE id = ${SYSTEM.deposits.toString()}::bigint`);

  // Each client owns a slice of the accounts and keeps INFLIGHT calls going on different ones.
  const latencies: number[] = [];
  let issued = 0;
  const client = async (c: number) => {
    const mine = accts.filter((_, i) => i % CLIENTS === c);
    let cursor = 0;
    const lane = async () => {
      while (issued < TRANSFERS) {
        issued++;
        const a = mine[cursor++ % mine.length]!;
        const to =
          Math.random() < 0.5
            ? accts[Math.floor(Math.random() * HOT)]!
            : accts[Math.floor(Math.random() * ACCOUNTS)]!;
        if (to === a) continue;
        const t0 = performance.now();
        await run(
          a,
          signCall(a.seed, gk, {
            type: 'transfer',
            account: a.id,
            sequence: a.next,
            previous: a.prev,
            to: to.id,
            amount: 1n + BigInt(Math.floor(Math.random() * 1000)),
          }),
        );
        latencies.push(performance.now() - t0);
      }
    };
    // One lane per in-flight slot; lanes of a client never share an account at once
    // because the cursor hands each lane a different account (slice ≥ INFLIGHT).
    await Promise.all(Array.from({ length: Math.min(INFLIGHT, mine.length) }, lane));
  };
  const batches0 = ledger.stats.batches;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  const cons = await conservation(db);
  await ledger.close();
  console.log(
    JSON.stringify({
      transfers_per_s: Math.round(latencies.length / secs),
      p50_ms: Number(q(0.5).toFixed(2)),
      p99_ms: Number(q(0.99).toFixed(2)),
      clients: CLIENTS,
      accounts: ACCOUNTS,
      transfers: latencies.length,
      inflight_per_client: INFLIGHT,
      batch_max: BATCH,
      batches: ledger.stats.batches - batches0,
      // CPU this process spent per transfer (clients' signing included; Postgres excluded).
      cpu_us_per_transfer: Math.round((cpu.user + cpu.system) / latencies.length),
      load_average_1m: Number(loadavg()[0]!.toFixed(2)),
      conservation_ok: cons.ok,
      log_size: ledger.logSize,
    }),
  );
} finally {
  await database.close();
  await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
