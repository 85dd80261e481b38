/**
 * The replay cache each hop keeps for setup packets: a bounded, time-windowed
 * set of replay tags. Two generations rotate every `windowMs`, so a tag is
 * remembered for at least one window and at most two; setup packets carry a
 * timestamp and are refused outside ±windowMs/2 of the hop's clock, so a
 * packet old enough to have left the cache is refused as stale instead.
 * When a generation reaches `maxEntries` new packets are refused (fail
 * closed) rather than forgetting tags early.
 */

/** Default replay window: twice the default setup clock skew (60 s). */
export const DEFAULT_REPLAY_WINDOW_MS = 120_000;
/** Default cap of tags per generation (≈ 70 bytes each). */
export const DEFAULT_REPLAY_MAX_ENTRIES = 100_000;

export interface ReplayCacheInit {
  /**
   * How long one generation lasts; tags live one to two windows.
   * @default 120000
   */
  windowMs?: number;
  /**
   * Tags per generation before new ones are refused.
   * @default 100000
   */
  maxEntries?: number;
}

/** Outcome of offering a tag: new (now remembered), seen before, or refused because full. */
export type ReplayVerdict = 'fresh' | 'replay' | 'full';

function tagKey(tag: Uint8Array): string {
  return String.fromCharCode.apply(null, tag as unknown as number[]);
}

/** A bounded two-generation set of setup-packet replay tags. */
export class ReplayCache {
  readonly windowMs: number;
  readonly maxEntries: number;
  private current = new Set<string>();
  private previous = new Set<string>();
  private rotatedAt: number | undefined;

  constructor(init: ReplayCacheInit = {}) {
    this.windowMs = init.windowMs ?? DEFAULT_REPLAY_WINDOW_MS;
    this.maxEntries = init.maxEntries ?? DEFAULT_REPLAY_MAX_ENTRIES;
    if (!(this.windowMs > 0) || !(this.maxEntries > 0)) {
      throw new RangeError('ReplayCache windowMs and maxEntries must be positive');
    }
  }

  /** Tags currently remembered (both generations). */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  /** Offers a tag at time `now` (ms); remembers it when fresh. */
  check(tag: Uint8Array, now: number): ReplayVerdict {
    this.rotate(now);
    const key = tagKey(tag);
    if (this.current.has(key) || this.previous.has(key)) return 'replay';
    if (this.current.size >= this.maxEntries) return 'full';
    this.current.add(key);
    return 'fresh';
  }

  private rotate(now: number): void {
    if (this.rotatedAt === undefined) {
      this.rotatedAt = now;
      return;
    }
    const elapsed = now - this.rotatedAt;
    if (elapsed < this.windowMs) return;
    if (elapsed >= 2 * this.windowMs) {
      this.previous = new Set();
      this.current = new Set();
      this.rotatedAt = now;
      return;
    }
    this.previous = this.current;
    this.current = new Set();
    this.rotatedAt += this.windowMs;
  }
}
