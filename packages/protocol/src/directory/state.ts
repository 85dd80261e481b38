/**
 * The directory as a versioned set: signed node descriptors and confirmed
 * links between them. The route server holds one as the authority; mirrors
 * and nodes hold copies built from a snapshot and kept current with diffs.
 *
 * Versioning: mutations are stamped with the next version and made visible
 * by commit(), which bumps `version` once for the whole batch. Removals
 * leave tombstones stamped the same way, so "everything that changed since
 * v" is the entries and tombstones stamped above v. Tombstones are kept up
 * to a cap; the highest pruned stamp becomes `horizon`, below which a diff
 * can no longer be computed (the caller downloads a snapshot instead).
 */
import type { NodeDescriptor } from '../descriptor/descriptor.js';
import { encodeDescriptor } from '../descriptor/descriptor.js';
import { keyHex } from './_bytes.js';
import { DirectoryError } from './errors.js';

/** One node in the directory. */
export interface DirectoryNode {
  /** Lowercase hex of the node's public key. */
  readonly key: string;
  readonly desc: NodeDescriptor;
  /** The descriptor's signed encoding, served as is. */
  readonly bytes: Uint8Array;
  /** Version at which this entry last changed. */
  readonly changed: number;
}

/** One confirmed link; `a` < `b` (hex order = key byte order). */
export interface DirectoryLink {
  readonly a: string;
  readonly b: string;
  /** Round trip in microseconds (the larger of the two ends' measurements). */
  readonly rttMicros: number;
  /** KiB/s (the smaller of the two ends' figures). */
  readonly capacity: number;
  readonly changed: number;
}

/** Options of a DirectoryState. */
export interface DirectoryStateOptions {
  /** Removals remembered for diffs; older ones are forgotten. @default 200000 */
  maxTombstones?: number;
}

/** The map key of the link between two hex keys, in either order. */
export function linkId(x: string, y: string): string {
  return x < y ? x + y : y + x;
}

export class DirectoryState {
  /** Version of the last commit. 0 = empty, never committed. */
  version = 0;
  /** Diffs are available only since versions ≥ horizon. */
  horizon = 0;
  private readonly nodeMap = new Map<string, DirectoryNode>();
  // Links live in the adjacency maps only (each under both ends), which
  // saves a 128-character key per link at 100,000 links.
  private links_ = 0;
  private readonly adjacency = new Map<string, Map<string, DirectoryLink>>();
  // Insertion order = stamp order, so pruning takes from the front.
  private readonly nodeTombs = new Map<string, number>();
  private readonly linkTombs = new Map<string, number>();
  private readonly maxTombstones: number;
  private dirty = false;

  constructor(options: DirectoryStateOptions = {}) {
    this.maxTombstones = options.maxTombstones ?? 200_000;
  }

  /** Number of nodes. */
  get nodeCount(): number {
    return this.nodeMap.size;
  }

  /** Number of confirmed links. */
  get linkCount(): number {
    return this.links_;
  }

  /** True when mutations wait for commit(). */
  get uncommitted(): boolean {
    return this.dirty;
  }

  /** The node with this key (bytes or lowercase hex), if present. */
  node(key: Uint8Array | string): DirectoryNode | undefined {
    return this.nodeMap.get(typeof key === 'string' ? key : keyHex(key));
  }

  /** Every node, in no particular order. */
  nodes(): IterableIterator<DirectoryNode> {
    return this.nodeMap.values();
  }

  /** Every confirmed link, in no particular order. */
  *links(): IterableIterator<DirectoryLink> {
    for (const [key, adj] of this.adjacency) {
      for (const link of adj.values()) if (link.a === key) yield link;
    }
  }

  /** The link between two nodes (hex keys, either order), if confirmed. */
  link(x: string, y: string): DirectoryLink | undefined {
    return this.adjacency.get(x)?.get(y);
  }

  /** The links of one node, by peer hex key. */
  neighbours(key: string): ReadonlyMap<string, DirectoryLink> | undefined {
    return this.adjacency.get(key);
  }

  /** Removals stamped above `since` (hex node keys and link ids). */
  tombstonesSince(since: number): { nodes: string[]; links: string[] } {
    const pick = (m: Map<string, number>) => {
      const out: string[] = [];
      for (const [k, v] of m) if (v > since) out.push(k);
      return out;
    };
    return { nodes: pick(this.nodeTombs), links: pick(this.linkTombs) };
  }

