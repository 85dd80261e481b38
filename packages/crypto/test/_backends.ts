/** Runs a suite once per backend available in this runtime. */
import { afterAll, beforeAll, describe } from 'vitest';
import { availableBackends, type CryptoBackend, ready, useBackend } from '../src/index.js';

export function forEachBackend(name: string, suite: (b: CryptoBackend) => void): void {
  for (const b of availableBackends()) {
    describe(`${name} [${b.name}]`, () => {
      let prev: CryptoBackend;
      beforeAll(async () => {
        await ready();
        prev = useBackend(b);
      });
      afterAll(() => {
        useBackend(prev);
      });
      suite(b);
    });
  }
}

export function numRuns(fallback: number): number {
  return Number(process.env.FUZZ_RUNS ?? 0) || fallback;
}
