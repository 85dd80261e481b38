/**
 * Gateway throughput benchmark on real PostgreSQL: signed transfers from 50
 * concurrent clients over 10,000 accounts, half of them paying one of 10 hot
 * accounts. Each transfer is signature-checked, executed under row locks,
 * receipted, signed and appended to the transparency log (group commit).
 *
 * Two modes, measured in this process on the same ledger, taking turns round
 * by round (in process first, then API, and again):
 * - in process: calls go straight to Ledger.submit (no socket, no JSON);
 * - API (the headline figures): the gateway app (buildApp, as main.ts serves
 *   it) listens on 127.0.0.1:0; a child process (bench/api-clients.ts) holds
 *   CLIENTS WebSockets through the client library's wsTransport and sends the
 *   calls as wire JSON; every answer must be a receipt with status OK, and
 *   every 100th is verified in full (verifyReceiptForCall).
 * The clients' signing is kept out of the measurement: transfers are signed
 * in rounds (each account's next call needs its previous receipt), and only
 * the submit phases are timed, so `gateway_cpu_us_per_transfer` is the
 * gateway's own CPU (all its threads: process.cpuUsage; in API mode the
 * clients' socket and JSON work is in the child, `client_io_cpu_us_per_transfer`).
 * Postgres runs in its own processes; its share shows in `tx_ms_per_batch`
 * (wall time of the batch transactions) and `sql_ms_per_batch` (time waiting
 * for statements). Prints one JSON line: API figures at the top level, the
 * in-process ones under `in_process`.
 *
 * Env: BENCH_DATABASE_URL, else TEST_DATABASE_URL (admin URL; a fresh
 * database is made and dropped),
 * BENCH_TRANSFERS (per mode, default 20000), BENCH_CLIENTS (50), BENCH_ACCOUNTS (10000),
 * BENCH_INFLIGHT (calls each client keeps in flight, default 20), BENCH_BATCH (group-commit
 * batch size, default 256), BENCH_WORKERS (signature pool threads, default: cores up to 4; 0 =
 * inline).
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ed25519PublicKey, randomBytes, toHex } from '@skymesh/crypto';
import {
  callToJson,
  parseReceipt,
  receiptHash,
  type SignedCall,
  signCall,
  verifyReceiptForCall,
  ZERO_HASH,
} from '@skymesh/protocol/gateway';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { buildApp } from '../src/app.js';
import { DevChain } from '../src/chain/devchain.js';
import { defaultPoolSize } from '../src/crypto-pool.js';
import { openDatabase } from '../src/db/client.js';
import { Ledger, SYSTEM } from '../src/ledger.js';
import { conservation } from '../src/postings.js';
import type { FromClients, ToClients } from './api-clients.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const env = (k: string, d: number) => Number(process.env[k] ?? d);
const ADMIN =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';
const TRANSFERS = env('BENCH_TRANSFERS', 20_000);
const CLIENTS = env('BENCH_CLIENTS', 50);
const ACCOUNTS = env('BENCH_ACCOUNTS', 10_000);
const INFLIGHT = env('BENCH_INFLIGHT', 20);
const BATCH = env('BENCH_BATCH', 256);
const WORKERS = env('BENCH_WORKERS', defaultPoolSize());
const HOT = 10;
const FUND = 1_000_000_000n;

interface Acct {
  id: bigint;
  seed: Uint8Array;
  next: bigint;
  prev: Uint8Array;
}

/**
 * CPU (µs) used so far by the Postgres backends connected to the bench
 * database, from /proc (the server runs on this machine); -Infinity when
 * unreadable, so the total comes out negative and is reported as -1.
 */
