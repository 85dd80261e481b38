/**
 * Route finding over a directory: up to k node-disjoint paths from a source
 * to a destination (a node's address, or any exit allowing host:port), each
 * of minHops..maxHops hops (the last hop being the destination or the exit).
 * The route server answers queries with it, and a node runs the very same
 * code over a downloaded copy when no route server is reachable.
 *
 * Cost is measured latency: the sum of the confirmed links' round trips,
 * plus the source's own link to the first hop (its confirmed RTT, or
 * `unknownRttMicros` when the source has no confirmed link there). Intermediate
 * hops are relays joined by confirmed links.
 *
 * How: a backward dynamic programme over hop counts gives, for every node,
 * the cheapest cost to reach a target in exactly h more links (a lower
 * bound, since it ignores repeats and exclusions). A depth-first branch and
 * bound guided by that bound finds the cheapest simple path; then, unless
 * `spread` is 0, a second randomised search returns a path whose cost is
 * within (1 + spread) × cheapest, so answers are not predictable. Paths are
 * taken greedily one after another, each excluding the nodes of the ones
 * before (the destination node excepted).
 *
 * Diversity: within one path no two hops (nor a hop and the source) share a
 * network group (IPv4 /16, IPv6 /32, host domain; see netgroup.ts). When no
 * path meets that, one that does not is returned with `diverse: false`.
 */
import { chacha20Xor, parseAddress } from '@skymesh/crypto';
import { MAX_HOPS } from '../constants.js';
import { exitAllows } from '../descriptor/exit.js';
import { keyHex } from './_bytes.js';
import { DirectoryError } from './errors.js';
import { nodeGroups } from './netgroup.js';
import type { DirectoryNode, DirectoryState } from './state.js';

/** Where a route must end. */
export type RouteDestination =
  | { address: string | Uint8Array }
  | { exit: { host: string; port: number } };

/** A route query; see the module comment. */
export interface RouteQuery {
  /** The node that will build the route (address or public key); omit to stay anonymous. */
  source?: string | Uint8Array | undefined;
  destination: RouteDestination;
  /** @default 3 */
  minHops?: number | undefined;
  /** @default max(minHops, 3) */
  maxHops?: number | undefined;
  /** Number of node-disjoint paths wanted (1..MAX_PATHS). @default 1 */
  k?: number | undefined;
  /** Nodes never to use (addresses or keys), at most MAX_EXCLUDE. */
  exclude?: readonly (string | Uint8Array)[] | undefined;
  /** Near-best band: any path costing ≤ (1 + spread) × the cheapest may be returned. 0 = cheapest. @default 0.2 */
  spread?: number | undefined;
  /** Unix seconds; nodes whose descriptor expired are skipped. @default now */
  now?: number | undefined;
  /** Cost of a first hop the source has no confirmed link to. @default DEFAULT_UNKNOWN_RTT_MICROS */
  unknownRttMicros?: number | undefined;
  /**
   * Uniform [0, 1) numbers; @default crypto.getRandomValues. A server
   * answering for others passes a keyedRandom keyed per query, so a re-asked
   * query cannot draw other paths.
   */
  random?: (() => number) | undefined;
}

/** One path found. */
export interface RoutePath {
  /** Hops in order; the last one is the destination or the exit. */
  hops: DirectoryNode[];
  /** Sum of the round trips along the path (microseconds). */
  rttMicros: number;
  /** False when no path meeting the diversity policy existed. */
  diverse: boolean;
}

export const MAX_PATHS = 8;
export const MAX_EXCLUDE = 256;
export const DEFAULT_SPREAD = 0.2;
export const DEFAULT_UNKNOWN_RTT_MICROS = 150_000;
/** Search steps allowed per path search; beyond it the best found so far is used. */
const MAX_STEPS = 50_000;
/**
 * Search steps allowed per query, all searches together, so that no query
 * (k = 8 over 1..8 hops, say) can hold a route server's CPU for long.
 */
export const MAX_QUERY_STEPS = 400_000;

const INF = Number.POSITIVE_INFINITY;

