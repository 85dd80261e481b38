/**
 * The one interface every crypto backend implements. On Node the sodium
 * backend (sodium-native) serves, or the openssl backend (node:crypto +
 * libsodium WASM) where sodium-native's prebuilt binary does not load; the
 * noble backend serves browsers and is the reference every other backend is
 * cross-checked against.
 *
 * All inputs are validated by the public wrappers in this package, so
 * backends may assume correct lengths (and, for the `Into` variants, an
 * output of exactly the result's length that is either the input itself or
 * disjoint from it).
 */
export type HashName = 'sha256' | 'sha512' | 'blake2b' | 'blake2s';

export interface CryptoBackend {
  readonly name: 'sodium' | 'openssl' | 'noble';
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

  /**
   * Seals into `out` (exactly plaintext.length + 16 bytes): ciphertext ‖ tag.
   * `out` may start at the same byte as `plaintext` (in place).
   */
  chacha20poly1305SealInto(
    out: Uint8Array,
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    ad?: Uint8Array,
  ): void;
  /**
   * Opens into `out` (exactly sealed.length − 16 bytes) and returns true, or
   * returns false, with `out` zeroed (as libsodium does), when the tag does
   * not verify. `out` may start at the same byte as `sealed` (in place).
   */
  chacha20poly1305OpenInto(
    out: Uint8Array,
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    ad?: Uint8Array,
  ): boolean;
  /**
   * IETF ChaCha20 (RFC 8439 §2.4): `out` = `input` XOR the keystream of
   * (key, 12-byte nonce) starting at block `counter`. The wrapper keeps
   * counter + blocks within 2^32 − 1, so no backend ever wraps.
   */
  chacha20Xor(
    out: Uint8Array,
    key: Uint8Array,
    nonce: Uint8Array,
    counter: number,
    input: Uint8Array,
  ): void;
}
