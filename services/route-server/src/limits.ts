/**
 * Sybil pressure: per source IP and per network prefix (IPv4 /24, IPv6 /48)
 * the route server limits the request rate (token buckets) and the number
 * of live nodes published (counters freed when a node leaves). Every table
 * is bounded: the least recently used bucket is dropped when one is full.
 */
import { parseIP } from '@skymesh/protocol';
import { RouteServerError } from './errors.js';

/** Limits; rates per second, bursts in requests. 0 disables a limit. */
export interface SybilLimits {
  requestRatePerIp: number;
  requestBurstPerIp: number;
  requestRatePerPrefix: number;
  requestBurstPerPrefix: number;
  nodesPerIp: number;
  nodesPerPrefix: number;
  /** IPs (exact text as the socket reports them) never limited, e.g. a local mesh. */
  exempt: readonly string[];
}

export const DEFAULT_LIMITS: SybilLimits = {
  requestRatePerIp: 20,
  requestBurstPerIp: 100,
  requestRatePerPrefix: 100,
  requestBurstPerPrefix: 500,
  nodesPerIp: 4,
  nodesPerPrefix: 16,
  exempt: [],
};

/** Most buckets kept per table. */
const MAX_BUCKETS = 100_000;

/**
 * The limiting keys of a source address: itself and its prefix (/24 for
 * IPv4, IPv4-mapped IPv6 included; /48 for IPv6). A non-IP text (a test
 * harness) is its own prefix.
 */
export function sourceKeys(ip: string): { ip: string; prefix: string } {
  if (typeof ip !== 'string' || ip.length === 0) return { ip: '?', prefix: '?' };
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const text = mapped ? mapped[1]! : ip.toLowerCase();
  const bytes = parseIP(text);
  if (!bytes) return { ip: text, prefix: `?${text}` };
  if (bytes.length === 4) return { ip: text, prefix: `${bytes[0]}.${bytes[1]}.${bytes[2]}.0/24` };
  const hex = Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join('');
  return { ip: text, prefix: `${hex}::/48` };
}

class Buckets {
  private readonly map = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  take(key: string, nowMs: number): boolean {
    if (this.rate <= 0) return true;
    let b = this.map.get(key);
    if (b) this.map.delete(key);
    else {
      b = { tokens: this.burst, at: nowMs };
      if (this.map.size >= MAX_BUCKETS) this.map.delete(this.map.keys().next().value as string);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.at) / 1000) * this.rate);
    b.at = nowMs;
    this.map.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.map.size;
  }
}

/** Request rates and node counts per source; see the module comment. */
export class SybilGuard {
  private readonly perIp: Buckets;
  private readonly perPrefix: Buckets;
  private readonly exempt: Set<string>;
  // Live nodes by publisher: node key → its source keys, and counts per key.
  private readonly owner = new Map<string, { ip: string; prefix: string }>();
  private readonly count = new Map<string, number>();
  /** Requests refused for rate. */
  rateLimited = 0;
  /** Descriptors refused for node count. */
  nodeLimited = 0;

  constructor(private readonly limits: SybilLimits = DEFAULT_LIMITS) {
    this.perIp = new Buckets(limits.requestRatePerIp, limits.requestBurstPerIp);
    this.perPrefix = new Buckets(limits.requestRatePerPrefix, limits.requestBurstPerPrefix);
    this.exempt = new Set(limits.exempt);
  }

  /** Charges one request to `ip`. @throws RouteServerError RS_RATE_LIMITED */
  request(ip: string, nowMs: number): void {
    if (this.exempt.has(ip)) return;
    const k = sourceKeys(ip);
    // Both buckets are charged so that one IP cannot spare its prefix's budget.
    const okIp = this.perIp.take(k.ip, nowMs);
    const okPrefix = this.perPrefix.take(k.prefix, nowMs);
    if (!okIp || !okPrefix) {
      this.rateLimited++;
      throw new RouteServerError('RS_RATE_LIMITED', 'too many requests from this network', {
        scope: okIp ? 'prefix' : 'ip',
      });
    }
  }

  /**
   * Checks that `ip` may hold node `nodeKey` (already held from the same
   * source: always). Call claim() once the descriptor is accepted.
   * @throws RouteServerError RS_TOO_MANY_NODES
   */
  checkNode(nodeKey: string, ip: string): void {
    if (this.exempt.has(ip)) return;
    const k = sourceKeys(ip);
    const held = this.owner.get(nodeKey);
    const check = (key: string, max: number, same: boolean, scope: string) => {
      if (max > 0 && !same && (this.count.get(key) ?? 0) >= max) {
        this.nodeLimited++;
        throw new RouteServerError('RS_TOO_MANY_NODES', 'too many nodes from this network', {
          scope,
          max,
        });
      }
    };
    check(`i${k.ip}`, this.limits.nodesPerIp, held?.ip === k.ip, 'ip');
    check(`p${k.prefix}`, this.limits.nodesPerPrefix, held?.prefix === k.prefix, 'prefix');
  }

  /** Records that node `nodeKey` is published from `ip` (moving it from its old source). */
  claim(nodeKey: string, ip: string): void {
    if (this.exempt.has(ip)) {
      this.release(nodeKey);
      return;
    }
    const k = sourceKeys(ip);
    const held = this.owner.get(nodeKey);
    if (held && held.ip === k.ip && held.prefix === k.prefix) return;
    this.release(nodeKey);
    this.owner.set(nodeKey, k);
    this.bump(`i${k.ip}`, 1);
    this.bump(`p${k.prefix}`, 1);
  }

  /** Frees the counters of a node that left the directory. */
  release(nodeKey: string): void {
    const held = this.owner.get(nodeKey);
    if (!held) return;
    this.owner.delete(nodeKey);
    this.bump(`i${held.ip}`, -1);
    this.bump(`p${held.prefix}`, -1);
  }

  private bump(key: string, d: number): void {
    const v = (this.count.get(key) ?? 0) + d;
    if (v <= 0) this.count.delete(key);
    else this.count.set(key, v);
  }
}
