/**
 * The one interface every crypto backend implements. The native backend
 * (node:crypto + libsodium) serves Node; the noble backend serves browsers
 * and is the reference every other backend is cross-checked against.
 *
 * All inputs are validated by the public wrappers in this package, so
 * backends may assume correct lengths.
 */
export type HashName = 'sha256' | 'sha512' | 'blake2b' | 'blake2s';

export interface CryptoBackend {
  readonly name: 'native' | 'noble';
  randomBytes(n: number): Uint8Array;

  /** Plain digest: sha256 → 32 bytes, sha512 → 64, blake2b → 64, blake2s → 32. */
  hash(alg: HashName, data: Uint8Array): Uint8Array;
  hmac(alg: HashName, key: Uint8Array, data: Uint8Array): Uint8Array;
  /** BLAKE2b with variable output length (1..64) and optional key (≤ 64 bytes). */
  blake2b(data: Uint8Array, outLen: number, key?: Uint8Array): Uint8Array;

  x25519PublicKey(secret: Uint8Array): Uint8Array;
  /** Raw X25519; returns the 32-byte shared secret, throws CRYPTO_DH_LOW_ORDER on all-zero output. */
  x25519(secret: Uint8Array, publicKey: Uint8Array): Uint8Array;

  ed25519PublicKey(seed: Uint8Array): Uint8Array;
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

  /** Returns ciphertext ‖ 16-byte tag. */
  chacha20poly1305Seal(
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    ad?: Uint8Array,
  ): Uint8Array;
  /** Returns the plaintext or null when the tag does not verify. */
  chacha20poly1305Open(
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    ad?: Uint8Array,
  ): Uint8Array | null;
  xchacha20poly1305Seal(
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    ad?: Uint8Array,
  ): Uint8Array;
  xchacha20poly1305Open(
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    ad?: Uint8Array,
  ): Uint8Array | null;
}
