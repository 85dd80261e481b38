/**
 * A node's (or any app's) verified copy of a route server's directory, kept
 * current with snapshots and diffs fetched over whatever transport the
 * caller has (HTTP, a stream through the mesh), and queried locally with
 * the same route finding the server runs. This is how a node picks routes
 * when no route server is reachable, or when it prefers not to ask.
 *
 *   const replica = new DirectoryReplica({ serverKey });
 *   replica.loadSnapshot(await get('/v1/snapshot'));
 *   // later:
 *   if (!replica.loadDiff(await get(`/v1/diff?since=${replica.version}`)))
 *     replica.loadSnapshot(await get('/v1/snapshot'));
 *   const [path] = replica.find({ source: myAddress, destination: { address } });
 */
import { DirectoryError } from './errors.js';
import { RouteGraph, type RoutePath, type RouteQuery } from './routes.js';
import { applyDiff, stateFromSnapshot, verifyDiff, verifySnapshot } from './snapshot.js';
import type { DirectoryState } from './state.js';

/** Options of a DirectoryReplica. */
export interface ReplicaOptions {
  /** The route server's public key this replica trusts. */
  serverKey: Uint8Array;
  /** Check every descriptor's node signature (≈ 0.2 ms each). @default true */
  verifyDescriptors?: boolean;
  /** Refuse snapshots issued more than this many seconds ago. @default no limit */
  maxAge?: number;
  /** Unix-seconds clock. @default Date.now() / 1000 */
  now?: () => number;
}

export class DirectoryReplica {
  private current: DirectoryState | null = null;
  private cachedGraph: RouteGraph | null = null;
  private signedAt: number | null = null;

  constructor(private readonly opts: ReplicaOptions) {}

  /** The version held, or null before the first snapshot. */
  get version(): number | null {
    return this.current?.version ?? null;
  }

  /**
   * The newest signing time (Unix seconds) of a snapshot or diff that brought
   * or confirmed the copy held (an empty diff at the version held counts), or
   * null without a copy: how current the route server vouched the copy was.
   */
  get issuedAt(): number | null {
    return this.current ? this.signedAt : null;
  }

  /** The state held (read only), or null before the first snapshot. */
  get state(): DirectoryState | null {
    return this.current;
  }

  private verifyOptions() {
    return {
      serverKey: this.opts.serverKey,
      verifyDescriptors: this.opts.verifyDescriptors ?? true,
      maxAge: this.opts.maxAge,
      now: this.now(),
    };
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Math.floor(Date.now() / 1000);
  }

  /**
   * Verifies a snapshot and takes it, unless it is older than the copy held.
   * @throws DirectoryError DIRECTORY_BAD_SIGNATURE | DIRECTORY_WRONG_SERVER | DIRECTORY_BAD_DESCRIPTOR |
   *   DIRECTORY_STALE | DIRECTORY_ROLLBACK | DIRECTORY_TOO_LARGE; ProtocolError DECODE_*
   */
  loadSnapshot(bytes: Uint8Array): void {
    const snap = verifySnapshot(bytes, this.verifyOptions());
    if (this.current && snap.version < this.current.version) {
      throw new DirectoryError('DIRECTORY_ROLLBACK', 'snapshot older than the copy held', {
        version: snap.version,
        held: this.current.version,
      });
    }
    const same = this.current?.version === snap.version;
    this.current = stateFromSnapshot(snap);
    this.cachedGraph = null;
    this.signedAt = same ? Math.max(this.signedAt ?? 0, snap.issuedAt) : snap.issuedAt;
  }

  /**
   * Verifies a diff and applies it. Returns false when it does not start at
   * the version held (fetch a snapshot then); a diff that would go back is
   * refused. A diff that fails half-way drops the copy (reload a snapshot).
   * @throws DirectoryError DIRECTORY_BAD_SIGNATURE | DIRECTORY_WRONG_SERVER | DIRECTORY_BAD_DESCRIPTOR |
   *   DIRECTORY_ROLLBACK | DIRECTORY_TOO_LARGE; ProtocolError DECODE_*
   */
  loadDiff(bytes: Uint8Array): boolean {
    const diff = verifyDiff(bytes, this.verifyOptions());
    const held = this.current;
    if (!held) return false;
    if (diff.toVersion < held.version) {
      throw new DirectoryError('DIRECTORY_ROLLBACK', 'diff ends before the version held', {
        toVersion: diff.toVersion,
        held: held.version,
      });
    }
    if (diff.fromVersion !== held.version) return false;
    if (diff.toVersion !== held.version) {
      try {
        applyDiff(held, diff);
      } catch (err) {
        this.current = null;
        this.cachedGraph = null;
        if (err instanceof DirectoryError && err.code === 'DIRECTORY_DIFF_MISMATCH') return false;
        throw err;
      }
    }
    this.signedAt = Math.max(this.signedAt ?? 0, diff.issuedAt);
    return true;
  }

  /** The route graph of the version held. @throws DirectoryError DIRECTORY_NO_ROUTE before any snapshot */
  graph(): RouteGraph {
    if (!this.current) {
      throw new DirectoryError('DIRECTORY_NO_ROUTE', 'no directory loaded yet');
    }
    if (!this.cachedGraph || this.cachedGraph.version !== this.current.version) {
      this.cachedGraph = RouteGraph.from(this.current);
    }
    return this.cachedGraph;
  }

  /**
   * Route finding over the copy held, at the replica's clock.
   * @throws DirectoryError DIRECTORY_BAD_QUERY | DIRECTORY_NO_ROUTE
   */
  find(query: RouteQuery): RoutePath[] {
    return this.graph().find({ now: this.now(), ...query });
  }
}
