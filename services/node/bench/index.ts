/**
 * The node benchmark (`pnpm bench` in services/node): whole nodes over real
 * websockets on 127.0.0.1, all in this one process (one thread: the source,
 * both relays and the destination share a core, so throughput here is a
 * lower bound of a deployed route where each hop has its own machine).
 * Prints ONE JSON object:
 *
 *   setup_ms_p50          3-hop route setup (links already up), median of 60
 *   rtt_us_direct_p50     64-byte echo over a bare ws connection (two sockets)
 *   rtt_us_link_p50       link-layer PING/PONG over one node↔node link
 *   rtt_us_route3_p50/p99 64-byte route payload echoed by the destination, 3 hops
 *   rtt_us_stream3_p50    64-byte stream echo through a session over 3 hops
 *   tput_MBps_direct      bare ws, 64 KiB messages, one way
 *   tput_MBps_link        cells over one node↔node link, one way
 *   tput_MBps_route3      a session stream upload through 3 hops (what apps get)
 *   tput_MB_per_cpu_s_route3  the same per CPU-second this process used (all four
 *                         nodes' work): what the route costs, less the machine's load
 *   failover_stall_ms     longest gap in received bytes after the middle relay crashes
 *   bytes_per_idle_route  = bytes_per_idle_route_per_relay (the target is per relay)
 *   bytes_per_idle_route_all_nodes  heap after GC per idle 3-hop route, summed over
 *                         the four nodes that hold its state (source, 2 relays, destination)
 *   bytes_per_idle_route_per_relay  what one relay holds per idle route: half of
 *                         (3-hop route − 1-hop route), both summed over their nodes; the
 *                         source's two extra hop key pairs count in, so an upper bound
 *
 *   procs                 the 3-hop upload and stream echo again with the two relays
 *                         and the destination in child processes (this file, run as --bench-child),
 *                         with each process's CPU share during the upload
 *
 * Environment: BENCH_MB (upload size, default 32), BENCH_ROUTES (idle
 * routes, default 500), BENCH_PROCS=0 skips the child-process part.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fromHex, randomBytes, toHex } from '@skymesh/crypto';
import { CELL_SIZE, type DescriptorJSON, descriptorToJSON } from '@skymesh/protocol';
import { WebSocket, WebSocketServer } from 'ws';
import type { RouteChannel } from '../src/contracts.js';
import {
  type MeshOptions,
  type RecordingTransport,
  recordingTransport,
  startMesh,
  type TestMesh,
} from '../src/node/testing.js';
import { createNode, type MeshNode, type NodeInit, type NodeTuning } from '../src/node.js';
import type { PathHop } from '../src/route/index.js';
import type { SessionStream } from '../src/session/stream.js';
import { nodeDebugState, STALL_MS, watchProgress } from './debug.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MB = Number(process.env.BENCH_MB ?? 32);
const IDLE_ROUTES = Number(process.env.BENCH_ROUTES ?? 500);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const stage = (what: string) => {
  if (process.env.BENCH_VERBOSE) process.stderr.write(`${what}\n`);
};
const tick = () => new Promise<void>((r) => setImmediate(r));

/** A bare ws pair on 127.0.0.1: echo RTT and one-way throughput. */
async function bareWs(): Promise<{ rttP50: number; tput: number }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const port = (server.address() as { port: number }).port;
  let sink: (n: number) => void = () => {};
  server.on('connection', (ws) => {
    ws.on('message', (d: Buffer) => {
      if (d.length <= 64) ws.send(d);
      else sink(d.length);
    });
  });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  await new Promise<void>((r) => ws.once('open', () => r()));
  const msg = new Uint8Array(64);
  const rtts: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      ws.once('message', () => r());
      ws.send(msg);
    });
    rtts.push((performance.now() - t0) * 1000);
  }
  const total = MB * 1024 * 1024;
  const chunk = new Uint8Array(64 * 1024);
  let got = 0;
  const done = new Promise<void>((r) => {
    sink = (n) => {
      got += n;
      if (got >= total) r();
    };
  });
  const t0 = performance.now();
  for (let sent = 0; sent < total; sent += chunk.length) {
    ws.send(chunk);
    if (ws.bufferedAmount > 1024 * 1024) {
      while (ws.bufferedAmount > 256 * 1024) await tick();
    }
  }
  await done;
  const tput = total / 1e6 / ((performance.now() - t0) / 1000);
  ws.terminate();
  await new Promise<void>((r) => server.close(() => r()));
  return { rttP50: pct(rtts.slice(200), 0.5), tput };
}