  /**
   * Adds or replaces a node's descriptor. The caller has verified it. An
   * identical descriptor is a no-op (returns false).
   * @param bytes its signed encoding (computed when omitted)
   * @throws DirectoryError DIRECTORY_DESCRIPTOR_REPLAYED when older than the one held, or
   *   different at the same issue time
   */
  putNode(desc: NodeDescriptor, bytes: Uint8Array = encodeDescriptor(desc)): boolean {
    const key = keyHex(desc.publicKey);
    const held = this.nodeMap.get(key);
    if (held) {
      if (desc.issuedAt < held.desc.issuedAt) {
        throw new DirectoryError('DIRECTORY_DESCRIPTOR_REPLAYED', 'older than the one held', {
          issuedAt: desc.issuedAt,
          held: held.desc.issuedAt,
        });
      }
      if (desc.issuedAt === held.desc.issuedAt) {
        if (sameBytes(bytes, held.bytes)) return false;
        throw new DirectoryError(
          'DIRECTORY_DESCRIPTOR_REPLAYED',
          'another descriptor with the same issue time is held',
          { issuedAt: desc.issuedAt },
        );
      }
    }
    this.nodeMap.set(key, { key, desc, bytes, changed: this.stamp() });
    this.nodeTombs.delete(key);
    return true;
  }

  /** Removes a node and every link it has. Returns false when absent. */
  removeNode(key: string): boolean {
    if (!this.nodeMap.has(key)) return false;
    const adj = this.adjacency.get(key);
    if (adj) for (const peer of [...adj.keys()]) this.removeLink(key, peer);
    this.nodeMap.delete(key);
    this.tomb(this.nodeTombs, key);
    return true;
  }

  /**
   * Adds or updates the link between two present nodes. Returns false when
   * nothing changed.
   * @throws DirectoryError DIRECTORY_UNKNOWN_NODE when an end is absent
   */
  putLink(x: string, y: string, rttMicros: number, capacity: number): boolean {
    const nx = this.nodeMap.get(x);
    const ny = this.nodeMap.get(y);
    if (!nx || !ny || x === y) {
      throw new DirectoryError('DIRECTORY_UNKNOWN_NODE', 'a link needs two present nodes');
    }
    const held = this.link(x, y);
    if (held && held.rttMicros === rttMicros && held.capacity === capacity) return false;
    // The nodes' own key strings, so every link shares them instead of holding copies.
    const [a, b] = x < y ? [nx.key, ny.key] : [ny.key, nx.key];
    const link: DirectoryLink = { a, b, rttMicros, capacity, changed: this.stamp() };
    if (!held) this.links_++;
    if (this.linkTombs.size > 0) this.linkTombs.delete(linkId(a, b));
    this.adjacent(a).set(b, link);
    this.adjacent(b).set(a, link);
    return true;
  }

  /** Removes the link between two nodes. Returns false when absent. */
  removeLink(x: string, y: string): boolean {
    if (!this.link(x, y)) return false;
    this.links_--;
    this.dropAdjacent(x, y);
    this.dropAdjacent(y, x);
    this.tomb(this.linkTombs, linkId(x, y));
    return true;
  }

  /** Makes the pending mutations one new version. Returns the current version. */
  commit(): number {
    if (this.dirty) {
      this.version++;
      this.dirty = false;
    }
    return this.version;
  }

  /**
   * Sets the version after loading a snapshot or applying a diff, whose
   * mutations were stamped with `version` (see stampAs).
   * @throws DirectoryError DIRECTORY_ROLLBACK when `version` is below the current one
   */
  commitAs(version: number): void {
    if (version < this.version) {
      throw new DirectoryError('DIRECTORY_ROLLBACK', 'version would go back', {
        version,
        held: this.version,
      });
    }
    this.version = version;
    this.dirty = false;
    this.pendingStamp = undefined;
  }

  /** Stamps the following mutations with `version` instead of version + 1 (diff application). */
  stampAs(version: number): void {
    this.pendingStamp = version;
  }

  /** After a snapshot load: no diff can reach back before `version`. */
  setHorizon(version: number): void {
    this.horizon = Math.max(this.horizon, version);
  }

  private pendingStamp: number | undefined;

  private stamp(): number {
    this.dirty = true;
    return this.pendingStamp ?? this.version + 1;
  }

  private tomb(map: Map<string, number>, key: string): void {
    map.delete(key);
    map.set(key, this.stamp());
    // Forget the oldest removals beyond the cap; diffs from before them become unavailable.
    while (this.nodeTombs.size + this.linkTombs.size > this.maxTombstones) {
      const from = oldest(this.nodeTombs, this.linkTombs);
      const first = from.entries().next().value;
      if (!first) break;
      from.delete(first[0]);
      this.horizon = Math.max(this.horizon, first[1]);
    }
  }

  private adjacent(key: string): Map<string, DirectoryLink> {
    let m = this.adjacency.get(key);
    if (!m) {
      m = new Map();
      this.adjacency.set(key, m);
    }
    return m;
  }

  private dropAdjacent(key: string, peer: string): void {
    const m = this.adjacency.get(key);
    if (!m) return;
    m.delete(peer);
    if (m.size === 0) this.adjacency.delete(key);
  }
}

// The tombstone map whose first (oldest) entry is older.
function oldest(x: Map<string, number>, y: Map<string, number>): Map<string, number> {
  const fx = x.values().next();
  const fy = y.values().next();
  if (fx.done) return y;
  if (fy.done) return x;
  return fx.value <= fy.value ? x : y;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
