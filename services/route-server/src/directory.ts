/**
 * The route server's core, without HTTP: holds the directory, takes signed
 * descriptors and link reports (verifying each), ages nodes and reports
 * out, answers route queries and serves signed snapshots and diffs. The
 * fastify app (app.ts) and the mirror sync (mirror.ts) drive it; the
 * benchmark calls it directly.
 */
import { ed25519PublicKey, encodeAddress, hkdf, hmac, toHex, utf8 } from '@skymesh/crypto';
import { type NodeDescriptor, verifyDescriptor } from '@skymesh/protocol';
import {
  applyDiff,
  type Diff,
  DirectoryError,
  DirectoryState,
  encodeDiff,
  encodeSnapshot,
  keyedRandom,
  keyHex,
  ReportBook,
  RouteGraph,
  type RoutePath,
  type RouteQuery,
  type Snapshot,
  signRouteAnswer,
  stateFromSnapshot,
  verifyLinkReport,
} from '@skymesh/protocol/directory';
import { RouteServerError } from './errors.js';
import { DEFAULT_LIMITS, SybilGuard, type SybilLimits } from './limits.js';

const ROUTE_RANDOM_INFO = 'skymesh route answer randomness v1';

/** Options of a DirectoryService. */
export interface DirectoryServiceOptions {
  /** The server's Ed25519 seed (32 bytes): signs snapshots and diffs. */
  key: Uint8Array;
  /** Seconds a descriptor is held after it was published, unless refreshed. @default 10800 */
  descriptorTtl?: number;
  /** Seconds a link report counts after its issue time. @default 1800 */
  reportTtl?: number;
  /** Seconds of clock difference tolerated on descriptors and reports. @default 300 */
  clockSkew?: number;
  /** Removals remembered for diffs. @default 200000 */
  maxTombstones?: number;
  limits?: SybilLimits;
  /** A new snapshot is signed at most this often (ms); meanwhile the last one is served. @default 1000 */
  snapshotMinIntervalMs?: number;
  /**
   * A cached snapshot or diff is signed again once it is this old (ms), even
   * when nothing changed, so its signed time tells nodes the copy is current
   * (they flag a copy whose signed time falls behind; docs/node.md). @default 60000
   */
  resignAfterMs?: number;
  /** The route graph is rebuilt at most this often (ms); meanwhile queries use the last one. @default 1000 */
  graphMinIntervalMs?: number;
  /** Mirror mode: descriptors and reports come only from the upstream. @default false */
  readOnly?: boolean;
  /** Clock in milliseconds. @default Date.now */
  clock?: () => number;
  /**
   * Version of the empty directory at start. The default, the clock in
   * milliseconds, keeps versions increasing across restarts (state is in
   * memory), so clients and mirrors of a restarted server get
   * DIRECTORY_DIFF_UNAVAILABLE and reload, instead of a rollback.
   * @default clock()
   */
  initialVersion?: number;
}

/** Counters for /metrics. */
export interface DirectoryCounters {
  descriptorsAccepted: number;
  descriptorsUnchanged: number;
  reportsAccepted: number;
  rejected: Map<string, number>;
  routeQueries: number;
  routeFailures: number;
  snapshotsSigned: number;
  diffsSigned: number;
  nodesExpired: number;
  reportsExpired: number;
}

/** Result of publishing a descriptor. */
export interface PublishResult {
  address: string;
  /** False when the same descriptor was already held (nothing changed). */
  changed: boolean;
  /** Unix seconds after which the server drops the node unless it publishes again. */
  heldUntil: number;
  version: number;
}

