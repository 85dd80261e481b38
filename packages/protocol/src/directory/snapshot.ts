/**
 * Signed snapshots and diffs of the directory, as the route server (or a
 * mirror) serves them. A snapshot is the whole state at one version; a diff
 * takes a copy from one version to a later one. Both are signed by the
 * serving route server's Ed25519 key; every descriptor inside keeps its own
 * node signature, which readers can check too (verifyDescriptors).
 *
 * Snapshot (unsigned big-endian; docs/route-server.md §Snapshot):
 *
 *   u8  format (1)   u8 kind (1 = snapshot)   32 server public key
 *   u64 version      u64 issuedAt (Unix seconds)
 *   u32 node count, each (sorted by key): u16 length, signed descriptor
 *   u32 link count, each (sorted by a, then b): u32 a, u32 b (node indexes, a < b),
 *       u32 rttMicros, u32 capacity (KiB/s)
 *   64  signature over SNAPSHOT_SIGNATURE_DOMAIN ‖ 0x00 ‖ all bytes above
 *
 * Diff:
 *
 *   u8  format (1)   u8 kind (2 = diff)   32 server public key
 *   u64 fromVersion  u64 toVersion        u64 issuedAt
 *   u32 removed node count, each 32 public key
 *   u32 removed link count, each 32 key ‖ 32 key (lower key first)
 *   u32 node count, each u16 length, signed descriptor (added or replaced)
 *   u32 link count, each 32 key ‖ 32 key (lower first), u32 rttMicros, u32 capacity
 *   64  signature over DIFF_SIGNATURE_DOMAIN ‖ 0x00 ‖ all bytes above
 *
 * Applying a diff removes links, then nodes (with their links), then puts
 * nodes, then links; the result equals the snapshot at toVersion.
 */
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '@skymesh/crypto';
import { Reader } from '../codec/reader.js';
import { Writer } from '../codec/writer.js';
import type { NodeDescriptor } from '../descriptor/descriptor.js';
import {
  decodeDescriptor,
  MAX_DESCRIPTOR_SIZE,
  verifyDescriptor,
} from '../descriptor/descriptor.js';
import { ProtocolError } from '../errors.js';
import { compareBytes, hexKey, keyHex, signedMessage } from './_bytes.js';
import { DirectoryError } from './errors.js';
import { MAX_RTT_MICROS } from './link-report.js';
import { DirectoryState, type DirectoryStateOptions } from './state.js';

/** The snapshot/diff format this code writes and reads. */
export const DIRECTORY_FORMAT = 1;
/** Largest snapshot or diff accepted: 64 MiB (10,000 nodes and 100,000 links take about 3 MB). */
export const MAX_SNAPSHOT_SIZE = 64 * 1024 * 1024;
export const SNAPSHOT_SIGNATURE_DOMAIN = 'skymesh directory snapshot v1';
export const DIFF_SIGNATURE_DOMAIN = 'skymesh directory diff v1';

const KIND_SNAPSHOT = 1;
const KIND_DIFF = 2;
const SIG = 64;
const MIN_DESCRIPTOR = 2 + 1 + 32 + 1 + 24 + 3 + SIG; // length prefix + smallest descriptor

/** Anything holding an Ed25519 key pair: a 32-byte seed or an Identity. */
export type DirectorySigner =
  | Uint8Array
  | { publicKey: Uint8Array; sign(m: Uint8Array): Uint8Array };

/** A node as carried in a snapshot or diff. */
export interface SignedDescriptor {
  desc: NodeDescriptor;
  bytes: Uint8Array;
}

/** A link as carried in a snapshot or diff, by hex keys (a < b). */
export interface WireLink {
  a: string;
  b: string;
  rttMicros: number;
  capacity: number;
}

/** A decoded snapshot. */
export interface Snapshot {
  serverKey: Uint8Array;
  version: number;
  issuedAt: number;
  nodes: SignedDescriptor[];
  links: WireLink[];
  signature: Uint8Array;
}

/** A decoded diff. */
export interface Diff {
  serverKey: Uint8Array;
  fromVersion: number;
  toVersion: number;
  issuedAt: number;
  removedNodes: string[];
  removedLinks: { a: string; b: string }[];
  nodes: SignedDescriptor[];
  links: WireLink[];
  signature: Uint8Array;
}