/**
 * A compact, immutable index of one committed directory version for route
 * finding: nodes by number, links in adjacency arrays. Build it once per
 * version (RouteGraph.from) and reuse it for every query on that version.
 */
export class RouteGraph {
  readonly version: number;
  readonly nodes: DirectoryNode[];
  private readonly index = new Map<string, number>();
  private readonly relay: Uint8Array;
  private readonly exits: number[] = [];
  private readonly expiresAt: Float64Array;
  private readonly offsets: Int32Array;
  private readonly peers: Int32Array;
  private readonly rtts: Float64Array;
  private readonly groupOffsets: Int32Array;
  private readonly groups: Int32Array;
  // Scratch space reused by every query (queries run one at a time).
  private readonly banned: Uint8Array;
  private readonly isNeighbour: Uint8Array;
  // Lower-bound tables by target set; see bounds().
  private readonly boundsCache = new Map<string, Bounds>();
  private readonly freeTables: Float64Array[] = [];

  private constructor(state: DirectoryState) {
    this.version = state.version;
    const nodes = [...state.nodes()].sort((x, y) => (x.key < y.key ? -1 : 1));
    this.nodes = nodes;
    const n = nodes.length;
    this.relay = new Uint8Array(n);
    this.expiresAt = new Float64Array(n);
    this.offsets = new Int32Array(n + 1);
    this.groupOffsets = new Int32Array(n + 1);
    const groupIds = new Map<string, number>();
    const groups: number[] = [];
    for (let i = 0; i < n; i++) {
      const node = nodes[i]!;
      this.index.set(node.key, i);
      this.relay[i] = node.desc.roles.relay ? 1 : 0;
      if (node.desc.roles.exit) this.exits.push(i);
      this.expiresAt[i] = node.desc.expiresAt;
      for (const g of nodeGroups(node.desc)) {
        let id = groupIds.get(g);
        if (id === undefined) {
          id = groupIds.size;
          groupIds.set(g, id);
        }
        groups.push(id);
      }
      this.groupOffsets[i + 1] = groups.length;
      this.offsets[i + 1] = this.offsets[i]! + (state.neighbours(node.key)?.size ?? 0);
    }
    this.groups = Int32Array.from(groups);
    this.peers = new Int32Array(this.offsets[n]!);
    this.rtts = new Float64Array(this.offsets[n]!);
    for (let i = 0; i < n; i++) {
      let at = this.offsets[i]!;
      const adj = state.neighbours(nodes[i]!.key);
      if (!adj) continue;
      for (const [peer, link] of adj) {
        this.peers[at] = this.index.get(peer)!;
        this.rtts[at++] = link.rttMicros;
      }
    }
    this.banned = new Uint8Array(n);
    this.isNeighbour = new Uint8Array(n);
  }

  /** Indexes a committed state. O(nodes + links). */
  static from(state: DirectoryState): RouteGraph {
    return new RouteGraph(state);
  }

  /** Node number of a hex key, or -1. */
  indexOf(key: string): number {
    return this.index.get(key) ?? -1;
  }

