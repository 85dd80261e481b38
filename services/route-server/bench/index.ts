/**
 * Route server benchmark: a synthetic directory of 10,000 nodes and 100,000
 * links is pushed through the service core (every descriptor and link report
 * signature verified, Sybil limits on, one source IP per node), then route
 * queries (k = 3 node-disjoint 3-hop paths to a node address, from a random
 * source) are timed one after another. Prints ONE JSON object.
 *
 * The inputs are signed in a worker thread (bench/inputs.ts) that ends
 * before the service starts, so rss_mb (after a full GC) is the service's
 * directory plus the process (tsx's loader included, rss_at_start_mb), not
 * the signing garbage; rss_peak_mb is the whole run's peak. CPU µs per
 * descriptor and per query are process CPU time (both threads of V8's
 * GC included), less noisy than rates on a shared machine.
 *
 *   pnpm bench            (NODES=… LINKS=… QUERIES=… to change the size)
 */

import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { verifyDescriptor } from '@skymesh/protocol';
import { routeQueryDigest, seededRandom } from '@skymesh/protocol/directory';
import { DirectoryService } from '../src/directory.js';
import type { InputsReply, InputsRequest } from './inputs.js';

// The process before any directory exists (tsx's loader alone is ~90 MB of it).
const rssAtStart = process.memoryUsage().rss;
const NODES = Number(process.env.NODES ?? 10_000);
const LINKS = Number(process.env.LINKS ?? 100_000);
const QUERIES = Number(process.env.QUERIES ?? 3000);

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const round = (x: number, d = 3) => Number(x.toFixed(d));

// Inputs, signed up front (not timed) in a worker thread (bench/inputs.ts):
// descriptors, then each node's report of its links. The signing garbage
// leaves with the worker instead of inflating this process's heap.
const now = Math.floor(Date.now() / 1000);
const made = await new Promise<InputsReply>((resolve, reject) => {
  // Workers do not inherit tsx's loader: register it, then load the TS file.
  const file = new URL('./inputs.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(file)}); })`;
  const worker = new Worker(boot, {
    eval: true,
    workerData: { nodes: NODES, links: LINKS, now } satisfies InputsRequest,
  });
  worker.once('message', (m: InputsReply) => {
    resolve(m);
    void worker.terminate();
  });
  worker.once('error', reject);
});
const publicKeys = made.publicKeys;
let descriptors: Uint8Array[] = made.descriptors;
let reports: Uint8Array[] = made.reports;
const serverKey = made.serverKey;
const ipOf = (i: number) => `10.${(i >> 8) & 0xff}.${i & 0xff}.1`;

const service = new DirectoryService({ key: serverKey });

// Ingest: descriptors, each verified, one source IP (and /24) per node.
let t = performance.now();
let cpu = process.cpuUsage();
for (let i = 0; i < descriptors.length; i++) service.publishDescriptor(descriptors[i]!, ipOf(i));
const ingestS = (performance.now() - t) / 1000;
const ingestCpu = process.cpuUsage(cpu);
// Baseline in the same run, code warm: decoding and verifying descriptors
// alone (the crypto floor of ingest), 2,000 of them again.
const BASE = Math.min(2000, descriptors.length);
cpu = process.cpuUsage();
for (let i = 0; i < BASE; i++) verifyDescriptor(descriptors[i]!);
const baseCpu = process.cpuUsage(cpu);
const verifyCpuUs = (baseCpu.user + baseCpu.system) / BASE;
const descriptorCount = descriptors.length;
descriptors = [];
t = performance.now();
for (const r of reports) service.publishReport(r);
const reportS = (performance.now() - t) / 1000;
const reportCount = reports.length;
reports = [];
t = performance.now();
service.graph();
const graphMs = performance.now() - t;
t = performance.now();
const snapshot = service.snapshot().bytes;
const snapshotMs = performance.now() - t;

// Queries: a random source and destination each, k = 3 disjoint 3-hop paths.
const rnd = seededRandom(7);
const pick = () => publicKeys[Math.floor(rnd() * NODES)]!;
const run = (n: number, dest: () => object) => {
  const times: number[] = [];
  let failures = 0;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const q = { source: pick(), destination: dest() as never, k: 3 };
    const t0 = performance.now();
    try {
      service.route(q);
    } catch {
      failures++;
    }
    times.push(performance.now() - t0);
  }
  const total = (performance.now() - start) / 1000;
  times.sort((a, b) => a - b);
  return { times, qps: n / total, failures };
};
run(200, () => ({ address: pick() })); // warm-up
cpu = process.cpuUsage();
const addr = run(QUERIES, () => ({ address: pick() }));
const queryCpu = process.cpuUsage(cpu);
const exit = run(Math.ceil(QUERIES / 3), () => ({ exit: { host: 'example.org', port: 443 } }));

