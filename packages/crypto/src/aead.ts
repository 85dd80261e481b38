/**
 * ChaCha20-Poly1305 (RFC 8439, 12-byte nonce) and XChaCha20-Poly1305
 * (24-byte nonce). Sealed output is ciphertext ‖ 16-byte tag.
 */
import { assertLength, CryptoError } from './errors.js';
import { backend } from './select.js';

export const AEAD_KEY_LEN = 32;
export const AEAD_TAG_LEN = 16;
export const CHACHA_NONCE_LEN = 12;
export const XCHACHA_NONCE_LEN = 24;

function authFailed(): CryptoError {
  return new CryptoError('CRYPTO_AEAD_AUTH_FAILED', 'AEAD tag did not verify');
}

export function chacha20poly1305Seal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad?: Uint8Array,
): Uint8Array {
  assertLength(key, AEAD_KEY_LEN, 'key');
  assertLength(nonce, CHACHA_NONCE_LEN, 'nonce');
  return backend().chacha20poly1305Seal(key, nonce, plaintext, ad);
}

/** @throws CryptoError CRYPTO_AEAD_AUTH_FAILED when the tag does not verify. */
export function chacha20poly1305Open(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad?: Uint8Array,
): Uint8Array {
  assertLength(key, AEAD_KEY_LEN, 'key');
  assertLength(nonce, CHACHA_NONCE_LEN, 'nonce');
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
  assertLength(key, AEAD_KEY_LEN, 'key');
  assertLength(nonce, XCHACHA_NONCE_LEN, 'nonce');
  return backend().xchacha20poly1305Seal(key, nonce, plaintext, ad);
}

/** @throws CryptoError CRYPTO_AEAD_AUTH_FAILED when the tag does not verify. */
export function xchacha20poly1305Open(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad?: Uint8Array,
): Uint8Array {
  assertLength(key, AEAD_KEY_LEN, 'key');
  assertLength(nonce, XCHACHA_NONCE_LEN, 'nonce');
  if (sealed.length < AEAD_TAG_LEN) throw authFailed();
  const pt = backend().xchacha20poly1305Open(key, nonce, sealed, ad);
  if (pt === null) throw authFailed();
  return pt;
}
