/**
 * node:crypto KeyObjects for raw X25519 / Ed25519 keys, with the caches that
 * keep imports off the hot path.
 *
 * Raw keys are imported as JWK, which is ~10× cheaper than DER/PKCS#8.
 * OpenSSL ignores the JWK `x` of an OKP private key and derives the public
 * key from `d` (that derivation is most of an import's cost); the
 * cross-backend tests check that assumption.
 *
 * Neither cache can hand back a key for other bytes: private keys are found
 * by array identity and then compared with a copy of the bytes they were
 * made from (a caller may refill an array), public keys are found by their
 * content. The copy lives as long as the KeyObject, which holds the same
 * secret in OpenSSL memory anyway: both go when the caller's array is
 * collected, not when it is wiped.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { equalBytes } from '../bytes.js';

export type OkpCurve = 'X25519' | 'Ed25519';

const DUMMY_X = Buffer.alloc(32).toString('base64url');

function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

interface PrivateEntry {
  /** Copy of the secret the key was imported from. */
  readonly bytes: Uint8Array;
  readonly key: KeyObject;
}

// Long-lived secrets (identity, link statics) are imported once; ephemeral
// ones are imported at generation and found again by the DH that follows.
const privCache: Record<OkpCurve, WeakMap<Uint8Array, PrivateEntry>> = {
  X25519: new WeakMap(),
  Ed25519: new WeakMap(),
};

/** The private KeyObject for a 32-byte secret (X25519 scalar or Ed25519 seed). */
export function privateKey(crv: OkpCurve, secret: Uint8Array): KeyObject {
  const cache = privCache[crv];
  const hit = cache.get(secret);
  if (hit && equalBytes(hit.bytes, secret)) return hit.key;
  const key = createPrivateKey({
    key: { kty: 'OKP', crv, d: b64u(secret), x: DUMMY_X },
    format: 'jwk',
  });
  cache.set(secret, { bytes: secret.slice(), key });
  return key;
}

/**
 * Public keys kept per curve; beyond this the oldest goes. Ed25519 keeps
 * more: a gateway checks signatures of many wallets and signers again and
 * again, while most X25519 peers are ephemerals used twice.
 */
export const PUBLIC_CACHE_MAX: Readonly<Record<OkpCurve, number>> = {
  X25519: 2048,
  Ed25519: 4096,
};

// Keyed by the 32 bytes as a latin1 string: one native conversion, cheaper
// than base64 and collision-free (one char per byte).
const pubCache: Record<OkpCurve, Map<string, KeyObject>> = {
  X25519: new Map(),
  Ed25519: new Map(),
};

/**
 * The public KeyObject for 32 raw bytes. A handshake uses the peer's
 * ephemeral in two DHs and a node meets the same statics and signers again
 * and again, so imports are cached (bounded, oldest first out).
 */
export function publicKey(crv: OkpCurve, pub: Uint8Array): KeyObject {
  const cache = pubCache[crv];
  const id = Buffer.from(pub.buffer, pub.byteOffset, pub.byteLength).toString('latin1');
  let key = cache.get(id);
  if (!key) {
    key = createPublicKey({ key: { kty: 'OKP', crv, x: b64u(pub) }, format: 'jwk' });
    if (cache.size >= PUBLIC_CACHE_MAX[crv]) cache.delete(cache.keys().next().value as string);
    cache.set(id, key);
  }
  return key;
}

/** Number of cached public keys for `crv` (tests check the bound). */
export function publicCacheSize(crv: OkpCurve): number {
  return pubCache[crv].size;
}

/** Raw public key of a private KeyObject (the private JWK carries it as `x`). */
export function publicKeyBytes(priv: KeyObject): Uint8Array {
  const buf = Buffer.from(priv.export({ format: 'jwk' }).x as string, 'base64url');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
