/**
 * Route server benchmark: a synthetic directory of 10,000 nodes and 100,000
 * links is pushed through the service core (every descriptor and link report
 * signature verified, Sybil limits on, one source IP per node), then route
 * queries (k = 3 node-disjoint 3-hop paths to a node address, from a random
 * source) are timed one after another. Prints ONE JSON object.
 *
 *   pnpm bench            (NODES=… LINKS=… QUERIES=… to change the size)
 */

import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Identity } from '@skymesh/crypto';
import {
  encodeLinkReport,
  type ReportedLink,
  type SyntheticInputs,
  seededRandom,
  signLinkReport,
  syntheticInputs,
} from '@skymesh/protocol/directory';
import { DirectoryService } from '../src/directory.js';

// The process before any directory exists (tsx's loader alone is ~90 MB of it).
const rssAtStart = process.memoryUsage().rss;
const NODES = Number(process.env.NODES ?? 10_000);
const LINKS = Number(process.env.LINKS ?? 100_000);
const QUERIES = Number(process.env.QUERIES ?? 3000);

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const round = (x: number, d = 3) => Number(x.toFixed(d));

// Inputs, signed up front (not timed): descriptors, then each node's report of its links.
const now = Math.floor(Date.now() / 1000);
let inputs: SyntheticInputs | null = syntheticInputs({
  nodes: NODES,
  links: LINKS,
  seed: 2026,
  issuedAt: now,
});
const publicKeys = inputs.publicKeys;
const perNode: ReportedLink[][] = publicKeys.map(() => []);
for (const [a, b, rttMicros, capacity] of inputs.links) {
  perNode[a]!.push({ peer: publicKeys[b]!, rttMicros, capacity });
  perNode[b]!.push({ peer: publicKeys[a]!, rttMicros, capacity });
}
let descriptors: Uint8Array[] = inputs.descriptors;
let reports: Uint8Array[] = inputs.seeds.map((seed, i) =>
  encodeLinkReport(
    signLinkReport({ sequence: 1, issuedAt: now, links: perNode[i]! }, Identity.fromSeed(seed)),
  ),
);
const serverKey = inputs.seeds[0]!.map((b) => b ^ 0xff);
inputs = null;
perNode.length = 0;
const ipOf = (i: number) => `10.${(i >> 8) & 0xff}.${i & 0xff}.1`;

const service = new DirectoryService({ key: serverKey });

// Ingest: descriptors, each verified, one source IP (and /24) per node.
let t = performance.now();
for (let i = 0; i < descriptors.length; i++) service.publishDescriptor(descriptors[i]!, ipOf(i));
const ingestS = (performance.now() - t) / 1000;
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
const addr = run(QUERIES, () => ({ address: pick() }));
const exit = run(Math.ceil(QUERIES / 3), () => ({ exit: { host: 'example.org', port: 443 } }));

// RSS after a full collection, so garbage left by the input generation is not counted.
setFlagsFromString('--expose-gc');
(runInNewContext('gc') as () => void)();
process.stdout.write(
  `${JSON.stringify({
    query_ms_p50: round(pct(addr.times, 0.5)),
    query_ms_p99: round(pct(addr.times, 0.99)),
    queries_per_s: Math.round(addr.qps),
    ingest_descriptors_per_s: Math.round(descriptorCount / ingestS),
    snapshot_bytes: snapshot.length,
    rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
    heap_used_mb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    rss_at_start_mb: Math.round(rssAtStart / 2 ** 20),
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