  /**
   * Answers a route query: up to k node-disjoint paths, cheapest (or near
   * cheapest) first.
   * @throws DirectoryError DIRECTORY_BAD_QUERY | DIRECTORY_NO_ROUTE
   */
  find(query: RouteQuery): RoutePath[] {
    const q = normalise(query);
    const n = this.nodes.length;
    const banned = this.banned;
    banned.fill(0);
    for (let i = 0; i < n; i++) if (this.expiresAt[i]! <= q.now) banned[i] = 1;
    for (const k of q.exclude) {
      const i = this.index.get(k);
      if (i !== undefined) banned[i] = 1;
    }
    const source = q.source === null ? -1 : (this.index.get(q.source) ?? -1);
    if (source >= 0) banned[source] = 1;
    let dest = -1;
    let bounds: Bounds;
    if (q.destKey !== null) {
      dest = this.index.get(q.destKey) ?? -1;
      if (dest < 0 || banned[dest] === 1) {
        throw new DirectoryError('DIRECTORY_NO_ROUTE', 'destination not in the directory');
      }
      bounds = this.bounds(`a${dest}`, () => [dest], q.maxHops);
    } else {
      const { host, port } = q.exit!;
      bounds = this.bounds(
        `x${port}:${host}`,
        () => this.exits.filter((i) => exitAllows(this.nodes[i]!.desc, host, port)),
        q.maxHops,
      );
    }
    const ctx: Search = {
      q,
      b: bounds,
      used: new Uint8Array(n),
      dest,
      source,
      firstConst: q.source === null ? 0 : q.unknownRtt,
      sourceGroups: source >= 0 ? this.groupsOf(source) : [],
      diverse: true,
      stepsLeft: MAX_QUERY_STEPS,
    };
    if (source >= 0) {
      for (let e = this.offsets[source]!; e < this.offsets[source + 1]!; e++) {
        this.isNeighbour[this.peers[e]!] = 1;
      }
    }
    const out: RoutePath[] = [];
    try {
      for (let p = 0; p < q.k; p++) {
        ctx.diverse = true;
        let found = this.pick(ctx);
        if (!found) {
          ctx.diverse = false;
          found = this.pick(ctx);
        }
        if (!found) break;
        out.push({
          hops: found.path.map((i) => this.nodes[i]!),
          rttMicros: found.cost,
          diverse: ctx.diverse,
        });
        for (const i of found.path) if (i !== dest) ctx.used[i] = 1;
      }
    } finally {
      if (source >= 0) {
        for (let e = this.offsets[source]!; e < this.offsets[source + 1]!; e++) {
          this.isNeighbour[this.peers[e]!] = 0;
        }
      }
    }
    if (out.length === 0)
      throw new DirectoryError('DIRECTORY_NO_ROUTE', 'no path satisfies the query');
    return out;
  }

  /**
   * Lower bounds for one target set: lb[h][v] = cheapest cost from v to a
   * target over exactly h links whose inner nodes are relays (nodes at
   * h ≥ 1 are relays themselves). Exclusions and expiry are ignored here, so
   * the table stays a valid lower bound for every query with these targets
   * and is cached per graph; the search checks them per node.
   */
  private bounds(cacheKey: string, targets: () => number[], maxHops: number): Bounds {
    const cached = this.boundsCache.get(cacheKey);
    if (cached && cached.lb.length >= maxHops) {
      this.boundsCache.delete(cacheKey); // LRU: move to the end
      this.boundsCache.set(cacheKey, cached);
      return cached;
    }
    const lb: Float64Array[] = [];
    const touched: number[][] = [];
    const lb0 = this.table();
    const t0 = targets();
    for (const i of t0) lb0[i] = 0;
    lb.push(lb0);
    touched.push(t0);
    for (let h = 1; h < maxHops; h++) {
      const prev = lb[h - 1]!;
      const cur = this.table();
      const t: number[] = [];
      for (const u of touched[h - 1]!) {
        const base = prev[u]!;
        for (let e = this.offsets[u]!; e < this.offsets[u + 1]!; e++) {
          const v = this.peers[e]!;
          if (!this.relay[v]) continue;
          const c = base + this.rtts[e]!;
          if (c < cur[v]!) {
            if (cur[v] === INF) t.push(v);
            cur[v] = c;
          }
        }
      }
      lb.push(cur);
      touched.push(t);
    }
    const b: Bounds = { lb, touched, sorted: [] };
    if (this.boundsCache.size >= BOUNDS_CACHE) {
      const oldKey = this.boundsCache.keys().next().value as string;
      const old = this.boundsCache.get(oldKey)!;
      this.boundsCache.delete(oldKey);
      // Recycle its tables: reset only the entries it touched (few for one destination).
      for (let h = 0; h < old.lb.length; h++) {
        const t = old.lb[h]!;
        for (const i of old.touched[h]!) t[i] = INF;
        this.freeTables.push(t);
      }
    }
    this.boundsCache.set(cacheKey, b);
    return b;
  }

  // An all-INF table of one value per node, recycled when possible (a fresh
  // one per query would make the garbage collector the main cost).
  private table(): Float64Array {
    return this.freeTables.pop() ?? new Float64Array(this.nodes.length).fill(INF);
  }