/** Link layer between two nodes: ping RTT and cell throughput. */
async function linkLayer(a: MeshNode, b: MeshNode): Promise<{ rttP50: number; tput: number }> {
  const link = await a.links.connect(b.publicKey, b.endpoints[0]!);
  const rtts: number[] = [];
  for (let i = 0; i < 1000; i++) rtts.push((await link.ping()) * 1000);
  const peer = b.links.getLink(a.publicKey)!;
  const cells = Math.floor((MB * 1024 * 1024) / CELL_SIZE);
  let got = 0;
  const done = new Promise<void>((r) => {
    peer.onCell(() => {
      if (++got === cells) r();
    });
  });
  const cell = new Uint8Array(CELL_SIZE);
  let sent = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < cells) {
        if (!link.sendCell(cell)) return;
        sent++;
      }
      resolve();
    };
    link.onDrain(pump);
    pump();
  });
  await done;
  const tput = (cells * CELL_SIZE) / 1e6 / ((performance.now() - t0) / 1000);
  // The router owns these links' handlers again for the rest of the run.
  link.close();
  return { rttP50: pct(rtts.slice(100), 0.5), tput };
}

async function routeRtt(src: MeshNode, path: PathHop[], incoming: () => RouteChannel) {
  const ch = await src.router.buildRoute(path);
  const far = incoming();
  far.onPayload((p) => far.send(p));
  const msg = new Uint8Array(64);
  const rtts: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      ch.onPayload(() => r());
      ch.send(msg);
    });
    rtts.push((performance.now() - t0) * 1000);
  }
  ch.close();
  return { p50: pct(rtts.slice(200), 0.5), p99: pct(rtts.slice(200), 0.99) };
}

async function streamRtt(src: MeshNode, dst: MeshNode): Promise<number> {
  const client = src.connectSession(dst.address);
  await client.ready;
  const rtts = await echoRtts(client.openStream({ name: 'echo', port: 7 }), 1000);
  await client.close();
  return pct(rtts.slice(100), 0.5);
}

/** Round trips (µs) of `count` 64-byte echoes on `s`; destroys `s` after. */
async function echoRtts(s: Duplex, count: number): Promise<number[]> {
  const msg = Buffer.alloc(64);
  const rtts: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      let n = 0;
      const on = (c: Buffer) => {
        n += c.length;
        if (n >= 64) {
          s.off('data', on);
          r();
        }
      };
      s.on('data', on);
      s.write(msg);
    });
    rtts.push((performance.now() - t0) * 1000);
  }
  s.destroy();
  return rtts;
}

async function upload(src: MeshNode, dst: MeshNode, received: () => number, mb: number) {
  const client = src.connectSession(dst.address);
  await client.ready;
  const s = client.openStream({ name: 'sink', port: 9 });
  const total = mb * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 7);
  const start = received();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!s.write(chunk)) await new Promise<void>((r) => s.once('drain', () => r()));
  }
  while (received() - start < total) await new Promise((r) => setTimeout(r, 2));
  const mbps = total / 1e6 / ((performance.now() - t0) / 1000);
  const cpu = process.cpuUsage(c0);
  s.destroy();
  await client.close();
  return { mbps, perCpuSecond: total / 1e6 / ((cpu.user + cpu.system) / 1e6) };
}

