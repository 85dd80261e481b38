/**
 * CPU cost of the session layer alone: one stream upload over an in-memory
 * route pair (no onion layers, no links), both ends in this process, after
 * an 8 MiB warm-up. Prints MB/s and the process CPU µs per 2 KiB uploaded
 * (record seal + open, framing, flow control, the memory route's copy).
 * Run: pnpm exec tsx --conditions=@skymesh/source bench/session-cpu.ts
 * Environment: MB (default 48).
 */
import { benchUpload } from './session.js';

const mb = Number(process.env.MB ?? 48);
await benchUpload(8);
const c0 = process.cpuUsage();
const mbps = await benchUpload(mb);
const c = process.cpuUsage(c0);
console.log(
  JSON.stringify({
    mbps,
    cpu_us_per_2KiB: Math.round(((c.user + c.system) / (mb * 512)) * 100) / 100,
  }),
);
