/** Benchmarks of the higher layers (Elligator2 keys, Noise handshakes). */
import type { BenchOp } from './crypto.bench.js';
import { elligatorBenchmarks } from './elligator.ops.js';
import { noiseBenchmarks } from './noise.ops.js';

export function extraBenchmarks(): BenchOp[] {
  return [...elligatorBenchmarks(), ...noiseBenchmarks()];
}
