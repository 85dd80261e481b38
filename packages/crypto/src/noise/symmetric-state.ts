/**
 * Noise SymmetricState (rev. 34, §5.2): the chaining key `ck` that absorbs
 * every DH result, the transcript hash `h` that absorbs every byte sent, and
 * the CipherState keyed from `ck`. Internal to the handshake.
 */
import { concatBytes, wipe } from '../bytes.js';
import { HASH_LEN, type HashName, hash, hkdfExpand, hkdfExtract } from '../hash.js';
import { CipherState } from './cipher-state.js';

const EMPTY = new Uint8Array(0);
const CIPHER_KEY_LEN = 32;

export class SymmetricState {
  readonly #alg: HashName;
  readonly #hashLen: number;
  #ck: Uint8Array;
  #h: Uint8Array;
  #cipher = new CipherState();

  /** InitializeSymmetric: `h` is the name zero-padded to HASHLEN, or its hash when longer. */
  constructor(alg: HashName, protocolName: Uint8Array) {
    this.#alg = alg;
    this.#hashLen = HASH_LEN[alg];
    if (protocolName.length <= this.#hashLen) {
      this.#h = new Uint8Array(this.#hashLen);
      this.#h.set(protocolName);
    } else {
      this.#h = hash(alg, protocolName);
    }
    this.#ck = this.#h.slice();
  }

  /** The transcript hash so far (not a copy). */
  get h(): Uint8Array {
    return this.#h;
  }

  hasKey(): boolean {
    return this.#cipher.hasKey();
  }

  /** MixKey: ck, k ← HKDF(ck, ikm); k is cut to 32 bytes when HASHLEN is 64. */
  mixKey(ikm: Uint8Array): void {
    const [ck, k] = this.#hkdf2(ikm);
    this.#ck = ck;
    this.#cipher.clear();
    this.#cipher = new CipherState(k.subarray(0, CIPHER_KEY_LEN));
    wipe(k);
  }

  /** MixHash: h ← HASH(h ‖ data). */
  mixHash(data: Uint8Array): void {
    this.#h = hash(this.#alg, concatBytes(this.#h, data));
  }

  /** EncryptAndHash: encrypts under the current key with h as AD, then hashes the ciphertext. */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ct = this.#cipher.encryptWithAd(this.#h, plaintext);
    this.mixHash(ct);
    return ct;
  }

  /**
   * DecryptAndHash. The result never aliases `ciphertext`: while there is no
   * key the spec's "plaintext" is the input itself, so it is copied.
   */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const pt = this.#cipher.hasKey()
      ? this.#cipher.decryptWithAd(this.#h, ciphertext)
      : ciphertext.slice();
    this.mixHash(ciphertext);
    return pt;
  }

  /**
   * Split: the two transport keys (initiator→responder first), each 32 bytes.
   * Wipes the chaining key and the handshake cipher: the state is spent.
   */
  split(): [Uint8Array, Uint8Array] {
    const [t1, t2] = this.#hkdf2(EMPTY);
    const k1 = t1.slice(0, CIPHER_KEY_LEN);
    const k2 = t2.slice(0, CIPHER_KEY_LEN);
    wipe(t1);
    wipe(t2);
    this.wipe();
    return [k1, k2];
  }

  /** Wipes the chaining key and the handshake cipher key (best effort). */
  wipe(): void {
    wipe(this.#ck);
    this.#cipher.clear();
  }

  /**
   * Noise's HKDF(ck, ikm) with two outputs, which is RFC 5869 with salt = ck
   * and empty info. Wipes the old ck, which every caller replaces.
   */
  #hkdf2(ikm: Uint8Array): [Uint8Array, Uint8Array] {
    const prk = hkdfExtract(this.#alg, ikm, this.#ck);
    const out = hkdfExpand(this.#alg, prk, EMPTY, 2 * this.#hashLen);
    wipe(prk);
    wipe(this.#ck);
    return [out.subarray(0, this.#hashLen), out.subarray(this.#hashLen)];
  }
}
