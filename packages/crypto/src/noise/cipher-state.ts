/**
 * Noise CipherState (Noise Protocol Framework rev. 34, §5.1): a
 * ChaCha20-Poly1305 key and a 64-bit message counter. The handshake uses one
 * to encrypt static keys and payloads; `HandshakeState.split()` hands out two
 * for the transport phase. The 12-byte AEAD nonce is 4 zero bytes followed
 * by the counter in little-endian order (§12.3).
 */
import { AEAD_KEY_LEN, AEAD_TAG_LEN, chacha20poly1305Open, chacha20poly1305Seal } from '../aead.js';
import { wipe } from '../bytes.js';
import { assertLength, CryptoError } from '../errors.js';

/** Largest Noise message, handshake or transport, in bytes (§3). */
export const NOISE_MAX_MESSAGE_LEN = 65535;

const U32_MAX = 0xffffffff;
const NONCE_LIMIT = 2n ** 64n - 1n;
const EMPTY = new Uint8Array(0);
const REKEY_ZEROS = new Uint8Array(AEAD_KEY_LEN);
// 2^64 − 1 is reserved for rekey() and never used for a message (§4.2).
const MAX_NONCE_BYTES = new Uint8Array([0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]);

/**
 * A Noise CipherState. Without a key it passes data through unchanged, as
 * the spec requires during the first handshake messages.
 *
 * @example
 * const send = new CipherState(key);
 * const ct = send.encryptWithAd(new Uint8Array(0), utf8('hello'));
 */
export class CipherState {
  #key: Uint8Array | undefined;
  // The counter as two 32-bit halves: number arithmetic on the hot path,
  // bigint only when someone asks for `nonce`.
  #lo = 0;
  #hi = 0;
  readonly #iv = new Uint8Array(12);
  readonly #view = new DataView(this.#iv.buffer);

  /**
   * @param key 32-byte ChaCha20-Poly1305 key (copied); omit for an empty state.
   * @param nonce starting counter, 0 ≤ nonce ≤ 2^64 − 1 (default 0).
   * @throws CryptoError CRYPTO_BAD_LENGTH for a key that is not 32 bytes.
   * @throws RangeError for a nonce out of range.
   */
  constructor(key?: Uint8Array, nonce = 0n) {
    if (key !== undefined) {
      assertLength(key, AEAD_KEY_LEN, 'key');
      this.#key = key.slice();
    }
    if (typeof nonce !== 'bigint' || nonce < 0n || nonce > NONCE_LIMIT) {
      throw new RangeError('nonce must be a bigint in 0..2^64-1');
    }
    this.#lo = Number(nonce & 0xffffffffn);
    this.#hi = Number(nonce >> 32n);
  }

  /** The counter the next message will use. */
  get nonce(): bigint {
    return (BigInt(this.#hi) << 32n) | BigInt(this.#lo);
  }

  /** True once a key is set (after the first DH of a handshake, or always after split). */
  hasKey(): boolean {
    return this.#key !== undefined;
  }

  /**
   * Seals `plaintext` with `ad` under the next nonce and moves the counter on.
   * Without a key, returns `plaintext` itself.
   * @returns ciphertext ‖ 16-byte tag.
   * @throws CryptoError NOISE_BAD_MESSAGE when the result would exceed 65535 bytes,
   *   NOISE_NONCE_EXHAUSTED when the counter reached 2^64 − 1.
   */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const key = this.#key;
    if (key === undefined) return plaintext;
    if (plaintext.length > NOISE_MAX_MESSAGE_LEN - AEAD_TAG_LEN) {
      throw tooLong(plaintext.length + AEAD_TAG_LEN);
    }
    const out = chacha20poly1305Seal(key, this.#nextIv(), plaintext, ad);
    this.#advance();
    return out;
  }

  /**
   * Opens `ciphertext` (ciphertext ‖ tag) with `ad` under the next nonce.
   * On failure the counter stays where it was (§5.1), so a forged message
   * does not desynchronise the channel. Without a key, returns `ciphertext`.
   * @throws CryptoError NOISE_DECRYPT_FAILED when the tag does not verify,
   *   NOISE_BAD_MESSAGE over 65535 bytes, NOISE_NONCE_EXHAUSTED at 2^64 − 1.
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    const key = this.#key;
    if (key === undefined) return ciphertext;
    if (ciphertext.length > NOISE_MAX_MESSAGE_LEN) throw tooLong(ciphertext.length);
    let out: Uint8Array;
    try {
      out = chacha20poly1305Open(key, this.#nextIv(), ciphertext, ad);
    } catch (err) {
      if (err instanceof CryptoError && err.code === 'CRYPTO_AEAD_AUTH_FAILED') {
        throw new CryptoError('NOISE_DECRYPT_FAILED', 'Noise message did not authenticate');
      }
      throw err;
    }
    this.#advance();
    return out;
  }

  /**
   * Replaces the key with the first 32 bytes of ENCRYPT(k, 2^64 − 1, ∅, 0³²)
   * (§4.2), for forward secrecy within a long transport phase. Both sides
   * must rekey at the same point; the counter is unchanged.
   * @throws CryptoError NOISE_MISSING_KEY without a key.
   */
  rekey(): void {
    const key = this.#key;
    if (key === undefined) throw new CryptoError('NOISE_MISSING_KEY', 'rekey() without a key');
    const sealed = chacha20poly1305Seal(key, MAX_NONCE_BYTES, REKEY_ZEROS, EMPTY);
    this.#key = sealed.slice(0, AEAD_KEY_LEN);
    wipe(sealed);
    wipe(key);
  }

  /** Wipes the key (best effort) and leaves the state keyless. */
  clear(): void {
    if (this.#key !== undefined) wipe(this.#key);
    this.#key = undefined;
  }

  #nextIv(): Uint8Array {
    if (this.#lo === U32_MAX && this.#hi === U32_MAX) {
      throw new CryptoError('NOISE_NONCE_EXHAUSTED', 'Noise nonce reached 2^64-1');
    }
    this.#view.setUint32(4, this.#lo, true);
    this.#view.setUint32(8, this.#hi, true);
    return this.#iv;
  }

  #advance(): void {
    if (this.#lo === U32_MAX) {
      this.#lo = 0;
      this.#hi += 1;
    } else {
      this.#lo += 1;
    }
  }
}

function tooLong(length: number): CryptoError {
  return new CryptoError('NOISE_BAD_MESSAGE', 'Noise messages are at most 65535 bytes', {
    length,
    max: NOISE_MAX_MESSAGE_LEN,
  });
}
