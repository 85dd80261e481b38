/** Noise benchmark operations (filled in by its owner). */
import type { BenchOp } from './crypto.bench.js';

export function noiseBenchmarks(): BenchOp[] {
  return [];
}
