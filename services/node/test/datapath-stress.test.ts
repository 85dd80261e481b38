// Stress of the data path's flow control (bounded in time): 3-hop routes
// over an in-memory network whose bytes arrive re-cut at random (single
// bytes, frame headers split, several frames merged, on later turns of the
// event loop), with every queue tiny so each mechanism runs thousands of
// times: link send queues full (sendCell false, onDrain), transport
// backpressure, relay PAUSE/RESUME, channel drain, session credit windows
// and the retransmit buffer. An echo in both directions at once loads the
// forward and backward paths together. A lost drain, a dropped window
// update or a frame misread would stall the transfer (the watchdog then
// fails the test with every node's debugState) or corrupt it (hash).
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Connection,
  createMemoryNetwork,
  type Endpoint,
  type Transport,
} from '../src/link/index.js';
import { patternBytes, startMesh, type TestMesh } from '../src/node/testing.js';
import type { MeshNode } from '../src/node.js';
import type { SessionStream } from '../src/session/index.js';

let mesh: TestMesh | undefined;
afterEach(async () => {
  await mesh?.close();
  mesh = undefined;
});

/** A small seeded PRNG (mulberry32), so a failing seed replays. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) | 0;
  };
}

/**
 * Received bytes re-cut at random and handed on later (fresh arrays, as
 * transports promise): pieces of 1..16 bytes, up to 4 KiB, or everything
 * held (merging writes), each batch on a later macrotask.
 */
function rechunk(inner: Connection, rand: (n: number) => number): Connection {
  let handler: (b: Uint8Array) => void = () => {};
  const held: Uint8Array[] = [];
  let scheduled = false;
  const deliver = () => {
    scheduled = false;
    let all = 0;
    for (const h of held) all += h.length;
    const joined = new Uint8Array(all);
    let o = 0;
    for (const h of held.splice(0)) {
      joined.set(h, o);
      o += h.length;
    }
    let off = 0;
    // A few pieces now, the rest on a later turn.
    for (let n = 1 + rand(4); n > 0 && off < joined.length; n--) {
      const kind = rand(10);
      const size = kind < 2 ? 1 + rand(16) : kind < 7 ? 1 + rand(4096) : joined.length;
      const end = Math.min(joined.length, off + size);
      handler(joined.slice(off, end));
      off = end;
    }
    if (off < joined.length) {
      held.push(joined.subarray(off));
      schedule();
    }
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    if (rand(4) === 0) setTimeout(deliver, rand(3));
    else setImmediate(deliver);
  };
  inner.onData((b) => {
    held.push(b);
    schedule();
  });
  return {
    remote: inner.remote,
    get buffered() {
      return inner.buffered;
    },
    write: (b) => inner.write(b),
    onData: (h) => {
      handler = h;
    },
    onDrain: (h) => inner.onDrain(h),
    onClose: (h) => inner.onClose(h),
    close: () => inner.close(),
    destroy: () => inner.destroy(),
  };
}

/** The memory transport under the name 'ws' (what node listeners accept), re-cutting received bytes. */
function chunkyTransport(seed: number, highWater: number): Transport {
  const mem = createMemoryNetwork({ highWater }).transport();
  const rand = prng(seed);
  return {
    names: ['ws'],
    listen: async (options, onConnection) => {
      const l = await mem.listen(options, (c) => onConnection(rechunk(c, rand)));
      return {
        // Descriptors need a port; memory dials by name only.
        endpoints: l.endpoints.map((e): Endpoint => ({ ...e, transport: 'ws', port: 1 })),
        close: () => l.close(),
      };
    },
    dial: async (endpoint, options) =>
      rechunk(await mem.dial({ ...endpoint, transport: 'mem' }, options), rand),
  };
}

