/**
 * Route ID allocation on one link. The side that sends SETUP picks the ID;
 * the top bit tells the two ends of a link apart (the end whose Ed25519 key
 * sorts higher sets it), so they never collide. A released ID is quarantined
 * for `quarantineMs` before it may be picked again: by then every cell of the
 * old route has long been delivered or dropped, so an old cell can never be
 * taken for one of a new route on the same ID.
 */

/** The top bit of a route ID: which end of the link picked it. */
export const ROUTE_ID_SIDE_BIT = 0x8000_0000;

export interface RouteIdAllocatorInit {
  /** 0 or ROUTE_ID_SIDE_BIT: the side bit of IDs this end picks. */
  readonly sideBit: number;
  /** How long a released ID rests before reuse, ms. */
  readonly quarantineMs: number;
  /**
   * Bits of the ID below the side bit (tests use a tiny space).
   * @default 31
   */
  readonly bits?: number;
  /**
   * Most quarantined IDs remembered; beyond it the oldest is forgotten early.
   * @default 65536
   */
  readonly maxQuarantined?: number;
}

/** Picks random unused, unquarantined IDs for routes this end opens on a link. */
export class RouteIdAllocator {
  private readonly sideBit: number;
  private readonly quarantineMs: number;
  private readonly space: number;
  private readonly maxQuarantined: number;
  /** id → time it may be used again; insertion order is release order. */
  private readonly quarantine = new Map<number, number>();

  constructor(init: RouteIdAllocatorInit) {
    this.sideBit = init.sideBit;
    this.quarantineMs = init.quarantineMs;
    const bits = init.bits ?? 31;
    if (bits < 1 || bits > 31) throw new RangeError('bits must be 1..31');
    this.space = 2 ** bits;
    this.maxQuarantined = init.maxQuarantined ?? 65_536;
  }

  /** IDs currently resting. */
  get quarantined(): number {
    return this.quarantine.size;
  }

  /** True when `id` was released less than quarantineMs ago. */
  isQuarantined(id: number, now: number): boolean {
    const until = this.quarantine.get(id);
    return until !== undefined && until > now;
  }

  /**
   * A fresh ID (never 0 below the side bit), or undefined when every ID is
   * in use or resting. `inUse` says whether the link already carries an ID.
   */
  allocate(inUse: (id: number) => boolean, now: number): number | undefined {
    const ok = (low: number) => {
      const id = (this.sideBit | low) >>> 0;
      return low !== 0 && !inUse(id) && !this.isQuarantined(id, now) ? id : undefined;
    };
    for (let i = 0; i < 32; i++) {
      const id = ok(Math.floor(Math.random() * this.space));
      if (id !== undefined) return this.take(id);
    }
    // Crowded (or a tiny test space): scan once.
    for (let low = 1; low < this.space; low++) {
      const id = ok(low);
      if (id !== undefined) return this.take(id);
    }
    return undefined;
  }

  /** Puts a released ID to rest. */
  release(id: number, now: number): void {
    this.quarantine.delete(id);
    this.quarantine.set(id, now + this.quarantineMs);
    if (this.quarantine.size > this.maxQuarantined) {
      this.quarantine.delete(this.quarantine.keys().next().value as number);
    }
  }

  /** Forgets IDs whose rest is over (release order = expiry order). */
  sweep(now: number): void {
    for (const [id, until] of this.quarantine) {
      if (until > now) break;
      this.quarantine.delete(id);
    }
  }

  private take(id: number): number {
    this.quarantine.delete(id);
    return id;
  }
}
