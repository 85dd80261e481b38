/**
 * Signed link reports: a node's statement of which neighbours it keeps links
 * with, how long a round trip to each takes and how much it can carry. The
 * route server confirms a link only when both ends report it (reports.ts),
 * so one node alone cannot put a link to an honest node into the directory.
 *
 * Byte layout (unsigned big-endian; docs/route-server.md §Link report):
 *
 *   u8   version (1)
 *   32   reporter's Ed25519 public key
 *   u64  issuedAt (Unix seconds)
 *   u64  sequence (strictly increasing per reporter; replays are refused)
 *   u16  link count (≤ MAX_LINKS_PER_REPORT), each, sorted by peer key, no repeats:
 *          32 peer public key, u32 rttMicros (1..MAX_RTT_MICROS), u32 capacity (KiB/s)
 *   64   Ed25519 signature over LINK_REPORT_SIGNATURE_DOMAIN ‖ 0x00 ‖ all bytes above
 */
import { ed25519Verify } from '@skymesh/crypto';
import { Reader } from '../codec/reader.js';
import { Writer } from '../codec/writer.js';
import { ProtocolError } from '../errors.js';
import { compareBytes, signedMessage } from './_bytes.js';
import { DirectoryError } from './errors.js';

/** The link report format this code writes and reads. */
export const LINK_REPORT_VERSION = 1;
/** Most links one report may list (a node's neighbour count is far lower). */
export const MAX_LINKS_PER_REPORT = 512;
/** Longest round trip a report may claim: 60 s. */
export const MAX_RTT_MICROS = 60_000_000;
/** Signature domain, so a report signature is never valid for any other object. */
export const LINK_REPORT_SIGNATURE_DOMAIN = 'skymesh link report v1';

const LINK_SIZE = 40;
const SIGNATURE_SIZE = 64;
const HEADER_SIZE = 1 + 32 + 8 + 8 + 2;
/** Size of the largest valid report. */
export const MAX_LINK_REPORT_SIZE = HEADER_SIZE + MAX_LINKS_PER_REPORT * LINK_SIZE + SIGNATURE_SIZE;

/** One measured link, as its reporter sees it. */
export interface ReportedLink {
  /** The neighbour's Ed25519 public key. */
  peer: Uint8Array;
  /** Measured round-trip time in microseconds, 1..MAX_RTT_MICROS. */
  rttMicros: number;
  /** What the reporter can carry on this link, in KiB/s (u32). */
  capacity: number;
}

/** A decoded link report. */
export interface LinkReport {
  version: number;
  /** The reporter's Ed25519 public key (its address key). */
  publicKey: Uint8Array;
  /** Unix seconds. */
  issuedAt: number;
  /** Strictly increasing per reporter. */
  sequence: number;
  /** Sorted by peer key, no repeats, never the reporter itself. */
  links: ReportedLink[];
  signature: Uint8Array;
}

/** What a node fills in to sign a report; the key comes from the signer. */
export interface LinkReportFields {
  sequence: number;
  /** @default now (Unix seconds) */
  issuedAt?: number;
  /** Any order: signLinkReport sorts them. */
  links: ReportedLink[];
}

/** Anything holding an Ed25519 key pair (an Identity does). */
export interface ReportSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

function encodeBody(r: Omit<LinkReport, 'signature'>): Writer {
  if (r.links.length > MAX_LINKS_PER_REPORT) {
    throw new DirectoryError('DIRECTORY_TOO_LARGE', 'too many links in one report', {
      field: 'links',
      size: r.links.length,
      max: MAX_LINKS_PER_REPORT,
    });
  }
  const w = new Writer({
    initialSize: HEADER_SIZE + r.links.length * LINK_SIZE + SIGNATURE_SIZE,
    maxSize: MAX_LINK_REPORT_SIZE,
  });
  w.u8(r.version, 'version').fixed(r.publicKey, 32, 'publicKey');
  w.u64Number(r.issuedAt, 'issuedAt').u64Number(r.sequence, 'sequence');
  w.u16(r.links.length, 'links');
  for (const l of r.links) {
    w.fixed(l.peer, 32, 'peer').u32(l.rttMicros, 'rttMicros').u32(l.capacity, 'capacity');
  }
  return w;
}

/**
 * Decodes a report's structure (no signature check): version, caps, sorted
 * unique peers, no self link, RTT range.
 * @throws DirectoryError DIRECTORY_TOO_LARGE; ProtocolError DECODE_*
 */