// What signing route answers adds (docs/route-server.md §Signed route answers):
// rounds of plain queries (service.route) and of signed answers (digest of the
// query with a nonce, service.answerRoute), taking turns so that load drift
// hits both; CPU µs per query of each.
const ROUNDS = 10;
const perRound = Math.max(1, Math.ceil(QUERIES / ROUNDS));
const cpuOf = { plain: 0, signed: 0 };
let signedFailures = 0;
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of r % 2 === 0
    ? (['plain', 'signed'] as const)
    : (['signed', 'plain'] as const)) {
    const c = process.cpuUsage();
    for (let i = 0; i < perRound; i++) {
      const q = {
        destination: { address: pick() },
        minHops: 3,
        maxHops: 3,
        k: 3,
        nonce: 'bm9uY2Utbm9uY2Utbm9uY2Utbm9uY2Utbm9uY2U',
      };
      try {
        if (mode === 'plain') service.route(q);
        else service.answerRoute(q, routeQueryDigest(q));
      } catch {
        if (mode === 'signed') signedFailures++;
      }
    }
    const d = process.cpuUsage(c);
    cpuOf[mode] += d.user + d.system;
  }
}
const plainUs = cpuOf.plain / (ROUNDS * perRound);
const signedUs = cpuOf.signed / (ROUNDS * perRound);

// RSS after a full collection, so garbage left by the input generation is not counted.
setFlagsFromString('--expose-gc');
(runInNewContext('gc') as () => void)();
process.stdout.write(
  `${JSON.stringify({
    query_ms_p50: round(pct(addr.times, 0.5)),
    query_ms_p99: round(pct(addr.times, 0.99)),
    queries_per_s: Math.round(addr.qps),
    ingest_descriptors_per_s: Math.round(descriptorCount / ingestS),
    ingest_cpu_us_per_descriptor: round((ingestCpu.user + ingestCpu.system) / descriptorCount, 1),
    verify_cpu_us_per_descriptor: round(verifyCpuUs, 1),
    ingest_vs_verify: round((ingestCpu.user + ingestCpu.system) / descriptorCount / verifyCpuUs, 2),
    query_cpu_us: round((queryCpu.user + queryCpu.system) / QUERIES, 1),
    // Same queries without source, interleaved: plain vs signed answers.
    anon_query_cpu_us: round(plainUs, 1),
    signed_answer_cpu_us: round(signedUs, 1),
    signed_vs_plain: round(signedUs / plainUs, 2),
    signed_answer_failures: signedFailures,
    snapshot_bytes: snapshot.length,
    rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
    heap_used_mb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    heap_total_mb: Math.round(process.memoryUsage().heapTotal / 2 ** 20),
    external_mb: Math.round(process.memoryUsage().external / 2 ** 20),
    rss_at_start_mb: Math.round(rssAtStart / 2 ** 20),
    // Peak of the whole run, the input-making worker included.
    rss_peak_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    nodes: service.state.nodeCount,
    links: service.state.linkCount,
    query_failures: addr.failures,
    exit_query_ms_p50: round(pct(exit.times, 0.5)),
    exit_query_ms_p99: round(pct(exit.times, 0.99)),
    exit_queries_per_s: Math.round(exit.qps),
    ingest_reports_per_s: Math.round(reportCount / reportS),
    graph_build_ms: Math.round(graphMs),
    snapshot_sign_ms: Math.round(snapshotMs),
    load_avg: loadavg().map((x) => round(x, 2)),
  })}\n`,
);
