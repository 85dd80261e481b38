/** Shared fast-check settings: FUZZ_RUNS from the environment, small defaults otherwise. */
export function runs(defaultRuns: number): number {
  const env = Number(globalThis.process?.env.FUZZ_RUNS);
  return Number.isInteger(env) && env > 0 ? env : defaultRuns;
}

/** Runs `fn` and returns the thrown error, or undefined when it returned. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
