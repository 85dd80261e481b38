/**
 * The sodium backend: libsodium through sodium-native's prebuilt N-API
 * binding, Node's default. One native call per AEAD, DH, signature or
 * BLAKE2b, with no per-call cipher object (node:crypto's createCipheriv) and
 * no copy into WASM memory. What libsodium lacks or does no faster is
 * delegated to the openssl backend: long SHA-2 inputs (OpenSSL's SHA
 * extensions win past SODIUM_SHA256_MAX / SODIUM_SHA512_MAX), every HMAC
 * (HMAC-BLAKE2b there runs both hashes in one call into libsodium's WASM,
 * faster than two sodium-native calls), BLAKE2s, and BLAKE2b with an output
 * or key shorter than libsodium's 16-byte minimum.
 *
 * Ed25519 signing needs libsodium's 64-byte secret key (seed ‖ public key);
 * deriving it is a base-point multiplication, most of a signature's cost, so
 * expanded keys are cached (see ExpandedKeyCache).
 */
import type { CryptoBackend } from '../backend.js';
import { CryptoError } from '../errors.js';
import { randomBytes } from './openssl.js';

/** (c, m, ad, nsec, npub, k) → bytes written. */
type AeadEncrypt = (
  c: Uint8Array,
  m: Uint8Array,
  ad: Uint8Array | null,
  nsec: null,
  npub: Uint8Array,
  k: Uint8Array,
) => number;
/** (m, nsec, c, ad, npub, k) → bytes written; throws on a bad tag. */
type AeadDecrypt = (
  m: Uint8Array,
  nsec: null,
  c: Uint8Array,
  ad: Uint8Array | null,
  npub: Uint8Array,
  k: Uint8Array,
) => number;

/** The part of sodium-native's API used here (sodium-native ships no types). */
export interface SodiumNative {
  randombytes_buf(buf: Uint8Array): void;
  crypto_hash_sha256(out: Uint8Array, input: Uint8Array): void;
  crypto_hash_sha512(out: Uint8Array, input: Uint8Array): void;
  crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array): void;
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean;
  crypto_aead_chacha20poly1305_ietf_encrypt: AeadEncrypt;
  /** Throws when the tag does not verify. */
  crypto_aead_chacha20poly1305_ietf_decrypt: AeadDecrypt;
  crypto_aead_xchacha20poly1305_ietf_encrypt: AeadEncrypt;
  crypto_aead_xchacha20poly1305_ietf_decrypt: AeadDecrypt;
  crypto_stream_chacha20_ietf_xor_ic(
    c: Uint8Array,
    m: Uint8Array,
    n: Uint8Array,
    ic: number,
    k: Uint8Array,
  ): void;
}

const TAG = 16;
/** libsodium's crypto_generichash_BYTES_MIN and _KEYBYTES_MIN. */
const B2_MIN = 16;
const B2_OUT = 64;

/**
 * SHA-256 / SHA-512 inputs shorter than these are hashed by libsodium (no
 * per-call hash object: ~0.6 against ~1.1 CPU-µs for 32 bytes), longer ones
 * by OpenSSL, whose SHA-256 uses the CPU's SHA extensions (4 KiB: 3.7
 * against 10.9 µs; SHA-512 4 KiB: 6.4 against 7.5 µs). Measured here with
 * CPU time per call, Node 20, x86-64.
 */
export const SODIUM_SHA256_MAX = 128;
export const SODIUM_SHA512_MAX = 2048;

/** Expanded Ed25519 secret keys kept at most; beyond this the oldest goes (and is wiped). */
export const EXPANDED_KEY_CACHE_MAX = 256;

/**
 * seed → libsodium secret key (seed ‖ public key), bounded, oldest out.
 * Entries are found by a BLAKE2b of the seed under a per-process random key
 * (no secret bytes become a JS string) and then checked against the seed
 * itself, which is the first half of the cached key, so a refilled array or
 * a hash collision can never sign with another key.
 */
export class ExpandedKeyCache {
  private readonly map = new Map<string, Uint8Array>();
  private readonly idKey: Uint8Array;
  private readonly id = new Uint8Array(16);

  constructor(
    private readonly sodium: SodiumNative,
    readonly max = EXPANDED_KEY_CACHE_MAX,
  ) {
    this.idKey = new Uint8Array(32);
    sodium.randombytes_buf(this.idKey);
  }

  get size(): number {
    return this.map.size;
  }

  /** The 64-byte secret key for `seed` (the cache's own array: do not keep or change it). */
  get(seed: Uint8Array): Uint8Array {
    this.sodium.crypto_generichash(this.id, seed, this.idKey);
    const id = Buffer.from(this.id.buffer, this.id.byteOffset, 16).toString('latin1');
    const hit = this.map.get(id);
    if (hit && sameSeed(hit, seed)) return hit;
    const sk = new Uint8Array(64);
    this.sodium.crypto_sign_seed_keypair(sk.subarray(32), sk, seed);
    if (hit) hit.fill(0);
    else if (this.map.size >= this.max) {
      const oldest = this.map.keys().next().value as string;
      this.map.get(oldest)?.fill(0);
      this.map.delete(oldest);
    }
    this.map.set(id, sk);
    return sk;
  }
}

