/**
 * Stall diagnosis for the data-path benchmarks: a snapshot of where a
 * node's bytes sit (each link's cell queue, transport buffer and blocked /
 * drain flags; each route side's queue and PAUSE state; each stream's
 * session credits, sequence numbers and outbox), and a watchdog that dumps
 * it when an upload stops making progress.
 */
import type { MeshNode } from '../src/node.js';
import type { SessionStream } from '../src/session/stream.js';

/** One node's data-path state; `streams` are the bench's streams ending or starting there. */
export function nodeDebugState(
  node: MeshNode,
  streams: readonly SessionStream[] = [],
): Record<string, unknown> {
  return {
    address: node.address.slice(0, 12),
    links: node.links.links().map((l) => l.debugState()),
    router: node.router.debugState(),
    sessions: streams.map((s) => s.debugSession()),
  };
}

/**
 * Calls `onStall` when `progress()` has not changed for `ms` (checked every
 * second). Returns a stop function.
 */
export function watchProgress(
  progress: () => number,
  ms: number,
  onStall: (idleMs: number) => void,
): () => void {
  let last = progress();
  let since = performance.now();
  const t = setInterval(() => {
    const now = progress();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= ms) {
      clearInterval(t);
      onStall(performance.now() - since);
    }
  }, 1000);
  t.unref();
  return () => clearInterval(t);
}

/** The stall timeout of bench uploads: BENCH_STALL_S seconds (default 120). */
export const STALL_MS = Number(process.env.BENCH_STALL_S ?? 120) * 1000;
