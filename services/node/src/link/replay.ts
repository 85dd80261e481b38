/**
 * The responder's replay filter for first handshake messages. An IK msg1
 * can be replayed by anyone who recorded it, and a node that answered a
 * replay would confirm to a prober that it speaks Skymesh. msg1 carries the
 * initiator's clock, so only messages inside the clock window need to be
 * remembered, keyed by their Elligator2 representative.
 *
 * Memory is bounded: when the cache is full the oldest entry is evicted and
 * `floor` rises to the largest timestamp ever evicted; a message whose
 * timestamp is ≤ floor is refused. Every evicted message has a timestamp
 * ≤ floor, so an evicted message replayed is still refused: the filter never
 * lets a replay through, it only refuses more under a flood (honest
 * initiators whose clocks lag the newest evictions; they retry).
 */
import { toHex } from '@skymesh/crypto';

export interface ReplayCacheOptions {
  /** Most entries kept. @default 65536 */
  maxEntries?: number;
  /** Entries whose timestamp is older than now − window are dropped (ms). */
  windowMs: number;
}

export class ReplayCache {
  private readonly seen = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly windowMs: number;
  private floor = Number.NEGATIVE_INFINITY;

  constructor(options: ReplayCacheOptions) {
    this.maxEntries = options.maxEntries ?? 65_536;
    this.windowMs = options.windowMs;
  }

  get size(): number {
    return this.seen.size;
  }

  /**
   * Records the message (tag, timestamp) and returns true when it is fresh;
   * false for a replay or a message the bounded cache can no longer vouch for.
   */
  check(tag: Uint8Array, timestamp: number, now: number): boolean {
    this.expire(now);
    const key = toHex(tag);
    if (timestamp <= this.floor || this.seen.has(key)) return false;
    if (this.seen.size >= this.maxEntries) this.evictOldest();
    this.seen.set(key, timestamp);
    return true;
  }

  private expire(now: number): void {
    // Insertion order is roughly time order; stop at the first young entry.
    for (const [key, ts] of this.seen) {
      if (ts >= now - this.windowMs) break;
      this.seen.delete(key);
      if (ts > this.floor) this.floor = ts;
    }
  }

  private evictOldest(): void {
    const first = this.seen.entries().next();
    if (first.done) return;
    const [key, ts] = first.value;
    this.seen.delete(key);
    if (ts > this.floor) this.floor = ts;
  }
}
