/**
 * An in-process mesh of routers joined by in-memory CellLinks, for tests and
 * benchmarks of the route layer. Links open lazily when a router asks for a
 * neighbour (getLink), unless the pair was blocked; every pair's links can
 * be tapped, held or closed, and the clock is a shared number the test moves.
 */
import { Identity, toHex } from '@skymesh/crypto';
import { createCellLinkPair, type FakeCellLink, type FakeLinkOptions } from './fake-link.js';
import { createRouter, type Router, type RouterInit } from './router.js';

/** The links between two nodes: `ab` is held by node a, `ba` by node b. */
export interface FakePair {
  readonly ab: FakeCellLink;
  readonly ba: FakeCellLink;
}

export interface FakeMeshOptions {
  /** Router options besides identity, getLink and now. Sweep timers are off by default. */
  readonly router?: Partial<Omit<RouterInit, 'identity' | 'getLink' | 'now'>>;
  /** Options of every link pair; `tap` gets the pair's node indices too. */
  readonly link?: Omit<FakeLinkOptions, 'tap'> & {
    tap?: (cell: Uint8Array, from: number, to: number) => Uint8Array | null | undefined;
  };
}

export interface FakeMesh {
  readonly ids: readonly Identity[];
  readonly routers: readonly Router[];
  /** Shared clock (ms) every router reads; tests move it. */
  readonly clock: { now: number };
  /** The links between nodes i and j, opened now if needed. */
  pair(i: number, j: number): FakePair;
  /** Makes getLink from i to j (and j to i) fail. */
  block(i: number, j: number): void;
  /** Closes every router. */
  close(): void;
}

/** Creates `size` routers with fresh identities, lazily linked. */
export function createFakeMesh(size: number, options: FakeMeshOptions = {}): FakeMesh {
  const ids = Array.from({ length: size }, () => Identity.generate());
  const index = new Map(ids.map((id, i) => [toHex(id.publicKey), i]));
  const clock = { now: Date.now() };
  const pairs = new Map<string, FakePair>();
  const blocked = new Set<string>();
  const key = (i: number, j: number) => (i < j ? `${i}-${j}` : `${j}-${i}`);
  const routers: Router[] = [];

  const pair = (i: number, j: number): FakePair => {
    const k = key(i, j);
    let p = pairs.get(k);
    if (p?.ab.status !== 'open') {
      const [lo, hi] = i < j ? [i, j] : [j, i];
      const tap = options.link?.tap;
      const { a, b } = createCellLinkPair(ids[lo]!.publicKey, ids[hi]!.publicKey, {
        ...options.link,
        tap: tap
          ? (cell, from) => (from === 'a' ? tap(cell, lo, hi) : tap(cell, hi, lo))
          : undefined,
      });
      routers[lo]!.attachLink(a);
      routers[hi]!.attachLink(b);
      const stored = { ab: a, ba: b };
      pairs.set(k, stored);
      p = stored;
    }
    return i < j ? p : { ab: p.ba, ba: p.ab };
  };

  for (let i = 0; i < size; i++) {
    routers.push(
      createRouter({
        sweepMs: 0,
        ...options.router,
        identity: ids[i]!,
        now: () => clock.now,
        getLink: (peerKey) => {
          const j = index.get(toHex(peerKey));
          if (j === undefined || blocked.has(key(i, j))) return undefined;
          return pair(i, j).ab;
        },
      }),
    );
  }
  return {
    ids,
    routers,
    clock,
    pair,
    block: (i, j) => blocked.add(key(i, j)),
    close: () => {
      for (const r of routers) r.close();
    },
  };
}
