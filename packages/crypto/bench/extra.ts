/** Benchmarks of the higher layers (Elligator2 keys, Noise handshakes). */
import type { BenchOp } from './crypto.bench.js';

export function extraBenchmarks(): BenchOp[] {
  return [];
}