export function decodeLinkReport(bytes: Uint8Array): LinkReport {
  if (bytes.length > MAX_LINK_REPORT_SIZE) {
    throw new DirectoryError('DIRECTORY_TOO_LARGE', 'link report too large', {
      size: bytes.length,
      max: MAX_LINK_REPORT_SIZE,
    });
  }
  const r = new Reader(bytes);
  const version = r.u8('version');
  if (version !== LINK_REPORT_VERSION) {
    throw new ProtocolError('DECODE_BAD_VERSION', `link report version ${version} unknown`, {
      field: 'version',
      offset: 0,
      version,
    });
  }
  const publicKey = r.bytes(32, 'publicKey').slice();
  const issuedAt = r.u64Number('issuedAt');
  const sequence = r.u64Number('sequence');
  const n = r.u16('links');
  if (n > MAX_LINKS_PER_REPORT) r.badValue('links', `more than ${MAX_LINKS_PER_REPORT}`, r.offset);
  const links: ReportedLink[] = [];
  let prev: Uint8Array = publicKey;
  for (let i = 0; i < n; i++) {
    const at = r.offset;
    const peer = r.bytes(32, 'peer').slice();
    if (compareBytes(peer, publicKey) === 0) r.badValue('peer', 'link to itself', at);
    if (i > 0 && compareBytes(prev, peer) >= 0) r.badValue('peer', 'not sorted or repeated', at);
    prev = peer;
    const rttMicros = r.u32('rttMicros');
    if (rttMicros < 1 || rttMicros > MAX_RTT_MICROS) {
      r.badValue('rttMicros', `outside 1..${MAX_RTT_MICROS}`, r.offset - 4);
    }
    links.push({ peer, rttMicros, capacity: r.u32('capacity') });
  }
  const signature = r.bytes(SIGNATURE_SIZE, 'signature').slice();
  r.end('link report');
  return { version, publicKey, issuedAt, sequence, links, signature };
}

/**
 * Encodes a report, checking that the result decodes (one validation path).
 * @throws DirectoryError DIRECTORY_TOO_LARGE; ProtocolError ENCODE_BAD_VALUE
 */
export function encodeLinkReport(report: LinkReport): Uint8Array {
  const w = encodeBody(report);
  w.fixed(report.signature, SIGNATURE_SIZE, 'signature');
  const bytes = w.finish();
  try {
    decodeLinkReport(bytes);
  } catch (err) {
    if (err instanceof ProtocolError && err.code.startsWith('DECODE_')) {
      throw new ProtocolError('ENCODE_BAD_VALUE', err.message, err.details ?? {});
    }
    throw err;
  }
  return bytes;
}

/**
 * Sorts the links, fills in key, version and time, and signs.
 * @throws DirectoryError DIRECTORY_TOO_LARGE; ProtocolError ENCODE_BAD_VALUE (bad RTT, self link, repeated peer)
 */
export function signLinkReport(fields: LinkReportFields, signer: ReportSigner): LinkReport {
  const links = fields.links
    .map((l) => ({ peer: l.peer.slice(), rttMicros: l.rttMicros, capacity: l.capacity }))
    .sort((a, b) => compareBytes(a.peer, b.peer));
  const unsigned = {
    version: LINK_REPORT_VERSION,
    publicKey: signer.publicKey.slice(),
    issuedAt: fields.issuedAt ?? Math.floor(Date.now() / 1000),
    sequence: fields.sequence,
    links,
  };
  const body = encodeBody(unsigned).finish();
  const signature = signer.sign(signedMessage(LINK_REPORT_SIGNATURE_DOMAIN, body)).slice();
  const report = { ...unsigned, signature };
  encodeLinkReport(report); // validates every field once
  return report;
}

/**
 * Decodes (when given bytes) and checks the signature under the reporter's
 * own key. Freshness and sequence are the holder's business (ReportBook).
 * @throws DirectoryError DIRECTORY_BAD_SIGNATURE, and whatever decodeLinkReport throws
 */
export function verifyLinkReport(input: Uint8Array | LinkReport): LinkReport {
  const bytes = input instanceof Uint8Array ? input : encodeLinkReport(input);
  const report = input instanceof Uint8Array ? decodeLinkReport(input) : input;
  const body = bytes.subarray(0, bytes.length - SIGNATURE_SIZE);
  if (
    !ed25519Verify(
      report.publicKey,
      signedMessage(LINK_REPORT_SIGNATURE_DOMAIN, body),
      report.signature,
    )
  ) {
    throw new DirectoryError('DIRECTORY_BAD_SIGNATURE', 'link report signature does not verify');
  }
  return report;
}