function sameSeed(sk: Uint8Array, seed: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < 32; i++) acc |= sk[i]! ^ seed[i]!;
  return acc === 0;
}

function lowOrder(): CryptoError {
  return new CryptoError('CRYPTO_DH_LOW_ORDER', 'X25519 produced the all-zero secret');
}

export function createSodiumBackend(sodium: SodiumNative, fallback: CryptoBackend): CryptoBackend {
  const keys = new ExpandedKeyCache(sodium);

  function blake2b(data: Uint8Array, outLen: number, key?: Uint8Array): Uint8Array {
    if (outLen < B2_MIN || (key && key.length > 0 && key.length < B2_MIN)) {
      return fallback.blake2b(data, outLen, key);
    }
    const out = new Uint8Array(outLen);
    sodium.crypto_generichash(out, data, key && key.length > 0 ? key : undefined);
    return out;
  }

  function open(
    xchacha: boolean,
    out: Uint8Array,
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    ad: Uint8Array | undefined,
  ): boolean {
    try {
      if (xchacha) {
        sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
          out,
          null,
          sealed,
          ad ?? null,
          nonce,
          key,
        );
      } else {
        sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, sealed, ad ?? null, nonce, key);
      }
      return true;
    } catch {
      return false;
    }
  }

  function seal(
    xchacha: boolean,
    key: Uint8Array,
    nonce: Uint8Array,
    pt: Uint8Array,
    ad: Uint8Array | undefined,
  ): Uint8Array {
    const out = new Uint8Array(pt.length + TAG);
    if (xchacha) {
      sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, pt, ad ?? null, null, nonce, key);
    } else {
      sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, pt, ad ?? null, null, nonce, key);
    }
    return out;
  }

  function openNew(
    xchacha: boolean,
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    ad: Uint8Array | undefined,
  ): Uint8Array | null {
    if (sealed.length < TAG) return null;
    const out = new Uint8Array(sealed.length - TAG);
    return open(xchacha, out, key, nonce, sealed, ad) ? out : null;
  }

  return {
    name: 'sodium',
    // The pool of the openssl backend: one fill per 64 KiB, ~0.3 µs a call.
    randomBytes,
    hash: (alg, data) => {
      if (alg === 'blake2b') return blake2b(data, B2_OUT);
      if (alg === 'sha256' && data.length < SODIUM_SHA256_MAX) {
        const out = new Uint8Array(32);
        sodium.crypto_hash_sha256(out, data);
        return out;
      }
      if (alg === 'sha512' && data.length < SODIUM_SHA512_MAX) {
        const out = new Uint8Array(64);
        sodium.crypto_hash_sha512(out, data);
        return out;
      }
      return fallback.hash(alg, data);
    },
    // HMAC-BLAKE2b as two sodium-native calls measured 1.7 CPU-µs for 64
    // bytes against 0.9 on the openssl backend's direct libsodium-WASM path
    // (one call into WASM does both hashes); HMAC-SHA-2 is OpenSSL's.
    hmac: (alg, key, data) => fallback.hmac(alg, key, data),
    blake2b,

    x25519PublicKey: (secret) => {
      const out = new Uint8Array(32);
      sodium.crypto_scalarmult_base(out, secret);
      return out;
    },
    x25519: (secret, pub) => {
      const out = new Uint8Array(32);
      try {
        // libsodium fails exactly when the result would be all zero.
        sodium.crypto_scalarmult(out, secret, pub);
      } catch {
        throw lowOrder();
      }
      return out;
    },

    ed25519PublicKey: (seed) => keys.get(seed).slice(32),
    ed25519Sign: (seed, message) => {
      const sig = new Uint8Array(64);
      sodium.crypto_sign_detached(sig, message, keys.get(seed));
      return sig;
    },
    ed25519Verify: (pub, message, signature) =>
      signature.length === 64 &&
      pub.length === 32 &&
      sodium.crypto_sign_verify_detached(signature, message, pub),

    chacha20poly1305Seal: (key, nonce, pt, ad) => seal(false, key, nonce, pt, ad),
    chacha20poly1305Open: (key, nonce, sealed, ad) => openNew(false, key, nonce, sealed, ad),
    xchacha20poly1305Seal: (key, nonce, pt, ad) => seal(true, key, nonce, pt, ad),
    xchacha20poly1305Open: (key, nonce, sealed, ad) => openNew(true, key, nonce, sealed, ad),
    chacha20poly1305SealInto: (out, key, nonce, pt, ad) => {
      sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, pt, ad ?? null, null, nonce, key);
    },
    chacha20poly1305OpenInto: (out, key, nonce, sealed, ad) =>
      open(false, out, key, nonce, sealed, ad),
    chacha20Xor: (out, key, nonce, counter, input) => {
      sodium.crypto_stream_chacha20_ietf_xor_ic(out, input, nonce, counter, key);
    },
  };
}