export class DirectoryService {
  readonly publicKey: Uint8Array;
  readonly readOnly: boolean;
  readonly guard: SybilGuard;
  readonly counters: DirectoryCounters = {
    descriptorsAccepted: 0,
    descriptorsUnchanged: 0,
    reportsAccepted: 0,
    rejected: new Map(),
    routeQueries: 0,
    routeFailures: 0,
    snapshotsSigned: 0,
    diffsSigned: 0,
    nodesExpired: 0,
    reportsExpired: 0,
  };
  private stateNow: DirectoryState;
  private book: ReportBook;
  private readonly seed: Uint8Array;
  // Keys the randomisation of signed answers (answerRoute); derived from the seed.
  private readonly routeKey: Uint8Array;
  private readonly descriptorTtl: number;
  private readonly reportTtl: number;
  private readonly clockSkew: number;
  private readonly maxTombstones: number;
  private readonly snapshotEvery: number;
  private readonly graphEvery: number;
  private readonly resignAfter: number;
  private readonly clock: () => number;
  // Publish time (Unix seconds) of every held node, for the descriptor TTL.
  private readonly received = new Map<string, number>();
  private graphCache: { graph: RouteGraph; at: number } | null = null;
  private snapshotCache: { bytes: Uint8Array; version: number; at: number } | null = null;
  private diffCache = new Map<number, Uint8Array>();
  private diffCacheVersion = -1;
  private diffCacheAt = 0;
  private readonly listeners = new Set<(version: number) => void>();

  constructor(opts: DirectoryServiceOptions) {
    this.seed = opts.key.slice();
    this.publicKey = ed25519PublicKey(this.seed);
    this.routeKey = hkdf('sha256', this.seed, undefined, utf8(ROUTE_RANDOM_INFO), 32);
    this.readOnly = opts.readOnly ?? false;
    this.descriptorTtl = opts.descriptorTtl ?? 10_800;
    this.reportTtl = opts.reportTtl ?? 1800;
    this.clockSkew = opts.clockSkew ?? 300;
    this.maxTombstones = opts.maxTombstones ?? 200_000;
    this.snapshotEvery = opts.snapshotMinIntervalMs ?? 1000;
    this.graphEvery = opts.graphMinIntervalMs ?? 1000;
    this.resignAfter = opts.resignAfterMs ?? 60_000;
    this.clock = opts.clock ?? Date.now;
    this.guard = new SybilGuard(opts.limits ?? DEFAULT_LIMITS);
    this.stateNow = new DirectoryState({ maxTombstones: this.maxTombstones });
    const start = opts.initialVersion ?? this.clock();
    this.stateNow.commitAs(start);
    this.stateNow.setHorizon(start);
    this.book = this.newBook();
  }

  /** The directory as it is now (read it, do not mutate it). */
  get state(): DirectoryState {
    return this.stateNow;
  }

  /** Reports held. */
  get reportCount(): number {
    return this.book.size;
  }

  /** The server's address (encodeAddress of its key). */
  get address(): string {
    return encodeAddress(this.publicKey);
  }

  /** Unix seconds by the service clock. */
  now(): number {
    return Math.floor(this.clock() / 1000);
  }