  // touched[h] sorted by lb[h], computed once per table and level.
  private sortedLevel(b: Bounds, h: number): Int32Array {
    let s = b.sorted[h];
    if (!s) {
      const lb = b.lb[h]!;
      s = Int32Array.from(b.touched[h]!).sort((x, y) => lb[x]! - lb[y]! || x - y);
      b.sorted[h] = s;
    }
    return s;
  }

  private groupsOf(i: number): number[] {
    return Array.from(this.groups.subarray(this.groupOffsets[i]!, this.groupOffsets[i + 1]!));
  }

  // One path: the cheapest over the allowed hop counts, then (spread > 0) a
  // random one within the band.
  private pick(ctx: Search): { path: number[]; cost: number } | null {
    const { q } = ctx;
    const best: { path: number[]; cost: number }[] = [];
    let min = INF;
    for (let h = q.minHops; h <= q.maxHops; h++) {
      const r = this.search(ctx, h, INF, null);
      if (r) {
        best.push(r);
        min = Math.min(min, r.cost);
      }
    }
    if (best.length === 0) return null;
    if (q.spread === 0) {
      // Cheapest; on a tie the longer path (more hops, same latency).
      let chosen = best[0]!;
      for (const b of best) if (b.cost <= chosen.cost) chosen = b;
      return chosen;
    }
    const budget = min * (1 + q.spread);
    const eligible = best.filter((b) => b.cost <= budget);
    const chosen = eligible[Math.floor(q.random() * eligible.length)]!;
    return this.search(ctx, chosen.path.length, budget, q.random) ?? chosen;
  }

  /**
   * Depth-first search for a simple path of `hops` hops. Deterministic
   * (random = null): branch and bound for the cheapest, candidates in cost
   * order. Randomised: the first path found within `budget`, candidates in
   * random order.
   */
  private search(
    ctx: Search,
    hops: number,
    budget: number,
    random: (() => number) | null,
  ): { path: number[]; cost: number } | null {
    const { b, used, dest, diverse } = ctx;
    const banned = this.banned;
    const path: number[] = [];
    const groupsUsed: number[] = [...ctx.sourceGroups];
    let bestCost = budget;
    let bestPath: number[] | null = null;
    let steps = 0;

    const allowed = (v: number, remaining: number): boolean => {
      if (banned[v] || used[v] || path.includes(v)) return false;
      if (v === dest && remaining > 0) return false; // the destination is only the last hop
      if (remaining > 0 && !this.relay[v]) return false;
      if (diverse) {
        for (let g = this.groupOffsets[v]!; g < this.groupOffsets[v + 1]!; g++) {
          if (groupsUsed.includes(this.groups[g]!)) return false;
        }
      }
      return true;
    };
    const within = (f: number): boolean => (random ? f <= bestCost : f < bestCost);

    // Tries v as the next hop at `cost` with `remaining` links still to go.
    // Returns true to stop the whole search.
    const visit = (v: number, cost: number, remaining: number): boolean => {
      if (++steps > MAX_STEPS || --ctx.stepsLeft < 0) return true;
      if (!allowed(v, remaining)) return false;
      path.push(v);
      const gFrom = groupsUsed.length;
      for (let g = this.groupOffsets[v]!; g < this.groupOffsets[v + 1]!; g++) {
        groupsUsed.push(this.groups[g]!);
      }
      let stop = false;
      if (remaining === 0) {
        if (within(cost)) {
          bestCost = cost;
          bestPath = [...path];
          stop = random !== null;
        }
      } else {
        const lb = b.lb[remaining - 1]!;
        const cand: number[] = [];
        const f: number[] = [];
        for (let e = this.offsets[v]!; e < this.offsets[v + 1]!; e++) {
          const fw = cost + this.rtts[e]! + lb[this.peers[e]!]!;
          if (fw === INF || !within(fw)) continue;
          cand.push(e);
          f.push(fw);
        }
        for (const j of ordered(cand.length, f, random)) {
          if (!within(f[j]!)) {
            if (random) continue;
            break; // cost order: nothing after is cheaper
          }
          const e = cand[j]!;
          if (visit(this.peers[e]!, cost + this.rtts[e]!, remaining - 1)) {
            stop = true;
            break;
          }
        }
      }
      groupsUsed.length = gFrom;
      path.pop();
      return stop || steps > MAX_STEPS || ctx.stepsLeft < 0;
    };

    // First hops: the source's neighbours at their link's cost, everyone
    // else at firstConst; both in order of f = first cost + bound.
    const level = hops - 1;
    const lbFirst = b.lb[level]!;
    const near: number[] = [];
    const nearF: number[] = [];
    const src = ctx.source;
    if (src >= 0) {
      for (let e = this.offsets[src]!; e < this.offsets[src + 1]!; e++) {
        const v = this.peers[e]!;
        const fv = this.rtts[e]! + lbFirst[v]!;
        if (fv === INF || !within(fv)) continue;
        near.push(v);
        nearF.push(fv);
      }
    }
    const far = this.sortedLevel(b, level);
    const fc = ctx.firstConst;
    const firstCost = (v: number): number =>
      this.isNeighbour[v] ? nearF[near.indexOf(v)]! - lbFirst[v]! : fc;
    if (random) {
      // Everything within the budget, tried in random order.
      const pool = [...near];
      for (let i = 0; i < far.length && fc + lbFirst[far[i]!]! <= bestCost; i++) {
        if (!this.isNeighbour[far[i]!]) pool.push(far[i]!);
      }
      for (const j of ordered(pool.length, [], random)) {
        const v = pool[j]!;
        if (visit(v, firstCost(v), level)) break;
      }
    } else {
      const nearOrder = byCost(near.length, nearF);
      let i = 0;
      let j = 0;
      for (;;) {
        while (j < far.length && this.isNeighbour[far[j]!]) j++;
        const fNear = i < nearOrder.length ? nearF[nearOrder[i]!]! : INF;
        const fFar = j < far.length ? fc + lbFirst[far[j]!]! : INF;
        if (!within(Math.min(fNear, fFar))) break;
        const v = fNear <= fFar ? near[nearOrder[i++]!]! : far[j++]!;
        if (visit(v, firstCost(v), level)) break;
      }
    }
    const found = bestPath as number[] | null;
    return found ? { path: found, cost: bestCost } : null;
  }
}

