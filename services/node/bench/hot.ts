/**
 * Focused data-path harness: one 3-hop session upload (source, 2 relays,
 * destination in this process, ws links on loopback) and the process CPU µs
 * per 2 KiB cell. For profiling:
 *   node --import tsx --conditions=@skymesh/source --cpu-prof bench/hot.ts
 * Environment: BENCH_MB (default 32), BENCH_TRANSPORT (ws | tcp, default ws),
 * BENCH_FRAMES=1 prints each link's cells per frame.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { CELL_SIZE } from '@skymesh/protocol';
import { startMesh } from '../src/node/testing.js';
import type { SessionStream } from '../src/session/stream.js';
import { nodeDebugState, STALL_MS, watchProgress } from './debug.js';

const MB = Number(process.env.BENCH_MB ?? 32);
let received = 0;
const sinks: SessionStream[] = [];
const transport = process.env.BENCH_TRANSPORT === 'tcp' ? 'tcp' : 'ws';
const mesh = await startMesh(4, {
  node: {
    listen: [{ transport, host: '127.0.0.1', port: 0 }],
    // BENCH_TUNING: JSON NodeTuning, for experiments.
    ...(process.env.BENCH_TUNING ? { tuning: JSON.parse(process.env.BENCH_TUNING) } : {}),
  },
  onStream: (s) => {
    sinks.push(s);
    s.on('error', () => {});
    s.on('data', (c: Buffer) => {
      received += c.length;
    });
  },
});
const [src, , , dst] = mesh.nodes;
const client = src!.connectSession(dst!.address);
await client.ready;
const s = client.openStream({ name: 'sink', port: 9 });
const total = MB * 1024 * 1024;
const chunk = Buffer.alloc(64 * 1024, 7);
const t0 = performance.now();
const c0 = process.cpuUsage();
// An upload that stops moving (BENCH_STALL_S) dumps every node's data-path state and fails.
const stop = watchProgress(
  () => received,
  STALL_MS,
  (idle) => {
    const dump = mesh.nodes.map((n, i) =>
      nodeDebugState(n, i === 0 ? [s] : i === mesh.nodes.length - 1 ? sinks : []),
    );
    process.stderr.write(`STALL DUMP ${JSON.stringify({ received, dump }, null, 1)}\n`);
    console.error(`hot.ts upload stalled for ${Math.round(idle / 1000)} s`);
    process.exit(2);
  },
);
for (let sent = 0; sent < total; sent += chunk.length) {
  if (!s.write(chunk)) await new Promise<void>((r) => s.once('drain', () => r()));
}
while (received < total) await new Promise((r) => setTimeout(r, 1));
stop();
const secs = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
const cells = total / CELL_SIZE;
console.log(
  JSON.stringify({
    MBps: Math.round((total / 1e6 / secs) * 10) / 10,
    cpu_us_per_cell_all_nodes: Math.round((cpu.user + cpu.system) / cells),
    cpu_share: Math.round(((cpu.user + cpu.system) / 1e6 / secs) * 100) / 100,
    load: loadavg()[0],
  }),
);
if (process.env.BENCH_FRAMES) {
  for (const [i, n] of mesh.nodes.entries()) {
    for (const l of n.links.links()) {
      const st = l.stats();
      console.error(
        i,
        l.peerAddress.slice(0, 6),
        'out cells/frame',
        (st.cellsOut / st.framesOut).toFixed(1),
        'in',
        (st.cellsIn / st.framesIn).toFixed(1),
        st.framesOut,
      );
    }
  }
}
s.destroy();
await client.close();
await mesh.close();