/** Checks applied by verifySnapshot / verifyDiff. */
export interface DirectoryVerifyOptions {
  /** The route server's public key the caller trusts. */
  serverKey: Uint8Array;
  /** Check every descriptor's node signature too (not its validity window). @default true */
  verifyDescriptors?: boolean;
  /** Refuse a snapshot issued more than this many seconds before `now`. @default no limit */
  maxAge?: number;
  /** Unix seconds. @default Date.now() / 1000 */
  now?: number;
  /** Size cap. @default MAX_SNAPSHOT_SIZE */
  maxSize?: number;
}

function signerKey(s: DirectorySigner): { publicKey: Uint8Array; sign(m: Uint8Array): Uint8Array } {
  if (s instanceof Uint8Array) {
    const seed = s;
    return { publicKey: ed25519PublicKey(seed), sign: (m) => ed25519Sign(seed, m) };
  }
  return s;
}

function tooLarge(size: number, max: number): never {
  throw new DirectoryError('DIRECTORY_TOO_LARGE', `directory message of ${size} bytes`, {
    size,
    max,
  });
}

// Reads a u32 count and checks it could fit in what is left, before allocating.
function count(r: Reader, field: string, minEach: number): number {
  const n = r.u32(field);
  if (n * minEach > r.remaining) r.badValue(field, `${n} entries cannot fit`, r.offset - 4);
  return n;
}

function readDescriptor(r: Reader): SignedDescriptor {
  const bytes = r.varBytes(2, MAX_DESCRIPTOR_SIZE, 'descriptor').slice();
  return { desc: decodeDescriptor(bytes), bytes };
}

function rtt(r: Reader): number {
  const v = r.u32('rttMicros');
  if (v < 1 || v > MAX_RTT_MICROS) r.badValue('rttMicros', 'out of range', r.offset - 4);
  return v;
}

function header(r: Reader, kind: number): Uint8Array {
  const format = r.u8('format');
  if (format !== DIRECTORY_FORMAT) {
    throw new ProtocolError('DECODE_BAD_VERSION', `directory format ${format} unknown`, {
      field: 'format',
      offset: 0,
      version: format,
    });
  }
  const k = r.u8('kind');
  if (k !== kind) r.badValue('kind', `expected ${kind}, got ${k}`, 1);
  return r.bytes(32, 'serverKey').slice();
}

function checkOrder(r: Reader, prev: Uint8Array | null, key: Uint8Array, at: number): void {
  if (prev && compareBytes(prev, key) >= 0) r.badValue('nodes', 'not sorted or repeated', at);
}

// ---------------------------------------------------------------- snapshot

/**
 * Encodes and signs the committed state as a snapshot.
 * @throws DirectoryError DIRECTORY_TOO_LARGE
 */
export function encodeSnapshot(
  state: DirectoryState,
  signer: DirectorySigner,
  issuedAt: number = Math.floor(Date.now() / 1000),
): Uint8Array {
  const s = signerKey(signer);
  const nodes = [...state.nodes()].sort((x, y) => (x.key < y.key ? -1 : 1));
  const index = new Map<string, number>();
  let size = 2 + 32 + 16 + 4 + 4 + SIG;
  for (let i = 0; i < nodes.length; i++) {
    index.set(nodes[i]!.key, i);
    size += 2 + nodes[i]!.bytes.length;
  }
  const links: number[][] = [];
  for (const l of state.links()) {
    links.push([index.get(l.a)!, index.get(l.b)!, l.rttMicros, l.capacity]);
  }
  links.sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!);
  size += links.length * 16;
  if (size > MAX_SNAPSHOT_SIZE) tooLarge(size, MAX_SNAPSHOT_SIZE);
  const w = new Writer({ initialSize: size, maxSize: size });
  w.u8(DIRECTORY_FORMAT).u8(KIND_SNAPSHOT).fixed(s.publicKey, 32, 'serverKey');
  w.u64Number(state.version, 'version').u64Number(issuedAt, 'issuedAt');
  w.u32(nodes.length, 'nodes');
  for (const n of nodes) w.varBytes(2, n.bytes, MAX_DESCRIPTOR_SIZE, 'descriptor');
  w.u32(links.length, 'links');
  for (const l of links) w.u32(l[0]!).u32(l[1]!).u32(l[2]!).u32(l[3]!);
  return sign(w, s, SNAPSHOT_SIGNATURE_DOMAIN);
}

