/** Helpers shared by the route tests (in-process fake mesh). */
import type { RouteChannel } from '../src/contracts.js';
import type { FakeMesh } from '../src/route/index.js';

/** Lets queued in-memory deliveries run (setImmediate batches). */
export async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** The path through the given node indices of `m`. */
export function path(m: FakeMesh, nodes: number[]) {
  return nodes.map((i) => ({ publicKey: m.ids[i]!.publicKey }));
}

/** Collects every route that arrives at `node` as a destination. */
export function accept(m: FakeMesh, node: number): RouteChannel[] {
  const got: RouteChannel[] = [];
  m.routers[node]!.onIncomingRoute((ch) => got.push(ch));
  return got;
}

/** Collects every payload `ch` delivers. */
export function collect(ch: RouteChannel): Uint8Array[] {
  const out: Uint8Array[] = [];
  ch.onPayload((p) => out.push(p));
  return out;
}