const RUNS = Number(process.env.STRESS_RUNS ?? 6);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const totals = { refusals: 0, transportRefusals: 0, pauses: 0 };

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function echoThrough(seed: number, bytes: number): Promise<void> {
  // One network shared by the four nodes (each node's transport object wraps it).
  const transport = chunkyTransport(seed, 8 * 1024);
  // Node 0 routes through nodes 1 and 2 to node 3.
  let keys: Uint8Array[] = [];
  const m = await startMesh(4, {
    each: (i) => (i === 0 ? { choosePath: () => keys.map((publicKey) => ({ publicKey })) } : {}),
    node: {
      transports: [transport],
      tuning: {
        link: { maxQueuedCells: 6, cellsPerFrame: 1 + (seed % 31) },
        router: { queue: { high: 4, low: 1, max: 256, channel: 3 } },
        // Odd seeds: credit-bound (windows of a few cells); even seeds:
        // queue-bound (windows of ~60 cells fill the relays' queues).
        session: {
          initialWindow: (seed % 2 ? 12 : 120) * 1024,
          sessionWindow: (seed % 2 ? 20 : 128) * 1024,
          maxUnackedBytes: (seed % 2 ? 16 : 128) * 1024,
          highWaterMark: 4 * 1024,
          ackDelayMs: 2,
        },
      },
    },
  });
  mesh = m;
  const [src, r1, r2, dst] = m.nodes as [MeshNode, MeshNode, MeshNode, MeshNode];
  keys = [r1.publicKey, r2.publicKey, dst.publicKey];
  const client = src.connectSession(dst.address);
  await client.ready;
  const s: SessionStream = client.openStream({ name: 'echo', port: 7 });
  const data = patternBytes(bytes, seed);
  const back: Buffer[] = [];
  let got = 0;
  s.on('data', (c: Buffer) => {
    back.push(c);
    got += c.length;
  });
  const ended = new Promise<void>((resolve, reject) => {
    s.once('end', resolve);
    s.once('error', reject);
  });
  // Watchdog: no echoed byte for 5 s is a stall; fail with the state of every node.
  let last = -1;
  let stalled: (e: Error) => void = () => {};
  const stall = new Promise<never>((_, reject) => {
    stalled = reject;
  });
  const watch = setInterval(() => {
    if (got !== last) {
      last = got;
      return;
    }
    const state = m.nodes.map((n) => ({
      links: n.links.links().map((l) => l.debugState()),
      router: n.router.debugState(),
    }));
    stalled(
      new Error(
        `stalled at ${got}/${bytes} (seed ${seed}): ${JSON.stringify({ state, session: s.debugSession() })}`,
      ),
    );
  }, 5000);
  try {
    await Promise.race([
      (async () => {
        for (let off = 0; off < data.length; ) {
          const n = Math.min(data.length - off, 1 + ((off * 7919 + seed) % 9000));
          if (!s.write(data.subarray(off, off + n))) {
            await new Promise<void>((r) => s.once('drain', () => r()));
          }
          off += n;
        }
        s.end();
        await ended;
      })(),
      stall,
    ]);
  } finally {
    clearInterval(watch);
  }
  expect(got).toBe(bytes);
  expect(sha(Buffer.concat(back))).toBe(sha(data));
  // Nobody dropped a cell for congestion or integrity, and the mechanisms under test ran.
  for (const n of m.nodes) {
    expect(n.router.stats().drops.congestion).toBe(0);
    expect(n.router.stats().drops.badMac).toBe(0);
    const links = n.links.links().map((l) => l.debugState());
    totals.refusals += sum(links.map((l) => l.refusals as number));
    totals.transportRefusals += sum(links.map((l) => l.transportRefusals as number));
    totals.pauses += n.router.debugState().pausesSent as number;
  }
  await client.close();
  await m.close();
  mesh = undefined;
}

describe('data path flow control under adversarial chunking', () => {
  it(
    'echoes through 3 hops with tiny queues and bytes re-cut at random (seeded runs)',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 0x7fffffff }), (seed) =>
          echoThrough(seed, 192 * 1024),
        ),
        {
          numRuns: RUNS,
          seed: Number(process.env.STRESS_SEED ?? 20261125),
        },
      );
      // Full link queues, transport backpressure and relay PAUSEs all happened.
      expect(totals.refusals).toBeGreaterThan(0);
      expect(totals.transportRefusals).toBeGreaterThan(0);
      expect(totals.pauses).toBeGreaterThan(0);
      if (process.env.STRESS_RUNS) console.log(totals);
    },
    30_000 + RUNS * 2000,
  );
});
