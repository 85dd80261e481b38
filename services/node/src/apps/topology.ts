/**
 * Paths over a fixed, partly connected topology: the local mesh (and its
 * docker twin) restricts which nodes link to which, so routes really go
 * through relays instead of straight from any node to any other. A path is
 * a random simple walk over the edges from the source to the destination,
 * with the requested number of hops when the graph has one, otherwise the
 * nearest length it has.
 */
import { randomInt } from 'node:crypto';
import { toHex } from '@skymesh/crypto';
import type { PathRequest } from '../node.js';
import { type PathHop, RouteError } from '../route/index.js';

/** The local mesh's six nodes: 0 is the SOCKS client, 4 the exit, 5 the service. */
export const LOCAL_MESH_EDGES: readonly (readonly [number, number])[] = [
  [0, 1],
  [0, 2],
  [1, 2],
  [1, 3],
  [2, 4],
  [3, 4],
  [3, 5],
  [4, 5],
];

/** Roles of the six nodes of LOCAL_MESH_EDGES, for printing. */
export const LOCAL_MESH_ROLES = [
  'client (SOCKS5)',
  'relay',
  'relay',
  'relay',
  'relay + exit',
  'service',
];

/**
 * Edges for `n` nodes: the six-node layout, then each further node joins
 * two earlier ones (a ring with chords), so every node has ≥ 2 neighbours.
 */
export function meshEdges(n: number): [number, number][] {
  const edges = LOCAL_MESH_EDGES.filter(([a, b]) => a < n && b < n).map(
    ([a, b]) => [a, b] as [number, number],
  );
  for (let i = 6; i < n; i++) edges.push([i, i - 1], [i, (i * 7) % (i - 1)]);
  if (n > 1 && n < 6) {
    // Small meshes: a ring, so everything stays reachable.
    for (let i = 0; i < n; i++) {
      const j = (i + 1) % n;
      if (!edges.some(([a, b]) => (a === i && b === j) || (a === j && b === i))) edges.push([i, j]);
    }
  }
  return edges;
}

/**
 * A PathChooser for node `self` of `keys` over `edges`.
 * @throws RouteError ROUTE_BAD_PATH when the destination is unreachable
 */
export function topologyPathChooser(
  keys: readonly Uint8Array[],
  edges: readonly (readonly [number, number])[],
  self: number,
): (request: PathRequest) => PathHop[] {
  const index = new Map(keys.map((k, i) => [toHex(k), i]));
  const adj = keys.map(() => [] as number[]);
  for (const [a, b] of edges) {
    adj[a]!.push(b);
    adj[b]!.push(a);
  }
  return (req) => {
    const dest = index.get(toHex(req.destination));
    if (dest === undefined) {
      throw new RouteError('ROUTE_BAD_PATH', 'destination is not in the topology');
    }
    const allowed = new Set(
      req.relays.map((d) => index.get(toHex(d.publicKey))).filter((i) => i !== undefined),
    );
    for (const k of req.exclude) {
      const i = index.get(toHex(k));
      if (i !== undefined) allowed.delete(i);
    }
    // Every simple path self → dest through allowed relays, grouped by hops.
    const byLength = new Map<number, number[][]>();
    const walk = (at: number, path: number[], seen: Set<number>) => {
      if (path.length > 8) return;
      for (const next of adj[at]!) {
        if (seen.has(next)) continue;
        if (next === dest) {
          const p = [...path, next];
          byLength.set(p.length, [...(byLength.get(p.length) ?? []), p]);
        } else if (allowed.has(next)) {
          seen.add(next);
          walk(next, [...path, next], seen);
          seen.delete(next);
        }
      }
    };
    walk(self, [], new Set([self]));
    const lengths = [...byLength.keys()].sort(
      (a, b) => Math.abs(a - req.hops) - Math.abs(b - req.hops) || b - a,
    );
    const options = lengths.length > 0 ? byLength.get(lengths[0]!)! : [];
    if (options.length === 0) {
      throw new RouteError('ROUTE_BAD_PATH', 'no path to the destination in the topology');
    }
    const chosen = options[randomInt(options.length)]!;
    return chosen.map((i) => ({ publicKey: keys[i]! }));
  };
}
