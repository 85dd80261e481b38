/**
 * ChaCha20-Poly1305 (RFC 8439, 12-byte nonce) and XChaCha20-Poly1305
 * (24-byte nonce). Sealed output is ciphertext ‖ 16-byte tag. The `Into`
 * variants and chacha20Xor write into a caller's array (no allocation on the
 * sodium and noble backends) for the per-cell hot path.
 */
import { assertLength, CryptoError } from './errors.js';
import { backend } from './select.js';

export const AEAD_KEY_LEN = 32;
export const AEAD_TAG_LEN = 16;
export const CHACHA_NONCE_LEN = 12;
export const XCHACHA_NONCE_LEN = 24;

/** A 32-byte key and a nonce of `nonceLen` bytes, else CRYPTO_BAD_LENGTH. */
function assertKeyNonce(key: Uint8Array, nonce: Uint8Array, nonceLen: number): void {
  assertLength(key, AEAD_KEY_LEN, 'key');
  assertLength(nonce, nonceLen, 'nonce');
}

function authFailed(): CryptoError {
  return new CryptoError('CRYPTO_AEAD_AUTH_FAILED', 'AEAD tag did not verify');
}

export function chacha20poly1305Seal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad?: Uint8Array,
): Uint8Array {
  assertKeyNonce(key, nonce, CHACHA_NONCE_LEN);
  return backend().chacha20poly1305Seal(key, nonce, plaintext, ad);
}

/** @throws CryptoError CRYPTO_AEAD_AUTH_FAILED when the tag does not verify. */
export function chacha20poly1305Open(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad?: Uint8Array,
): Uint8Array {
  assertKeyNonce(key, nonce, CHACHA_NONCE_LEN);
  if (sealed.length < AEAD_TAG_LEN) throw authFailed();
  const pt = backend().chacha20poly1305Open(key, nonce, sealed, ad);
  if (pt === null) throw authFailed();
  return pt;
}

export function xchacha20poly1305Seal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad?: Uint8Array,
): Uint8Array {
  assertKeyNonce(key, nonce, XCHACHA_NONCE_LEN);
  return backend().xchacha20poly1305Seal(key, nonce, plaintext, ad);
}

/** @throws CryptoError CRYPTO_AEAD_AUTH_FAILED when the tag does not verify. */
export function xchacha20poly1305Open(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad?: Uint8Array,
): Uint8Array {
  assertKeyNonce(key, nonce, XCHACHA_NONCE_LEN);
  if (sealed.length < AEAD_TAG_LEN) throw authFailed();
  const pt = backend().xchacha20poly1305Open(key, nonce, sealed, ad);
  if (pt === null) throw authFailed();
  return pt;
}

/** Blocks of 64 bytes ChaCha20 may produce under one (key, nonce): counters 0 … 2^32 − 2. */
export const CHACHA_MAX_COUNTER = 0xffffffff;

/**
 * Throws CRYPTO_BAD_OVERLAP unless `out` and `input` are disjoint or start
 * at the same byte (in place); a shifted overlap would read bytes already
 * overwritten.
 */
function assertInPlaceOrDisjoint(out: Uint8Array, input: Uint8Array): void {
  if (out.buffer !== input.buffer || out.byteOffset === input.byteOffset) return;
  const a = out.byteOffset;
  const b = input.byteOffset;
  if (a < b + input.byteLength && b < a + out.byteLength) {
    throw new CryptoError(
      'CRYPTO_BAD_OVERLAP',
      'out must be the input itself (same offset) or not overlap it',
      { field: 'out' },
    );
  }
}

/**
 * Seals `plaintext` into `out`, which must be exactly plaintext.length + 16
 * bytes: ciphertext ‖ tag. `out` may alias `plaintext` in place (an array
 * over the same buffer starting at the same byte, 16 bytes longer); any
 * other overlap throws CRYPTO_BAD_OVERLAP.
 */
export function chacha20poly1305SealInto(
  out: Uint8Array,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad?: Uint8Array,
): void {
  assertKeyNonce(key, nonce, CHACHA_NONCE_LEN);
  assertLength(out, plaintext.length + AEAD_TAG_LEN, 'out');
  assertInPlaceOrDisjoint(out, plaintext);
  backend().chacha20poly1305SealInto(out, key, nonce, plaintext, ad);
}

/**
 * Opens `sealed` into `out`, which must be exactly sealed.length − 16 bytes.
 * Returns false when the tag does not verify, with `out` zeroed on every
 * backend (libsodium's behaviour): opened in place, the sealed bytes are
 * then gone, so open into a separate array to try several keys. A `sealed`
 * shorter than a tag returns false and leaves `out` alone. `out` may alias
 * `sealed` in place; any other overlap throws CRYPTO_BAD_OVERLAP.
 */
export function chacha20poly1305OpenInto(
  out: Uint8Array,
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad?: Uint8Array,
): boolean {
  assertKeyNonce(key, nonce, CHACHA_NONCE_LEN);
  if (sealed.length < AEAD_TAG_LEN) return false;
  assertLength(out, sealed.length - AEAD_TAG_LEN, 'out');
  assertInPlaceOrDisjoint(out, sealed);
  return backend().chacha20poly1305OpenInto(out, key, nonce, sealed, ad);
}

/**
 * IETF ChaCha20 (RFC 8439 §2.4): writes `input` XOR the keystream of (key,
 * 12-byte nonce) from 64-byte block `counter` into `out` (same length; may
 * be `input` itself, no other overlap). Blocks used must stay below
 * 2^32 − 1 (counter + ⌈len / 64⌉ ≤ 2^32 − 1): no backend wraps the counter.
 * @throws CryptoError CRYPTO_BAD_LENGTH for a bad length or counter range.
 */
export function chacha20Xor(
  out: Uint8Array,
  key: Uint8Array,
  nonce: Uint8Array,
  counter: number,
  input: Uint8Array,
): void {
  assertKeyNonce(key, nonce, CHACHA_NONCE_LEN);
  assertLength(out, input.length, 'out');
  if (
    !Number.isInteger(counter) ||
    counter < 0 ||
    counter + Math.ceil(input.length / 64) > CHACHA_MAX_COUNTER
  ) {
    throw new CryptoError('CRYPTO_BAD_LENGTH', 'counter + blocks must be at most 2^32 - 1', {
      field: 'counter',
    });
  }
  assertInPlaceOrDisjoint(out, input);
  backend().chacha20Xor(out, key, nonce, counter, input);
}