interface Bounds {
  lb: Float64Array[];
  touched: number[][];
  sorted: Int32Array[];
}

interface Search {
  q: Normalised;
  b: Bounds;
  used: Uint8Array;
  dest: number;
  source: number;
  firstConst: number;
  sourceGroups: number[];
  diverse: boolean;
  /** Search steps this query may still take (MAX_QUERY_STEPS). */
  stepsLeft: number;
}

const BOUNDS_CACHE = 32;

// Candidate order: by f (then position) when deterministic; otherwise a
// random permutation drawn lazily (Fisher-Yates), as searches stop early.
function* ordered(n: number, f: number[], random: (() => number) | null): Generator<number> {
  if (!random) {
    yield* byCost(n, f);
    return;
  }
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (n - i));
    const t = order[j]!;
    order[j] = order[i]!;
    order[i] = t;
    yield t;
  }
}

function byCost(n: number, f: number[]): number[] {
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => f[a]! - f[b]! || a - b);
}

interface Normalised {
  source: string | null;
  destKey: string | null;
  exit: { host: string; port: number } | null;
  minHops: number;
  maxHops: number;
  k: number;
  exclude: string[];
  spread: number;
  now: number;
  unknownRtt: number;
  random: () => number;
}

function bad(field: string, why: string): never {
  throw new DirectoryError('DIRECTORY_BAD_QUERY', `${field}: ${why}`, { field });
}

function nodeKey(v: unknown, field: string): string {
  if (v instanceof Uint8Array) {
    if (v.length !== 32) bad(field, 'a key is 32 bytes');
    return keyHex(v);
  }
  if (typeof v !== 'string') bad(field, 'an address or a key');
  try {
    return keyHex(parseAddress(v));
  } catch {
    return bad(field, 'not a valid address');
  }
}

function intIn(v: unknown, lo: number, hi: number, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    bad(field, `an integer in ${lo}..${hi}`);
  }
  return v;
}

