/** Ed25519 signatures (RFC 8032, pure Ed25519) over the active backend. */
import { ed25519 as nobleEd } from '@noble/curves/ed25519.js';
import { ORDER8_U } from './_elligatorCurve.js';
import { modPow, P } from './_elligatorField.js';
import { assertLength, CryptoError } from './errors.js';
import { backend } from './select.js';

export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  assertLength(seed, 32, 'seed');
  return backend().ed25519PublicKey(seed);
}

export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  assertLength(seed, 32, 'seed');
  return backend().ed25519Sign(seed, message);
}

// The y coordinates of Ed25519's eight small-order points: the identity
// (y = 1), the point of order 2 (y = −1), the two of order 4 (y = 0) and
// the four of order 8 (y = ±y8, with y8 = (u8 − 1)/(u8 + 1) from the
// Montgomery u of a point of order 8).
const Y8 = ((ORDER8_U - 1n) * modPow(ORDER8_U + 1n, P - 2n)) % P;
const SMALL_ORDER_Y = new Set<bigint>([1n, P - 1n, 0n, Y8, P - Y8]);
// First bytes of those y values and of their non-canonical forms y + p (y < 19).
const SMALL_ORDER_FIRST_BYTES = new Set<number>(
  [...SMALL_ORDER_Y, ...[...SMALL_ORDER_Y].filter((y) => y < 19n).map((y) => y + P)].map((y) =>
    Number(y & 0xffn),
  ),
);

/**
 * True when the first 32 bytes of `publicKey` encode a point of small order
 * (also in a non-canonical encoding, y ≥ p). With such a key and R =
 * identity, S = 0, the verification equation holds for every message, and
 * OpenSSL's Ed25519 does not refuse it while noble and libsodium do: the
 * wrapper refuses it on every backend. (ed25519Verify also applies it to a
 * signature's R.)
 */
export function isSmallOrderEd25519Key(publicKey: Uint8Array): boolean {
  // Cheap filter for the verify hot path: only a few low bytes can start a
  // small-order encoding, so almost every key skips the BigInt work.
  if (!SMALL_ORDER_FIRST_BYTES.has(publicKey[0]!)) return false;
  let y = BigInt(publicKey[31]! & 0x7f);
  for (let i = 30; i >= 0; i--) y = (y << 8n) | BigInt(publicKey[i]!);
  return SMALL_ORDER_Y.has(y % P);
}

/**
 * Returns false (never throws) for a wrong signature, a malformed key or
 * signature, for any signature under a small-order key (such keys let
 * anyone forge), and for a signature whose R is of small order. libsodium
 * refuses both; OpenSSL and noble accept a small-order R, which a key's
 * owner can produce (R = identity, S = k·a), so without this check nodes on
 * different backends would disagree about such a signature.
 */
export function ed25519Verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  if (isSmallOrderEd25519Key(publicKey) || isSmallOrderEd25519Key(signature)) return false;
  return backend().ed25519Verify(publicKey, message, signature);
}

// Montgomery forms of peers' Ed25519 keys: the conversion decompresses the
// point (a field square root), so results are cached; the map is bounded.
const MONT_CACHE_MAX = 8192;
const montCache = new Map<string, Uint8Array>();

/**
 * The X25519 public key of an Ed25519 public key (the birational map
 * u = (1 + y) / (1 − y)), after checking it is a valid curve point.
 * @throws CryptoError CRYPTO_BAD_SIGNATURE_KEY when the bytes are not a point.
 */
export function ed25519PublicToX25519(publicKey: Uint8Array): Uint8Array {
  assertLength(publicKey, 32, 'publicKey');
  let key = '';
  for (let i = 0; i < 32; i++) key += String.fromCharCode(publicKey[i]!);
  const hit = montCache.get(key);
  if (hit) return hit;
  let u: Uint8Array;
  try {
    const point = nobleEd.Point.fromBytes(publicKey);
    if (point.is0() || point.isSmallOrder()) throw new Error('small order');
    u = nobleEd.utils.toMontgomery(publicKey);
  } catch {
    throw new CryptoError('CRYPTO_BAD_SIGNATURE_KEY', 'not a valid Ed25519 public key');
  }
  if (montCache.size >= MONT_CACHE_MAX) montCache.delete(montCache.keys().next().value as string);
  montCache.set(key, u);
  return u;
}

/**
 * The X25519 secret matching an Ed25519 seed: the clamped first half of
 * SHA-512(seed), as RFC 8032 derives the signing scalar.
 */
export function ed25519SeedToX25519(seed: Uint8Array): Uint8Array {
  assertLength(seed, 32, 'seed');
  const h = backend().hash('sha512', seed).slice(0, 32);
  h[0]! &= 248;
  h[31]! &= 127;
  h[31]! |= 64;
  return h;
}
