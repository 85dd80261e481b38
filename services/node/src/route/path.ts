/**
 * Path choice from a list of candidate relays (for now handed in by the
 * caller; later from the route server or a downloaded directory). Relays are
 * drawn uniformly without replacement with the crypto RNG, so nobody can
 * predict which relays a node will use.
 */
import { randomBytes, toHex } from '@skymesh/crypto';
import { MAX_HOPS } from '@skymesh/protocol';
import { RouteError } from './errors.js';
import type { PathHop } from './router.js';

/** Default route length, destination included. */
export const DEFAULT_HOPS = 3;

export interface ChoosePathOptions {
  /**
   * Hops including the destination, 1..MAX_HOPS.
   * @default 3
   */
  readonly hops?: number;
  /** Keys never to use as relays (this node, relays of a route being replaced). */
  readonly exclude?: readonly Uint8Array[];
}

/** A uniform integer in [0, n) from the crypto RNG (rejection sampling, n ≤ 2^32). */
function uniform(n: number): number {
  const limit = Math.floor(0x1_0000_0000 / n) * n;
  for (;;) {
    const b = randomBytes(4);
    const v = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    if (v < limit) return v % n;
  }
}

/**
 * Picks `hops − 1` distinct relays at random from `relays` (never the
 * destination nor an excluded key), followed by the destination.
 * @throws RouteError ROUTE_BAD_PATH when hops is out of range or too few relays qualify.
 * @example
 *   const path = choosePath(directoryRelays, { publicKey: destKey });
 *   const channel = await router.buildRoute(path);
 */
export function choosePath(
  relays: readonly PathHop[],
  destination: PathHop,
  options: ChoosePathOptions = {},
): PathHop[] {
  const hops = options.hops ?? DEFAULT_HOPS;
  if (!Number.isInteger(hops) || hops < 1 || hops > MAX_HOPS) {
    throw new RouteError('ROUTE_BAD_PATH', `a path has 1..${MAX_HOPS} hops`, { hops });
  }
  const seen = new Set([destination.publicKey, ...(options.exclude ?? [])].map(toHex));
  const pool: PathHop[] = [];
  for (const r of relays) {
    const k = toHex(r.publicKey);
    if (seen.has(k)) continue;
    seen.add(k);
    pool.push(r);
  }
  if (pool.length < hops - 1) {
    throw new RouteError('ROUTE_BAD_PATH', 'not enough distinct relays for the path', {
      hops,
      relays: pool.length,
    });
  }
  for (let i = 0; i < hops - 1; i++) {
    const j = i + uniform(pool.length - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return [...pool.slice(0, hops - 1), destination];
}
