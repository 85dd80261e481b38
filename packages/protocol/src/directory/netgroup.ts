/**
 * Network groups for path diversity: two hops of one path should not sit in
 * the same network, since one operator (or one observer of that network)
 * would then see both. The group of an endpoint is its IPv4 /16, its IPv6
 * /32, or for a host name its last two labels (a rough "registrable domain").
 */

import type { NodeDescriptor } from '../descriptor/descriptor.js';
import { parseIP } from '../descriptor/host.js';

/** The network group of one host, as text. */
export function netGroup(host: string): string {
  const ip = parseIP(host);
  if (ip?.length === 4) return `4:${ip[0]}.${ip[1]}`;
  if (ip) return `6:${((ip[0]! << 24) | (ip[1]! << 16) | (ip[2]! << 8) | ip[3]!) >>> 0}`;
  return `h:${host.split('.').slice(-2).join('.')}`;
}

/** Every network group a node's endpoints fall in (empty when it has no endpoint). */
export function nodeGroups(desc: NodeDescriptor): string[] {
  return [...new Set(desc.endpoints.map((e) => netGroup(e.host)))];
}

/**
 * The diversity policy, for a path already chosen: true when no two of
 * `hops` (nor a hop and `source`, when given) share a network group. The
 * route search (routes.ts) applies the same rule hop by hop over these
 * groups; a node calls this to re-check a path someone else chose.
 */
export function pathDiverse(
  hops: readonly NodeDescriptor[],
  source?: NodeDescriptor | undefined,
): boolean {
  const seen = new Set(source ? nodeGroups(source) : []);
  for (const d of hops) {
    for (const g of nodeGroups(d)) {
      if (seen.has(g)) return false;
      seen.add(g);
    }
  }
  return true;
}