function normalise(q: RouteQuery): Normalised {
  if (typeof q !== 'object' || q === null) bad('query', 'not an object');
  const minHops = intIn(q.minHops ?? 3, 1, MAX_HOPS, 'minHops');
  const maxHops = intIn(q.maxHops ?? Math.max(minHops, 3), minHops, MAX_HOPS, 'maxHops');
  const k = intIn(q.k ?? 1, 1, MAX_PATHS, 'k');
  const spread = q.spread ?? DEFAULT_SPREAD;
  if (typeof spread !== 'number' || !(spread >= 0 && spread <= 10)) bad('spread', 'in 0..10');
  const exclude = q.exclude ?? [];
  if (!Array.isArray(exclude) || exclude.length > MAX_EXCLUDE) {
    bad('exclude', `a list of at most ${MAX_EXCLUDE}`);
  }
  const d = q.destination as Partial<{ address: unknown; exit: unknown }> | undefined;
  let destKey: string | null = null;
  let exit: { host: string; port: number } | null = null;
  if (d && 'address' in d && d.address !== undefined) destKey = nodeKey(d.address, 'destination');
  else if (d && typeof d.exit === 'object' && d.exit !== null) {
    const e = d.exit as { host?: unknown; port?: unknown };
    if (typeof e.host !== 'string' || e.host.length === 0 || e.host.length > 255) {
      bad('destination.exit.host', 'a host');
    }
    exit = { host: e.host, port: intIn(e.port, 1, 65535, 'destination.exit.port') };
  } else bad('destination', 'needs an address or an exit');
  const unknownRtt = q.unknownRttMicros ?? DEFAULT_UNKNOWN_RTT_MICROS;
  if (typeof unknownRtt !== 'number' || !(unknownRtt >= 0)) bad('unknownRttMicros', 'not ≥ 0');
  return {
    source: q.source === undefined ? null : nodeKey(q.source, 'source'),
    destKey,
    exit,
    minHops,
    maxHops,
    k,
    exclude: exclude.map((x) => nodeKey(x, 'exclude')),
    spread,
    now: q.now ?? Math.floor(Date.now() / 1000),
    unknownRtt,
    random: q.random ?? cryptoRandom,
  };
}

// Uniform [0, 1) from the platform CSPRNG, drawn 256 values at a time.
const pool = new Uint32Array(256);
let poolAt = pool.length;
function cryptoRandom(): number {
  if (poolAt >= pool.length) {
    globalThis.crypto.getRandomValues(pool);
    poolAt = 0;
  }
  return pool[poolAt++]! / 0x1_0000_0000;
}

const ZERO_NONCE = new Uint8Array(12);
const SEEDED_BLOCK = 256;

/**
 * Uniform [0, 1) numbers drawn deterministically from a 32-byte seed: the
 * ChaCha20 keystream of (seed, zero nonce), 32 bits per number. The route
 * server passes one seeded by its secret, the query digest and the version
 * as `random`, so the same query on the same version gets the same paths
 * (docs/route-server.md §Signed route answers). Never reuse a seed for
 * anything else.
 * @throws CryptoError CRYPTO_BAD_LENGTH for a seed that is not 32 bytes.
 */
export function keyedRandom(seed: Uint8Array): () => number {
  const key = seed.slice();
  const zeros = new Uint8Array(SEEDED_BLOCK);
  const bytes = new Uint8Array(SEEDED_BLOCK);
  const words = new DataView(bytes.buffer);
  chacha20Xor(bytes, key, ZERO_NONCE, 0, zeros);
  let counter = SEEDED_BLOCK / 64;
  let at = 0;
  return () => {
    if (at >= SEEDED_BLOCK) {
      chacha20Xor(bytes, key, ZERO_NONCE, counter, zeros);
      counter += SEEDED_BLOCK / 64;
      at = 0;
    }
    const v = words.getUint32(at, false);
    at += 4;
    return v / 0x1_0000_0000;
  };
}

/** One-off query over a state (builds a RouteGraph; reuse one for many queries). */
export function findRoutes(state: DirectoryState, query: RouteQuery): RoutePath[] {
  return RouteGraph.from(state).find(query);
}