function sign(w: Writer, s: { sign(m: Uint8Array): Uint8Array }, domain: string): Uint8Array {
  const body = w.finish();
  w.fixed(s.sign(signedMessage(domain, body)), SIG, 'signature');
  return w.finish();
}

/**
 * Decodes a snapshot's structure (no signature checks).
 * @throws DirectoryError DIRECTORY_TOO_LARGE; ProtocolError DECODE_* and descriptor decode codes
 */
export function decodeSnapshot(bytes: Uint8Array, maxSize = MAX_SNAPSHOT_SIZE): Snapshot {
  if (bytes.length > maxSize) tooLarge(bytes.length, maxSize);
  const r = new Reader(bytes);
  const serverKey = header(r, KIND_SNAPSHOT);
  const version = r.u64Number('version');
  const issuedAt = r.u64Number('issuedAt');
  const n = count(r, 'nodes', MIN_DESCRIPTOR);
  const nodes: SignedDescriptor[] = [];
  let prev: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    const at = r.offset;
    const d = readDescriptor(r);
    checkOrder(r, prev, d.desc.publicKey, at);
    prev = d.desc.publicKey;
    nodes.push(d);
  }
  const keys = nodes.map((d) => keyHex(d.desc.publicKey));
  const m = count(r, 'links', 16);
  const links: WireLink[] = [];
  let pa = -1;
  let pb = -1;
  for (let i = 0; i < m; i++) {
    const at = r.offset;
    const a = r.u32('a');
    const b = r.u32('b');
    if (a >= b || b >= n) r.badValue('links', 'bad node index', at);
    if (a < pa || (a === pa && b <= pb)) r.badValue('links', 'not sorted or repeated', at);
    pa = a;
    pb = b;
    links.push({ a: keys[a]!, b: keys[b]!, rttMicros: rtt(r), capacity: r.u32('capacity') });
  }
  const signature = r.bytes(SIG, 'signature').slice();
  r.end('snapshot');
  return { serverKey, version, issuedAt, nodes, links, signature };
}

function checkSigned(
  bytes: Uint8Array,
  serverKey: Uint8Array,
  expected: Uint8Array,
  signature: Uint8Array,
  domain: string,
): void {
  if (compareBytes(serverKey, expected) !== 0) {
    throw new DirectoryError('DIRECTORY_WRONG_SERVER', 'signed by another route server');
  }
  const body = bytes.subarray(0, bytes.length - SIG);
  if (!ed25519Verify(serverKey, signedMessage(domain, body), signature)) {
    throw new DirectoryError('DIRECTORY_BAD_SIGNATURE', 'directory signature does not verify');
  }
}

function checkDescriptors(nodes: SignedDescriptor[], opts: DirectoryVerifyOptions): void {
  if (opts.verifyDescriptors === false) return;
  for (const n of nodes) {
    try {
      // The window is not checked here: expired nodes are skipped by route finding.
      verifyDescriptor(n.bytes, { now: n.desc.issuedAt });
    } catch (err) {
      throw new DirectoryError('DIRECTORY_BAD_DESCRIPTOR', 'a descriptor does not verify', {
        key: keyHex(n.desc.publicKey),
        cause: (err as { code?: string }).code,
      });
    }
  }
}

/**
 * Decodes a snapshot and checks the server signature, the key it was
 * signed with, its age and (by default) every descriptor's signature.
 * @throws DirectoryError DIRECTORY_WRONG_SERVER | DIRECTORY_BAD_SIGNATURE |
 *   DIRECTORY_BAD_DESCRIPTOR | DIRECTORY_STALE | DIRECTORY_TOO_LARGE; ProtocolError DECODE_*
 */
