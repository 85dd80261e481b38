/** Hashes, HMAC and HKDF (RFC 5869) over the active backend. */
import type { HashName } from './backend.js';
import { CryptoError } from './errors.js';
import { backend } from './select.js';

export type { HashName };

/** Output length in bytes of each hash. */
export const HASH_LEN: Record<HashName, number> = {
  sha256: 32,
  sha512: 64,
  blake2b: 64,
  blake2s: 32,
};

export function sha256(data: Uint8Array): Uint8Array {
  return backend().hash('sha256', data);
}

export function sha512(data: Uint8Array): Uint8Array {
  return backend().hash('sha512', data);
}

/**
 * BLAKE2b. `outLen` 1..64 (default 64); optional `key` up to 64 bytes.
 * @throws CryptoError CRYPTO_BAD_LENGTH for an out-of-range length or key.
 */
export function blake2b(data: Uint8Array, outLen = 64, key?: Uint8Array): Uint8Array {
  if (!Number.isInteger(outLen) || outLen < 1 || outLen > 64) {
    throw new CryptoError('CRYPTO_BAD_LENGTH', 'blake2b outLen must be 1..64', { field: 'outLen' });
  }
  if (key && key.length > 64) {
    throw new CryptoError('CRYPTO_BAD_LENGTH', 'blake2b key must be ≤ 64 bytes', { field: 'key' });
  }
  return backend().blake2b(data, outLen, key);
}

export function blake2s(data: Uint8Array): Uint8Array {
  return backend().hash('blake2s', data);
}

export function hash(alg: HashName, data: Uint8Array): Uint8Array {
  return backend().hash(alg, data);
}

export function hmac(alg: HashName, key: Uint8Array, data: Uint8Array): Uint8Array {
  return backend().hmac(alg, key, data);
}

/** HKDF-Extract (RFC 5869 §2.2). An empty salt means HashLen zero bytes. */
export function hkdfExtract(alg: HashName, ikm: Uint8Array, salt?: Uint8Array): Uint8Array {
  const s = salt && salt.length > 0 ? salt : new Uint8Array(HASH_LEN[alg]);
  return hmac(alg, s, ikm);
}

/** HKDF-Expand (RFC 5869 §2.3). `length` ≤ 255 × HashLen. */
export function hkdfExpand(
  alg: HashName,
  prk: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  const hashLen = HASH_LEN[alg];
  if (!Number.isInteger(length) || length < 0 || length > 255 * hashLen) {
    throw new CryptoError('CRYPTO_BAD_LENGTH', `HKDF length must be 0..${255 * hashLen}`, {
      field: 'length',
    });
  }
  const out = new Uint8Array(length);
  let prev = new Uint8Array(0);
  const buf = new Uint8Array(hashLen + info.length + 1);
  for (let i = 0, off = 0; off < length; i++) {
    buf.set(prev, 0);
    buf.set(info, prev.length);
    buf[prev.length + info.length] = i + 1;
    prev = hmac(
      alg,
      prk,
      buf.subarray(0, prev.length + info.length + 1),
    ) as Uint8Array<ArrayBuffer>;
    out.set(prev.subarray(0, Math.min(hashLen, length - off)), off);
    off += hashLen;
  }
  return out;
}

/** HKDF (RFC 5869): extract then expand. */
export function hkdf(
  alg: HashName,
  ikm: Uint8Array,
  salt: Uint8Array | undefined,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return hkdfExpand(alg, hkdfExtract(alg, ikm, salt), info, length);
}

export function randomBytes(n: number): Uint8Array {
  return backend().randomBytes(n);
}