  /** Calls `fn` after every new version. Returns an unsubscribe function. */
  onVersion(fn: (version: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Charges one request to a source IP. @throws RouteServerError RS_RATE_LIMITED */
  charge(ip: string): void {
    this.guard.request(ip, this.clock());
  }

  /**
   * Verifies and stores a signed descriptor published from `ip`.
   * @throws ProtocolError DESCRIPTOR_BAD_SIGNATURE | DESCRIPTOR_EXPIRED | DESCRIPTOR_NOT_YET_VALID |
   *   DESCRIPTOR_TOO_LARGE | DECODE_*; DirectoryError DIRECTORY_DESCRIPTOR_REPLAYED;
   *   RouteServerError RS_TOO_MANY_NODES | RS_READ_ONLY
   */
  publishDescriptor(bytes: Uint8Array, ip: string): PublishResult {
    return this.counted(() => {
      this.writable();
      const now = this.now();
      const desc: NodeDescriptor = verifyDescriptor(bytes, { now, clockSkew: this.clockSkew });
      const key = keyHex(desc.publicKey);
      this.guard.checkNode(key, ip);
      const changed = this.stateNow.putNode(desc, bytes.slice());
      if (changed) {
        this.received.set(key, now);
        this.counters.descriptorsAccepted++;
      } else this.counters.descriptorsUnchanged++;
      this.guard.claim(key, ip);
      const version = this.commit();
      const from = this.received.get(key) ?? now;
      return {
        address: encodeAddress(desc.publicKey),
        changed,
        heldUntil: Math.min(desc.expiresAt, from + this.descriptorTtl),
        version,
      };
    });
  }

  /**
   * Verifies and ingests a signed link report.
   * @throws DirectoryError DIRECTORY_BAD_SIGNATURE | DIRECTORY_UNKNOWN_NODE | DIRECTORY_REPORT_STALE |
   *   DIRECTORY_REPORT_REPLAYED | DIRECTORY_TOO_LARGE; ProtocolError DECODE_*; RS_READ_ONLY
   */
  publishReport(bytes: Uint8Array): { confirmed: number; version: number } {
    return this.counted(() => {
      this.writable();
      const report = verifyLinkReport(bytes);
      const r = this.book.ingest(report, this.now());
      this.counters.reportsAccepted++;
      return { confirmed: r.confirmed, version: this.commit() };
    });
  }

  /**
   * Answers a route query over the current graph.
   * @throws DirectoryError DIRECTORY_BAD_QUERY | DIRECTORY_NO_ROUTE
   */
  route(query: RouteQuery): RoutePath[] {
    return this.routeOn(this.graph(), query);
  }

  /**
   * Answers a route query and signs the answer with the server's key, bound
   * to `queryDigest` (routeQueryDigest of the query as received, nonce
   * included) and the version (docs/route-server.md §Signed route answers).
   * A mirror signs with its own key.
   *
   * The paths' randomisation is drawn from keyedRandom(HMAC-SHA-256(a key
   * derived from the seed, queryDigest)), not from the CSPRNG: the same
   * query (same nonce) on the same version gets byte-identical paths, so
   * whoever carries queries cannot re-send one until the paths suit it.
   * The version is left out on purpose: a query held across a new version
   * replays the same draws, so the paths change only where the graph did.
   * Another nonce draws independently; without the seed, unpredictably.
   * @throws DirectoryError DIRECTORY_BAD_QUERY | DIRECTORY_NO_ROUTE
   */
  answerRoute(
    query: RouteQuery,
    queryDigest: Uint8Array,
  ): { version: number; paths: RoutePath[]; signature: Uint8Array } {
    const graph = this.graph();
    const paths = this.routeOn(graph, {
      ...query,
      random: keyedRandom(hmac('sha256', this.routeKey, queryDigest)),
    });
    const signature = signRouteAnswer(
      this.seed,
      { queryDigest, version: graph.version },
      paths.map((p) => ({
        rttMicros: p.rttMicros,
        diverse: p.diverse,
        hops: p.hops.map((h) => ({ publicKey: h.desc.publicKey, bytes: h.bytes })),
      })),
    );
    return { version: graph.version, paths, signature };
  }

  private routeOn(graph: RouteGraph, query: RouteQuery): RoutePath[] {
    this.counters.routeQueries++;
    try {
      return graph.find({ ...query, now: this.now() });
    } catch (err) {
      this.counters.routeFailures++;
      throw this.reject(err);
    }
  }

  /** The route graph of the current (or a recent) version. */
  graph(): RouteGraph {
    const now = this.clock();
    const c = this.graphCache;
    if (!c || (c.graph.version !== this.stateNow.version && now - c.at >= this.graphEvery)) {
      this.graphCache = { graph: RouteGraph.from(this.stateNow), at: now };
    }
    return this.graphCache!.graph;
  }

  /** The signed snapshot of the current (or a recent) version. */
  snapshot(): { bytes: Uint8Array; version: number } {
    const now = this.clock();
    const c = this.snapshotCache;
    if (
      !c ||
      (c.version !== this.stateNow.version && now - c.at >= this.snapshotEvery) ||
      now - c.at >= this.resignAfter
    ) {
      const bytes = encodeSnapshot(this.stateNow, this.seed, this.now());
      this.counters.snapshotsSigned++;
      this.snapshotCache = { bytes, version: this.stateNow.version, at: now };
    }
    const s = this.snapshotCache!;
    return { bytes: s.bytes, version: s.version };
  }

  /**
   * The signed diff from `since` to the current version.
   * @throws DirectoryError DIRECTORY_DIFF_UNAVAILABLE
   */
  diff(since: number): Uint8Array {
    const v = this.stateNow.version;
    const now = this.clock();
    if (this.diffCacheVersion !== v || now - this.diffCacheAt >= this.resignAfter) {
      this.diffCache.clear();
      this.diffCacheVersion = v;
      this.diffCacheAt = now;
    }
    let bytes = this.diffCache.get(since);
    if (!bytes) {
      bytes = encodeDiff(this.stateNow, since, this.seed, this.now());
      this.counters.diffsSigned++;
      if (this.diffCache.size >= 64) this.diffCache.delete(this.diffCache.keys().next().value!);
      this.diffCache.set(since, bytes);
    }
    return bytes;
  }

  /**
   * Drops nodes past their descriptor's expiry or the server's TTL, and
   * reports past their TTL. Mirrors follow their upstream instead.
   */
  expire(): number {
    if (this.readOnly) return this.stateNow.version;
    const now = this.now();
    for (const node of [...this.stateNow.nodes()]) {
      const from = this.received.get(node.key) ?? now;
      if (node.desc.expiresAt <= now || from + this.descriptorTtl <= now) this.dropNode(node.key);
    }
    this.counters.reportsExpired += this.book.expire(now);
    return this.commit();
  }

  /** Mirror: replaces the whole directory by a verified upstream snapshot. */
  adoptSnapshot(snap: Snapshot): void {
    if (snap.version < this.stateNow.version) {
      throw this.reject(
        new DirectoryError('DIRECTORY_ROLLBACK', 'upstream snapshot older than the copy held', {
          version: snap.version,
          held: this.stateNow.version,
        }),
      );
    }
    this.stateNow = stateFromSnapshot(snap, { maxTombstones: this.maxTombstones });
    this.book = this.newBook();
    // A new state object may repeat a version number: never serve caches of the old one.
    this.graphCache = null;
    this.snapshotCache = null;
    this.diffCacheVersion = -1;
    this.changed();
  }

  /** Mirror: applies a verified upstream diff (reloading is the caller's business on error). */
  adoptDiff(diff: Diff): void {
    if (diff.fromVersion === diff.toVersion && diff.toVersion === this.stateNow.version) return;
    applyDiff(this.stateNow, diff);
    this.changed();
  }

  /** One line per field for /health. */
  summary(): Record<string, number | string | boolean> {
    return {
      version: this.stateNow.version,
      nodes: this.stateNow.nodeCount,
      links: this.stateNow.linkCount,
      reports: this.book.size,
      publicKey: toHex(this.publicKey),
      readOnly: this.readOnly,
    };
  }

  private newBook(): ReportBook {
    return new ReportBook(this.stateNow, { reportTtl: this.reportTtl, clockSkew: this.clockSkew });
  }

  private dropNode(key: string): void {
    this.book.forget(key);
    this.stateNow.removeNode(key);
    this.received.delete(key);
    this.guard.release(key);
    this.counters.nodesExpired++;
  }

  private commit(): number {
    const dirty = this.stateNow.uncommitted;
    const v = this.stateNow.commit();
    if (dirty) this.changed();
    return v;
  }

  private changed(): void {
    const v = this.stateNow.version;
    for (const fn of this.listeners) fn(v);
  }

  private writable(): void {
    if (this.readOnly) {
      throw new RouteServerError('RS_READ_ONLY', 'this route server is a read-only mirror');
    }
  }

  private counted<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.reject(err);
    }
  }

  private reject(err: unknown): unknown {
    const code = (err as { code?: unknown })?.code;
    if (typeof code === 'string') {
      this.counters.rejected.set(code, (this.counters.rejected.get(code) ?? 0) + 1);
    }
    return err;
  }
}