export function verifySnapshot(bytes: Uint8Array, opts: DirectoryVerifyOptions): Snapshot {
  const snap = decodeSnapshot(bytes, opts.maxSize);
  checkSigned(bytes, snap.serverKey, opts.serverKey, snap.signature, SNAPSHOT_SIGNATURE_DOMAIN);
  if (opts.maxAge !== undefined) {
    const now = opts.now ?? Math.floor(Date.now() / 1000);
    if (snap.issuedAt + opts.maxAge < now) {
      throw new DirectoryError('DIRECTORY_STALE', 'snapshot too old', {
        issuedAt: snap.issuedAt,
        now,
      });
    }
  }
  checkDescriptors(snap.nodes, opts);
  return snap;
}

/** A new DirectoryState holding a (verified) snapshot, at its version. */
export function stateFromSnapshot(snap: Snapshot, options?: DirectoryStateOptions): DirectoryState {
  const state = new DirectoryState(options);
  state.stampAs(snap.version);
  for (const n of snap.nodes) state.putNode(n.desc, n.bytes);
  for (const l of snap.links) state.putLink(l.a, l.b, l.rttMicros, l.capacity);
  state.commitAs(snap.version);
  state.setHorizon(snap.version);
  return state;
}

// -------------------------------------------------------------------- diff

/**
 * Encodes and signs what changed in the committed state since `since`.
 * @throws DirectoryError DIRECTORY_DIFF_UNAVAILABLE when since < horizon or since > version
 */
export function encodeDiff(
  state: DirectoryState,
  since: number,
  signer: DirectorySigner,
  issuedAt: number = Math.floor(Date.now() / 1000),
): Uint8Array {
  if (!Number.isSafeInteger(since) || since < state.horizon || since > state.version) {
    throw new DirectoryError('DIRECTORY_DIFF_UNAVAILABLE', 'no diff from that version', {
      since,
      horizon: state.horizon,
      version: state.version,
    });
  }
  const s = signerKey(signer);
  const tombs = state.tombstonesSince(since);
  const nodes = [...state.nodes()].filter((n) => n.changed > since);
  const links = [...state.links()].filter((l) => l.changed > since);
  const size =
    2 +
    32 +
    24 +
    16 +
    SIG +
    tombs.nodes.length * 32 +
    tombs.links.length * 64 +
    nodes.reduce((a, n) => a + 2 + n.bytes.length, 0) +
    links.length * 72;
  if (size > MAX_SNAPSHOT_SIZE) tooLarge(size, MAX_SNAPSHOT_SIZE);
  const w = new Writer({ initialSize: size, maxSize: size });
  w.u8(DIRECTORY_FORMAT).u8(KIND_DIFF).fixed(s.publicKey, 32, 'serverKey');
  w.u64Number(since).u64Number(state.version).u64Number(issuedAt);
  w.u32(tombs.nodes.length);
  for (const k of tombs.nodes) w.bytes(hexKey(k));
  w.u32(tombs.links.length);
  for (const id of tombs.links) w.bytes(hexKey(id));
  w.u32(nodes.length);
  for (const n of nodes) w.varBytes(2, n.bytes, MAX_DESCRIPTOR_SIZE, 'descriptor');
  w.u32(links.length);
  for (const l of links) {
    w.bytes(hexKey(l.a)).bytes(hexKey(l.b)).u32(l.rttMicros).u32(l.capacity);
  }
  return sign(w, s, DIFF_SIGNATURE_DOMAIN);
}

function keyPair(r: Reader, field: string): { a: string; b: string } {
  const at = r.offset;
  const a = r.bytes(32, field);
  const b = r.bytes(32, field);
  if (compareBytes(a, b) >= 0) r.badValue(field, 'keys not in order', at);
  return { a: keyHex(a), b: keyHex(b) };
}

/**
 * Decodes a diff's structure (no signature checks).
 * @throws DirectoryError DIRECTORY_TOO_LARGE; ProtocolError DECODE_* and descriptor decode codes
 */