async function main() {
  const load = loadavg();
  stage('bare ws');
  const direct = await bareWs();

  // 7 nodes: 0 source, 1..5 relays, 6 destination. The destination echoes
  // 'echo' streams and counts 'sink' streams; relays record their sockets.
  let received = 0;
  const gaps = { max: 0, last: 0 };
  const conns = new Map<number, RecordingTransport>();
  const meshOptions = (): MeshOptions => ({
    each: (i) => {
      if (i < 1 || i > 5) return {};
      const rec = recordingTransport();
      conns.set(i, rec);
      return { transports: [rec.transport] };
    },
    onStream: (s, target) => {
      s.on('error', () => {});
      if (target.name === 'echo') s.pipe(s);
      else
        s.on('data', (c: Buffer) => {
          received += c.length;
          const t = performance.now();
          gaps.max = Math.max(gaps.max, t - gaps.last);
          gaps.last = t;
        });
    },
  });
  const mesh: TestMesh = await startMesh(7, meshOptions());
  const n = mesh.nodes;
  const src = n[0]!;
  const dst = n[6]!;
  const path = (ids: number[]) => ids.map((i) => ({ publicKey: n[i]!.publicKey }));

  stage('link');
  const link = await linkLayer(n[0]!, n[1]!);

  // Route-level echo: take over the destination's incoming routes for a moment.
  let lastIncoming: RouteChannel | undefined;
  dst.router.onIncomingRoute((ch) => {
    lastIncoming = ch;
  });
  stage('route rtt');
  const route3 = await routeRtt(src, path([1, 2, 6]), () => lastIncoming!);

  stage('setup');
  // Setup latency over links that are already up.
  const setups: number[] = [];
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now();
    const ch = await src.router.buildRoute(path([1, 2, 6]));
    setups.push(performance.now() - t0);
    ch.close();
  }

  stage('idle');
  // Idle routes: heap per route after GC, for 3-hop routes (source, two
  // relays, destination all in this process) and for 1-hop routes (source
  // and destination only); a relay's share is half the difference.
  const held: RouteChannel[] = [];
  dst.router.onIncomingRoute((ch) => held.push(ch));
  const idleHeap = async (ids: number[]) => {
    const idle: RouteChannel[] = [];
    for (let i = 0; i < 20; i++) idle.push(await src.router.buildRoute(path(ids)));
    await new Promise((r) => setTimeout(r, 200));
    gc();
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < IDLE_ROUTES; i++) {
      // Paced under the relays' SETUP token bucket (200/s, burst 400 per link).
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 600));
      idle.push(await src.router.buildRoute(path(ids)));
    }
    await new Promise((r) => setTimeout(r, 200));
    gc();
    gc();
    const perRoute = (process.memoryUsage().heapUsed - heap0) / IDLE_ROUTES;
    for (const ch of idle) ch.close();
    for (const ch of held.splice(0)) ch.close();
    await new Promise((r) => setTimeout(r, 200));
    return perRoute;
  };
  const perRoute3 = await idleHeap([3, 4, 6]);
  const perRoute1 = await idleHeap([6]);

  // A fresh mesh for the session measurements (its routers' handlers untouched).
  await mesh.close();

  const mesh2: TestMesh = await startMesh(7, meshOptions());
  const m = mesh2.nodes;
  stage('stream rtt');
  const stream3 = await streamRtt(m[0]!, m[6]!);
  stage('upload');
  const tput3 = await upload(m[0]!, m[6]!, () => received, MB);

  // Failover: crash a relay of the upload's route mid-transfer; the stall is
  // the longest gap between received chunks from the crash on.
  stage('failover');
  const stall = await failover(m, conns, () => received, gaps);
  await mesh2.close();

  // The same route with each hop in its own process (both cores).
  stage('child processes');
  const procs = process.env.BENCH_PROCS === '0' ? undefined : await runMultiProcess(MB);

  const out = {
    setup_ms_p50: round(pct(setups, 0.5), 2),
    rtt_us_direct_p50: round(direct.rttP50, 0),
    rtt_us_link_p50: round(link.rttP50, 0),
    rtt_us_route3_p50: round(route3.p50, 0),
    rtt_us_route3_p99: round(route3.p99, 0),
    rtt_us_stream3_p50: round(stream3, 0),
    tput_MBps_direct: round(direct.tput),
    tput_MBps_link: round(link.tput),
    tput_MBps_route3: round(tput3.mbps),
    tput_MB_per_cpu_s_route3: round(tput3.perCpuSecond),
    failover_stall_ms: round(stall, 0),
    // The field is its target's measure: bytes per idle route at a relay.
    bytes_per_idle_route: Math.round((perRoute3 - perRoute1) / 2),
    bytes_per_idle_route_per_relay: Math.round((perRoute3 - perRoute1) / 2),
    bytes_per_idle_route_all_nodes: Math.round(perRoute3),
    procs: procs && {
      tput_MBps_route3: round(procs.tput_MBps_route3),
      rtt_us_stream3_p50: round(procs.rtt_us_stream3_p50, 0),
      cpu_share: Object.fromEntries(
        Object.entries(procs.cpu_share).map(([k, v]) => [k, round(v, 2)]),
      ),
      cpu_ms_per_MB: Object.fromEntries(
        Object.entries(procs.cpu_ms_per_MB).map(([k, v]) => [k, round(v, 2)]),
      ),
      ceiling_MBps_2cores: round(procs.ceiling_MBps_2cores),
    },
    in_process: true,
    upload_MB: MB,
    idle_routes: IDLE_ROUTES,
    loadavg_before: load.map((x) => round(x, 2)),
    loadavg_after: loadavg().map((x) => round(x, 2)),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function failover(
  m: MeshNode[],
  conns: Map<number, RecordingTransport>,
  received: () => number,
  gaps: { max: number; last: number },
): Promise<number> {
  const src = m[0]!;
  const dst = m[6]!;
  const client = src.connectSession(dst.address);
  await client.ready;
  const s = client.openStream({ name: 'sink', port: 9 });
  s.on('error', () => {});
  const chunk = Buffer.alloc(16 * 1024, 3);
  let writing = true;
  const pump = (async () => {
    while (writing && !s.destroyed) {
      if (!s.write(chunk)) {
        await new Promise<void>((r) => {
          const done = () => {
            s.off('drain', done);
            s.off('close', done);
            r();
          };
          s.on('drain', done);
          s.on('close', done);
        });
      }
    }
  })();
  const start = received();
  while (received() - start < 4 * 1024 * 1024) await new Promise((r) => setTimeout(r, 2));
  // Which relays carry the route: the ones forwarding cells now.
  const before = m.map((x) => x.stats().counters.cellsForwarded);
  await new Promise((r) => setTimeout(r, 50));
  const busy = m
    .map((x, i) => ({ i, d: x.stats().counters.cellsForwarded - before[i]! }))
    .filter((x) => x.i >= 1 && x.i <= 5 && x.d > 0)
    .sort((a, b) => b.d - a.d);
  const victim = busy[0]!.i;
  // A crash: every socket of the relay goes at once, then the node is gone.
  gaps.max = 0;
  gaps.last = performance.now();
  conns.get(victim)!.cut();
  void m[victim]!.close();
  const at = received();
  // The stall: the longest pause between chunks arriving at the destination
  // from the crash until 4 MB more have arrived (well after the resume).
  const killedAt = performance.now();
  while (received() - at < 4 * 1024 * 1024 && performance.now() - killedAt < 30_000) {
    await new Promise((r) => setTimeout(r, 2));
  }
  const stall = received() - at >= 4 * 1024 * 1024 ? gaps.max : Number.NaN;
  writing = false;
  s.destroy();
  await pump;
  await client.close();
  return stall;
}

// ── child processes ─────────────────────────────────────────────────────

/**
 * For experiments (the reported runs use neither): BENCH_TUNING (JSON
 * NodeTuning) and BENCH_TRANSPORT=tcp (the child nodes listen on raw TCP
 * instead of ws).
 */
function benchTuning(): { tuning?: NodeTuning; listen?: NodeInit['listen'] } {
  const t = process.env.BENCH_TUNING;
  return {
    ...(t ? { tuning: JSON.parse(t) as NodeTuning } : {}),
    ...(process.env.BENCH_TRANSPORT === 'tcp'
      ? { listen: [{ transport: 'tcp', host: '127.0.0.1', port: 0 }] }
      : {}),
  };
}

type ToChild =
  | { type: 'start'; seed: string }
  | { type: 'directory'; list: DescriptorJSON[] }
  | { type: 'expect'; bytes: number }
  | { type: 'cpu' }
  | { type: 'dump' }
  | { type: 'close' };
type FromChild =
  | { type: 'ready'; descriptor: DescriptorJSON }
  | { type: 'expecting' }
  | { type: 'received' }
  | { type: 'cpu'; share: number }
  | { type: 'dump'; state: Record<string, unknown> };

async function child(): Promise<void> {
  let node: MeshNode | undefined;
  let received = 0;
  let want = Number.POSITIVE_INFINITY;
  let cpuMark = { at: performance.now(), usage: process.cpuUsage() };
  const send = (m: FromChild) => process.send!(m);
  const streams: SessionStream[] = [];
  process.on('message', async (m: ToChild) => {
    if (m.type === 'start') {
      node = await createNode({
        ...benchTuning(),
        seed: fromHex(m.seed),
        onStream: (s, target) => {
          s.on('error', () => {});
          streams.push(s);
          if (target.name === 'echo') s.pipe(s);
          else
            s.on('data', (c: Buffer) => {
              received += c.length;
              if (received >= want) {
                want = Number.POSITIVE_INFINITY;
                send({ type: 'received' });
              }
            });
        },
      });
      send({ type: 'ready', descriptor: descriptorToJSON(node.descriptor) });
    } else if (m.type === 'directory') node?.addDescriptors(m.list);
    else if (m.type === 'expect') {
      want = received + m.bytes;
      cpuMark = { at: performance.now(), usage: process.cpuUsage() };
      send({ type: 'expecting' });
    } else if (m.type === 'cpu') {
      const now = performance.now();
      const u = process.cpuUsage(cpuMark.usage);
      send({ type: 'cpu', share: (u.user + u.system) / 1e3 / (now - cpuMark.at) });
    } else if (m.type === 'dump') {
      if (node) send({ type: 'dump', state: { received, ...nodeDebugState(node, streams) } });
    } else if (m.type === 'close') {
      await node?.close();
      process.exit(0);
    }
  });
}

/** Results of the multi-process run. */
export interface MultiProcessResult {
  tput_MBps_route3: number;
  rtt_us_stream3_p50: number;
  /** CPU seconds the source process used per second of the upload (1 = one full core). */
  cpu_share: { source: number; relay1: number; relay2: number; destination: number };
  /** CPU milliseconds each process spent per MB uploaded (independent of the machine's load). */
  cpu_ms_per_MB: { source: number; relay1: number; relay2: number; destination: number };
  /**
   * 2000 / (sum of cpu_ms_per_MB): MB/s the four processes could move if they
   * had this machine's two cores to themselves (no other load, perfect overlap).
   */
  ceiling_MBps_2cores: number;
}

function once<T>(c: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { type: string }) => {
      if (m.type !== type) return;
      c.off('message', on);
      resolve(m as T);
    };
    c.on('message', on);
  });
}

