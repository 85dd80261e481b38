/** X25519 Diffie-Hellman (RFC 7748) over the active backend. */
import { assertLength } from './errors.js';
import { backend } from './select.js';

export interface X25519KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  assertLength(secretKey, 32, 'secretKey');
  return backend().x25519PublicKey(secretKey);
}

/**
 * Shared secret of `secretKey` and `publicKey`.
 * @throws CryptoError CRYPTO_DH_LOW_ORDER when the peer key is a low-order point (all-zero output).
 */
export function x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  assertLength(secretKey, 32, 'secretKey');
  assertLength(publicKey, 32, 'publicKey');
  return backend().x25519(secretKey, publicKey);
}

export function x25519Generate(): X25519KeyPair {
  const secretKey = backend().randomBytes(32);
  return { secretKey, publicKey: backend().x25519PublicKey(secretKey) };
}