export function decodeDiff(bytes: Uint8Array, maxSize = MAX_SNAPSHOT_SIZE): Diff {
  if (bytes.length > maxSize) tooLarge(bytes.length, maxSize);
  const r = new Reader(bytes);
  const serverKey = header(r, KIND_DIFF);
  const fromVersion = r.u64Number('fromVersion');
  const toVersion = r.u64Number('toVersion');
  if (toVersion < fromVersion) r.badValue('toVersion', 'before fromVersion', r.offset - 8);
  const issuedAt = r.u64Number('issuedAt');
  const removedNodes: string[] = [];
  for (let i = count(r, 'removedNodes', 32); i > 0; i--) {
    removedNodes.push(keyHex(r.bytes(32, 'removedNodes')));
  }
  const removedLinks: { a: string; b: string }[] = [];
  for (let i = count(r, 'removedLinks', 64); i > 0; i--) {
    removedLinks.push(keyPair(r, 'removedLinks'));
  }
  const nodes: SignedDescriptor[] = [];
  for (let i = count(r, 'nodes', MIN_DESCRIPTOR); i > 0; i--) nodes.push(readDescriptor(r));
  const links: WireLink[] = [];
  for (let i = count(r, 'links', 72); i > 0; i--) {
    const { a, b } = keyPair(r, 'links');
    links.push({ a, b, rttMicros: rtt(r), capacity: r.u32('capacity') });
  }
  const signature = r.bytes(SIG, 'signature').slice();
  r.end('diff');
  return {
    serverKey,
    fromVersion,
    toVersion,
    issuedAt,
    removedNodes,
    removedLinks,
    nodes,
    links,
    signature,
  };
}

/**
 * Decodes a diff and checks the server signature, its key and (by default)
 * every descriptor's signature.
 * @throws DirectoryError DIRECTORY_WRONG_SERVER | DIRECTORY_BAD_SIGNATURE |
 *   DIRECTORY_BAD_DESCRIPTOR | DIRECTORY_TOO_LARGE; ProtocolError DECODE_*
 */
export function verifyDiff(bytes: Uint8Array, opts: DirectoryVerifyOptions): Diff {
  const diff = decodeDiff(bytes, opts.maxSize);
  checkSigned(bytes, diff.serverKey, opts.serverKey, diff.signature, DIFF_SIGNATURE_DOMAIN);
  checkDescriptors(diff.nodes, opts);
  return diff;
}

/**
 * Applies a (verified) diff to a state at its fromVersion. On an error the
 * state may be half-changed: reload a snapshot.
 * @throws DirectoryError DIRECTORY_DIFF_MISMATCH (wrong start version, link to an absent node) |
 *   DIRECTORY_ROLLBACK
 */
export function applyDiff(state: DirectoryState, diff: Diff): void {
  if (diff.fromVersion !== state.version) {
    if (diff.toVersion < state.version) {
      throw new DirectoryError('DIRECTORY_ROLLBACK', 'diff ends before the version held', {
        toVersion: diff.toVersion,
        held: state.version,
      });
    }
    throw new DirectoryError('DIRECTORY_DIFF_MISMATCH', 'diff does not start at the version held', {
      fromVersion: diff.fromVersion,
      held: state.version,
    });
  }
  state.stampAs(diff.toVersion);
  try {
    for (const l of diff.removedLinks) state.removeLink(l.a, l.b);
    for (const k of diff.removedNodes) state.removeNode(k);
    for (const n of diff.nodes) {
      // The server already ordered descriptors; a replaced one may even be older
      // when the node was removed and came back, so drop the held one first.
      const key = keyHex(n.desc.publicKey);
      const held = state.node(key);
      if (held && held.desc.issuedAt >= n.desc.issuedAt) replaceNode(state, key, n);
      else state.putNode(n.desc, n.bytes);
    }
    for (const l of diff.links) state.putLink(l.a, l.b, l.rttMicros, l.capacity);
  } catch (err) {
    if (err instanceof DirectoryError && err.code === 'DIRECTORY_UNKNOWN_NODE') {
      throw new DirectoryError('DIRECTORY_DIFF_MISMATCH', 'diff links a node not held');
    }
    throw err;
  }
  state.commitAs(diff.toVersion);
}

// Replaces a node's descriptor keeping its links (those the diff changes come after).
function replaceNode(state: DirectoryState, key: string, n: SignedDescriptor): void {
  const links = [...(state.neighbours(key)?.values() ?? [])];
  state.removeNode(key);
  state.putNode(n.desc, n.bytes);
  for (const l of links) state.putLink(l.a, l.b, l.rttMicros, l.capacity);
}
