/**
 * Signed route answers (docs/route-server.md §Signed route answers). A route
 * server signs each answer with its directory key, bound to the query it
 * answered — including a nonce the asker chose — so that whoever carries
 * the query (the node publishing the route server on the mesh, or anyone
 * on its plain HTTP leg to the server) can neither choose the asker's path
 * nor replay an old answer nor answer another query than the one asked.
 *
 * Query digest: SHA-256 of ROUTE_QUERY_DOMAIN ‖ 0x00 ‖ UTF-8 of the JSON
 * array [nonce, source, destination.address, destination.exit.host,
 * destination.exit.port, minHops, maxHops, k, exclude, spread], each absent
 * field as null: every field the server reads, as the asker sent it and as
 * the server received it.
 *
 * Signed message: ROUTE_ANSWER_DOMAIN ‖ 0x00 ‖ body (big-endian):
 *
 *   32  server public key
 *   32  query digest
 *   u64 directory version the answer was found on
 *   u8  path count (≤ MAX_PATHS), each:
 *         u64 rttMicros   u8 diverse (0/1)   u8 hop count (1..8), each:
 *           32 hop public key ‖ u16 length ‖ the hop's signed descriptor bytes
 *
 * The answer carries the 64-byte Ed25519 signature as `signature` (base64url).
 */
import { ed25519PublicKey, ed25519Sign, ed25519Verify, sha256, utf8 } from '@skymesh/crypto';
import { Writer } from '../codec/writer.js';
import { MAX_DESCRIPTOR_SIZE } from '../descriptor/descriptor.js';
import { signedMessage } from './_bytes.js';
import { DirectoryError } from './errors.js';
import { MAX_PATHS } from './routes.js';
import type { DirectorySigner } from './snapshot.js';

export const ROUTE_QUERY_DOMAIN = 'skymesh route query v1';
export const ROUTE_ANSWER_DOMAIN = 'skymesh route answer v1';
/** Bytes of the nonce a client sends with each query. */
export const ROUTE_NONCE_BYTES = 32;
const MAX_HOPS = 8;

/** One path as signed: each hop's key and signed descriptor bytes. */
export interface SignedRoutePath {
  rttMicros: number;
  diverse: boolean;
  hops: readonly { publicKey: Uint8Array; bytes: Uint8Array }[];
}

/** What a signature covers besides the paths. */
export interface RouteAnswerBinding {
  /** routeQueryDigest of the query answered. */
  queryDigest: Uint8Array;
  /** Directory version the paths were found on. */
  version: number;
}

type Field = unknown;
const field = (o: unknown, k: string): Field =>
  typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined;
const orNull = (v: Field) => (v === undefined ? null : v);

/**
 * The digest binding an answer to its query: computed by the asker on the
 * query it sends and by the server on the query it received (JSON values,
 * any types: a changed field changes the digest).
 */
export function routeQueryDigest(query: unknown): Uint8Array {
  const d = field(query, 'destination');
  const exit = field(d, 'exit');
  const canonical = [
    field(query, 'nonce'),
    field(query, 'source'),
    field(d, 'address'),
    field(exit, 'host'),
    field(exit, 'port'),
    field(query, 'minHops'),
    field(query, 'maxHops'),
    field(query, 'k'),
    field(query, 'exclude'),
    field(query, 'spread'),
  ].map(orNull);
  return sha256(signedMessage(ROUTE_QUERY_DOMAIN, utf8(JSON.stringify(canonical))));
}

function answerMessage(
  serverKey: Uint8Array,
  binding: RouteAnswerBinding,
  paths: readonly SignedRoutePath[],
): Uint8Array {
  if (paths.length > MAX_PATHS) {
    throw new DirectoryError('DIRECTORY_TOO_LARGE', 'too many paths in a route answer');
  }
  // Descriptors go in whole (Ed25519 hashes the message anyway): cheaper than a hash call per hop.
  let size = 32 + 32 + 8 + 1;
  for (const p of paths) {
    size += 10;
    for (const h of p.hops) size += 32 + 2 + h.bytes.length;
  }
  const w = new Writer({ initialSize: size, maxSize: size });
  w.fixed(serverKey, 32, 'serverKey').fixed(binding.queryDigest, 32, 'queryDigest');
  w.u64Number(binding.version, 'version').u8(paths.length, 'paths');
  for (const p of paths) {
    if (p.hops.length < 1 || p.hops.length > MAX_HOPS) {
      throw new DirectoryError('DIRECTORY_TOO_LARGE', 'bad hop count in a route answer');
    }
    w.u64Number(p.rttMicros, 'rttMicros').u8(p.diverse ? 1 : 0, 'diverse');
    w.u8(p.hops.length, 'hops');
    for (const h of p.hops) {
      w.fixed(h.publicKey, 32, 'hop').varBytes(2, h.bytes, MAX_DESCRIPTOR_SIZE, 'descriptor');
    }
  }
  return signedMessage(ROUTE_ANSWER_DOMAIN, w.finish());
}

/** Signs a route answer (route server side). @throws DirectoryError DIRECTORY_TOO_LARGE; ProtocolError ENCODE_* */
export function signRouteAnswer(
  signer: DirectorySigner,
  binding: RouteAnswerBinding,
  paths: readonly SignedRoutePath[],
): Uint8Array {
  if (signer instanceof Uint8Array) {
    return ed25519Sign(signer, answerMessage(ed25519PublicKey(signer), binding, paths));
  }
  return signer.sign(answerMessage(signer.publicKey, binding, paths));
}

/**
 * Checks a route answer's signature under the route server key the caller
 * trusts, for the query digest the caller computed itself.
 * @throws DirectoryError DIRECTORY_BAD_SIGNATURE (missing, malformed, another key, another query, changed paths)
 */
export function verifyRouteAnswer(
  serverKey: Uint8Array,
  binding: RouteAnswerBinding,
  paths: readonly SignedRoutePath[],
  signature: Uint8Array | undefined,
): void {
  let ok = false;
  try {
    ok =
      signature !== undefined &&
      signature.length === 64 &&
      ed25519Verify(serverKey, answerMessage(serverKey, binding, paths), signature);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new DirectoryError(
      'DIRECTORY_BAD_SIGNATURE',
      'route answer not signed by the route server for this query',
    );
  }
}