/** Forks 3 child nodes (2 relays, destination) and measures through them from this process. */
export async function runMultiProcess(mb: number): Promise<MultiProcessResult> {
  const children = [0, 1, 2].map(() =>
    fork(new URL(import.meta.url).pathname, ['--bench-child'], {
      execArgv: [
        '--import',
        'tsx',
        '--conditions=@skymesh/source',
        // BENCH_CHILD_PROF=dir: a CPU profile of each child, for bench work.
        ...(process.env.BENCH_CHILD_PROF
          ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CHILD_PROF}`]
          : []),
      ],
    }),
  );
  try {
    const descs: DescriptorJSON[] = [];
    for (const c of children) {
      const ready = once<{ descriptor: DescriptorJSON }>(c, 'ready');
      c.send({ type: 'start', seed: toHex(randomBytes(32)) } satisfies ToChild);
      descs.push((await ready).descriptor);
    }
    for (const c of children) c.send({ type: 'directory', list: descs } satisfies ToChild);
    const dst = descs[2]!;
    const src = await createNode({
      ...benchTuning(),
      directory: descs,
      // Relays are the two children, the destination the third.
      choosePath: (req) =>
        [...req.relays.filter((d) => d.roles.relay)]
          .filter((d) => !d.publicKey.every((b, i) => b === req.destination[i]))
          .slice(0, 2)
          .map((d) => ({ publicKey: d.publicKey }))
          .concat([{ publicKey: req.destination }]),
    });
    try {
      const client = src.connectSession(dst.address);
      await client.ready;
      // Echo RTT.
      const rtts = await echoRtts(client.openStream({ name: 'echo', port: 7 }), 500);
      // Upload.
      const total = mb * 1024 * 1024;
      const dstChild = children[2]!;
      const done = once(dstChild, 'received');
      // Each child confirms before the upload starts: an 'expect' that arrived
      // after the first bytes would count them in its baseline and wait for
      // more than is sent (the rare procs "hang" under load: every byte had
      // arrived, the 'received' message never came).
      await Promise.all(
        children.map((c) => {
          const ok = once(c, 'expecting');
          c.send({ type: 'expect', bytes: c === dstChild ? total : 1e15 } satisfies ToChild);
          return ok;
        }),
      );
      const s = client.openStream({ name: 'sink', port: 9 });
      const chunk = Buffer.alloc(64 * 1024, 5);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      // A stalled upload (no record sent or acknowledged for BENCH_STALL_S)
      // dumps every process's data-path state and fails the run.
      let sent = 0;
      let stop = () => {};
      const stalled = new Promise<never>((_, reject) => {
        stop = watchProgress(
          () => {
            const st = client.stats();
            return sent + st.recordsSent + st.recordsReceived;
          },
          STALL_MS,
          async (idle) => {
            const dumps = [{ who: 'source', sent, ...nodeDebugState(src, [s]) }];
            for (const [i, c] of children.entries()) {
              const got = once<{ state: Record<string, unknown> }>(c, 'dump');
              c.send({ type: 'dump' } satisfies ToChild);
              dumps.push({
                who: ['relay1', 'relay2', 'destination'][i]!,
                sent,
                ...(await got).state,
              });
            }
            process.stderr.write(`STALL DUMP ${JSON.stringify(dumps, null, 1)}\n`);
            reject(new Error(`procs upload stalled for ${Math.round(idle / 1000)} s`));
          },
        );
      });
      await Promise.race([
        (async () => {
          for (; sent < total; sent += chunk.length) {
            if (!s.write(chunk)) await new Promise<void>((r) => s.once('drain', () => r()));
          }
          await done;
        })(),
        stalled,
      ]).finally(() => stop());
      const secs = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(c0);
      const sourceCpu = (cpu.user + cpu.system) / 1e6 / secs;
      const shares: number[] = [];
      for (const c of children) {
        const got = once<{ share: number }>(c, 'cpu');
        c.send({ type: 'cpu' } satisfies ToChild);
        shares.push((await got).share);
      }
      s.destroy();
      await client.close();
      const sorted = rtts.slice(50).sort((a, b) => a - b);
      const cpu_share = {
        source: sourceCpu,
        relay1: shares[0]!,
        relay2: shares[1]!,
        destination: shares[2]!,
      };
      const perMB = (share: number) => (share * secs * 1000) / (total / 1e6);
      const cpu_ms_per_MB = {
        source: perMB(cpu_share.source),
        relay1: perMB(cpu_share.relay1),
        relay2: perMB(cpu_share.relay2),
        destination: perMB(cpu_share.destination),
      };
      const sum = Object.values(cpu_ms_per_MB).reduce((a, b) => a + b, 0);
      return {
        tput_MBps_route3: total / 1e6 / secs,
        rtt_us_stream3_p50: sorted[Math.floor(sorted.length / 2)]!,
        cpu_share,
        cpu_ms_per_MB,
        ceiling_MBps_2cores: 2000 / sum,
      };
    } finally {
      await src.close();
    }
  } finally {
    for (const c of children) {
      c.send({ type: 'close' } satisfies ToChild);
    }
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null) r();
            else c.once('exit', () => r());
            setTimeout(() => {
              c.kill('SIGKILL');
              r();
            }, 5000).unref();
          }),
      ),
    );
  }
}

if (process.argv.includes('--bench-child')) await child();
else if (process.env.BENCH_ONLY === 'procs') {
  // Only the child-process part (for profiling and tuning runs).
  process.stdout.write(`${JSON.stringify(await runMultiProcess(MB))}\n`);
  process.exit(0);
} else {
  await main();
  process.exit(0);
}
