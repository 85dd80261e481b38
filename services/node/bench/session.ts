/**
 * Session-layer benchmark over an in-memory route pair (no onion layers):
 * stream throughput in MB/s (one stream, source → destination, and both
 * ways at once), and the failover stall: the time from killing the route
 * to data flowing again, with an openRoute that resolves at once.
 * Run: pnpm exec tsx --conditions=@skymesh/source bench/session.ts
 */
import { Identity } from '@skymesh/crypto';
import {
  createMemoryRoutePair,
  createSessionClient,
  createSessionServer,
  type MemoryRoutePair,
  type SessionStream,
} from '../src/session/index.js';

/** Results, in JSON-friendly units. */
export interface SessionBenchResult {
  payloadSize: number;
  uploadMBps: number;
  duplexMBps: number;
  failoverStallMs: { median: number; max: number; samples: number };
}

function drain(s: SessionStream): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    s.on('data', (c: Buffer) => {
      n += c.length;
    });
    s.on('end', () => resolve(n));
    s.on('error', reject);
  });
}

function harness(payloadSize: number) {
  const identity = Identity.generate();
  const routes: MemoryRoutePair[] = [];
  let onStream: (s: SessionStream) => void = () => {};
  const server = createSessionServer({ identity, onStream: (s) => onStream(s) });
  const client = createSessionClient({
    destination: identity.publicKey,
    retryDelayMs: 0,
    async openRoute() {
      const pair = createMemoryRoutePair({ payloadSize });
      routes.push(pair);
      server.acceptRoute(pair.b);
      return pair.a;
    },
  });
  return {
    client,
    server,
    routes,
    setOnStream(fn: (s: SessionStream) => void) {
      onStream = fn;
    },
  };
}

async function writeAll(s: SessionStream, total: number, chunk: Buffer): Promise<void> {
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!s.write(chunk)) await new Promise<void>((r) => s.once('drain', () => r()));
  }
  s.end();
}

const CHUNK = Buffer.alloc(64 * 1024, 7);
const round = (x: number) => Math.round(x * 100) / 100;

/** MB/s of one stream, source → destination, `mb` MiB. */
export async function benchUpload(mb: number, payloadSize = 1900): Promise<number> {
  const up = harness(payloadSize);
  await up.client.ready;
  let received!: Promise<number>;
  up.setOnStream((s) => {
    received = drain(s);
    s.end();
  });
  const t0 = performance.now();
  const s1 = up.client.openStream({ name: 'sink', port: 1 });
  s1.resume();
  await writeAll(s1, mb * 1048576, CHUNK);
  await new Promise<void>((r) => setImmediate(r));
  const n = await received;
  const mbps = n / 1048576 / ((performance.now() - t0) / 1000);
  await up.client.close();
  return round(mbps);
}

/** MB/s of one stream carrying `mb` MiB each way at once (both directions counted). */
export async function benchDuplex(mb: number, payloadSize = 1900): Promise<number> {
  const dx = harness(payloadSize);
  await dx.client.ready;
  let serverDone!: Promise<number>;
  dx.setOnStream((s) => {
    serverDone = drain(s);
    void writeAll(s, mb * 1048576, CHUNK);
  });
  const t1 = performance.now();
  const s2 = dx.client.openStream({ name: 'duplex', port: 2 });
  const clientDone = drain(s2);
  await writeAll(s2, mb * 1048576, CHUNK);
  await new Promise<void>((r) => setImmediate(r));
  const [a, b] = await Promise.all([clientDone, serverDone]);
  const mbps = (a + b) / 1048576 / ((performance.now() - t1) / 1000);
  await dx.client.close();
  return round(mbps);
}

/**
 * Failover stall: a stream kept busy source → destination; the route is
 * killed and a new one is ready at once; the stall is the time from the
 * kill to the destination's first byte on the new route.
 */
export async function benchFailover(
  samples = 20,
  payloadSize = 1900,
): Promise<SessionBenchResult['failoverStallMs']> {
  const fo = harness(payloadSize);
  await fo.client.ready;
  let onData: () => void = () => {};
  fo.setOnStream((s) => {
    s.on('data', () => onData());
    s.on('error', () => {});
  });
  const s3 = fo.client.openStream({ name: 'steady', port: 3 });
  s3.on('error', () => {});
  let stop = false;
  const feeding = (async () => {
    while (!stop) {
      if (!s3.write(CHUNK)) await new Promise<void>((r) => s3.once('drain', () => r()));
    }
  })();
  const stalls: number[] = [];
  const serverEpoch = () => [...fo.server.sessionStats().values()][0]?.epoch ?? -1;
  for (let i = 0; i < samples; i++) {
    await new Promise<void>((r) => setTimeout(r, 5));
    const before = serverEpoch();
    const t = performance.now();
    // Data counts only once the destination is on the new route's epoch.
    const flowing = new Promise<void>((r) => {
      onData = () => {
        if (serverEpoch() > before) r();
      };
    });
    fo.routes[fo.routes.length - 1]!.kill();
    await flowing;
    stalls.push(performance.now() - t);
    onData = () => {};
  }
  stop = true;
  await fo.client.close();
  await feeding.catch(() => {});
  stalls.sort((x, y) => x - y);
  return {
    median: round(stalls[Math.floor(stalls.length / 2)]!),
    max: round(stalls[stalls.length - 1]!),
    samples: stalls.length,
  };
}

/** Measures everything; `mb` is the size of each transfer in MiB. */
export async function benchSession(mb = 32, payloadSize = 1900): Promise<SessionBenchResult> {
  return {
    payloadSize,
    uploadMBps: await benchUpload(mb, payloadSize),
    duplexMBps: await benchDuplex(mb, payloadSize),
    failoverStallMs: await benchFailover(20, payloadSize),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const mb = Number(process.env.SESSION_BENCH_MB ?? 32);
  benchSession(mb).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