async function postgresCpuUs(): Promise<number> {
  try {
    const pids = await admin<
      { pid: number }[]
    >`SELECT pid FROM pg_stat_activity WHERE datname = ${name}`;
    let ticks = 0;
    for (const { pid } of pids) {
      // Fields after the command name: state is field 3, utime 14, stime 15.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    }
    return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NEGATIVE_INFINITY;
  }
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
  const ledger = await Ledger.open({
    database,
    gatewaySeed,
    chain: new DevChain(),
    batchMax: BATCH,
    cryptoWorkers: WORKERS,
  });
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

  /**
   * One way of submitting a signed round: `load` (untimed) hands the round to
   * the submitter, `run` (timed: wall clock, gateway CPU, Postgres CPU) submits
   * it, `settle` (untimed) returns the per-call latencies and has moved every
   * account to its new receipt.
   */
  interface Mode {
    load(round: Round): Promise<void>;
    run(): Promise<void>;
    settle(): Promise<number[]>;
    /** CPU (µs) the clients spent in the last `run`, when they run in another process. */
    clientCpuUs?: () => number;
  }
  type Round = [Acct, SignedCall][];

  // Rounds: every account signs its next transfer (untimed), then the round is
  // submitted by CLIENTS × INFLIGHT lanes (timed). Half go to the hot accounts.
  // The two modes take turns round by round, so machine load drifts hit both.
  const tally = () => ({
    latencies: [] as number[],
    secs: 0,
    cpuUs: 0,
    signUs: 0,
    pgUs: 0,
    clientUs: 0,
    batches: 0,
    txMs: 0,
    sqlMs: 0,
    signWaitMs: 0,
  });
  type Tally = ReturnType<typeof tally>;
  const round = async (mode: Mode, t: Tally) => {
    const s0 = process.cpuUsage();
    const calls: Round = [];
    for (const a of accts) {
      if (t.latencies.length + calls.length >= TRANSFERS) break;
      const to =
        Math.random() < 0.5
          ? accts[Math.floor(Math.random() * HOT)]!
          : accts[Math.floor(Math.random() * ACCOUNTS)]!;
      if (to === a) continue;
      const call = signCall(a.seed, gk, {
        type: 'transfer',
        account: a.id,
        sequence: a.next,
        previous: a.prev,
        to: to.id,
        amount: 1n + BigInt(Math.floor(Math.random() * 1000)),
      });
      calls.push([a, call]);
    }
    if (calls.length === 0) return;
    const s1 = process.cpuUsage(s0);
    t.signUs += s1.user + s1.system;
    await mode.load(calls);
    // Each timed phase starts with a clean heap, so garbage the other mode (or
    // the untimed signing and IPC) left behind is not collected on its clock.
    gc();
    const st0 = { ...ledger.stats };
    const pg0 = await postgresCpuUs();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await mode.run();
    t.secs += (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    t.cpuUs += cpu.user + cpu.system;
    t.pgUs += (await postgresCpuUs()) - pg0;
    const st = ledger.stats;
    t.batches += st.batches - st0.batches;
    t.txMs += st.txMs - st0.txMs;
    t.sqlMs += st.sqlMs - st0.sqlMs;
    t.signWaitMs += st.signWaitMs - st0.signWaitMs;
    t.clientUs += mode.clientCpuUs?.() ?? 0;
    t.latencies.push(...(await mode.settle()));
  };
  const summary = (mode: Mode, t: Tally) => {
    const latencies = t.latencies.sort((a, b) => a - b);
    const q = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    const n = latencies.length;
    const perBatch = (ms: number) => Number((ms / t.batches).toFixed(2));
    return {
      transfers_per_s: Math.round(n / t.secs),
      p50_ms: Number(q(0.5).toFixed(2)),
      p99_ms: Number(q(0.99).toFixed(2)),
      transfers: n,
      batches: t.batches,
      // CPU the gateway process spent per transfer (all its threads; clients and Postgres excluded).
      gateway_cpu_us_per_transfer: Math.round(t.cpuUs / n),
      ...(mode.clientCpuUs ? { client_io_cpu_us_per_transfer: Math.round(t.clientUs / n) } : {}),
      client_sign_cpu_us_per_transfer: Math.round(t.signUs / n),
      tx_ms_per_batch: perBatch(t.txMs),
      sql_ms_per_batch: perBatch(t.sqlMs),
      // Of it, waiting for receipt signatures after the calls ran (the writer's only wait on the pool).
      sign_wait_ms_per_batch: perBatch(t.signWaitMs),
      // CPU of the Postgres backends serving this database (Linux /proc; -1 elsewhere).
      postgres_cpu_us_per_transfer: t.pgUs < 0 ? -1 : Math.round(t.pgUs / n),
    };
  };

  // In process: calls go straight to Ledger.submit (no socket, no JSON).
  let current: Round = [];
  let lat: number[] = [];
  const inProcess: Mode = {
    load: async (round) => {
      current = round;
      lat = [];
    },
    run: async () => {
      let cursor = 0;
      const lane = async () => {
        while (cursor < current.length) {
          const [a, call] = current[cursor++]!;
          const t = performance.now();
          await run(a, call);
          lat.push(performance.now() - t);
        }
      };
      await Promise.all(Array.from({ length: CLIENTS * INFLIGHT }, lane));
    },
    settle: async () => lat,
  };

  // Through the API: the gateway app (as main.ts serves it) on 127.0.0.1:0,
  // clients in a child process on CLIENTS WebSockets (bench/api-clients.ts). The
  // child inherits this process's execArgv: the tsx loader, the source condition,
  // and --cpu-prof when the bench is profiled.
  const app = await buildApp({ ledger, db, chain: new DevChain() });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const child = fork(new URL('./api-clients.ts', import.meta.url).pathname, [
    `${address.replace('http', 'ws')}/v1/ws`,
    String(CLIENTS),
    String(INFLIGHT),
  ]);
  const next = <T extends FromClients['type']>(type: T) =>
    new Promise<Extract<FromClients, { type: T }>>((resolve, reject) => {
      const on = (m: FromClients) => {
        child.off('message', on);
        child.off('exit', gone);
        if (m.type === 'failed') reject(new Error(`API clients: ${m.error}`));
        else if (m.type !== type) reject(new Error(`API clients: ${m.type}, expected ${type}`));
        else resolve(m as Extract<FromClients, { type: T }>);
      };
      const gone = (code: number | null) => reject(new Error(`API clients exited (${code})`));
      child.on('message', on);
      child.once('exit', gone);
    });
  let verified = 0;
  let clientCpu = 0;
  const api: Mode = {
    load: async (round) => {
      current = round;
      const loaded = next('loaded');
      child.send({ type: 'round', calls: round.map(([, c]) => callToJson(c)) } satisfies ToClients);
      await loaded;
    },
    run: async () => {
      const finished = next('finished');
      child.send({ type: 'go' } satisfies ToClients);
      clientCpu = (await finished).cpuUs;
      results = next('results');
    },
    clientCpuUs: () => clientCpu,
    settle: async () => {
      const { latencies, receipts } = await results;
      current.forEach(([a, call], i) => {
        const r = parseReceipt(receipts[i]);
        // A sample is checked in full (gateway signature, call hash, links).
        if (i % 100 === 0) {
          verifyReceiptForCall(gk, call, r);
          verified++;
        } else if (r.account !== a.id || r.sequence !== a.next) {
          throw new Error(`receipt ${i} is not for its call`);
        }
        a.next++;
        a.prev = receiptHash(r);
      });
      return latencies;
    },
  };
  let results: Promise<Extract<FromClients, { type: 'results' }>>;

  const ip = tally();
  const ap = tally();
  try {
    await next('open');
    // Order: in process, then API, round by round (same accounts, same ledger).
    while (ip.latencies.length < TRANSFERS || ap.latencies.length < TRANSFERS) {
      await round(inProcess, ip);
      await round(api, ap);
    }
    child.send({ type: 'stop' } satisfies ToClients);
  } finally {
    child.kill();
    await app.close();
  }
  const inProcessResult = summary(inProcess, ip);
  const apiResult = summary(api, ap);
  const { transfers_per_s, p50_ms, p99_ms, ...apiRest } = apiResult;
  const cons = await conservation(db);
  await ledger.close();
  console.log(
    JSON.stringify({
      mode: 'api',
      transfers_per_s,
      p50_ms,
      p99_ms,
      clients: CLIENTS,
      accounts: ACCOUNTS,
      inflight_per_client: INFLIGHT,
      batch_max: BATCH,
      crypto_workers: WORKERS,
      ...apiRest,
      // The API layer's own CPU per call: WebSocket frames, JSON, validation, response encoding.
      api_layer_cpu_us_per_transfer:
        apiResult.gateway_cpu_us_per_transfer - inProcessResult.gateway_cpu_us_per_transfer,
      receipts_fully_verified: verified,
      order: 'rounds alternate: in_process, api, in_process, api…; one process, same ledger',
      in_process: inProcessResult,
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
