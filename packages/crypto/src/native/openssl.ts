/**
 * The openssl backend: Node's fallback where sodium-native does not load
 * (musl/Alpine: its linux prebuilds link glibc). node:crypto (OpenSSL) for curves, SHA-2,
 * BLAKE2s and long messages; libsodium (WASM) for short AEAD messages and
 * short BLAKE2b / HMAC-BLAKE2b, where OpenSSL's per-call setup costs more
 * than the work, and for keyed / short-output BLAKE2b, which OpenSSL lacks.
 * Key import and caching live in keys.ts, the direct libsodium calls in
 * sodium-raw.ts. The size switches below were measured per size with
 * interleaved A/B runs (docs/drafts/cryptoperf.md).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  diffieHellman,
  randomFillSync,
  sign,
  verify,
} from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import sodium from 'libsodium-wrappers';
import type { CryptoBackend, HashName } from '../backend.js';
import { nobleBackend } from '../backends/noble.js';
import { CryptoError } from '../errors.js';
import { privateKey, publicKey, publicKeyBytes } from './keys.js';
import { type SodiumRaw, sodiumRaw } from './sodium-raw.js';

/**
 * Plaintexts shorter than this are sealed by libsodium, longer ones by
 * OpenSSL; sealed messages shorter than SODIUM_OPEN_MAX are opened by
 * libsodium. libsodium (through sodium-raw.ts) has the smaller per-call
 * cost, OpenSSL ~4× the bytes per second; OpenSSL's decrypt setup is cheaper
 * than its encrypt setup, so opening crosses over earlier.
 */
export const SODIUM_AEAD_MAX = 2048;
/** Sealed messages (ciphertext ‖ tag) shorter than this are opened by libsodium. */
export const SODIUM_OPEN_MAX = 1536;

/**
 * BLAKE2b / HMAC-BLAKE2b inputs shorter than this go to libsodium; from
 * ~4 KiB OpenSSL's lower per-byte cost wins (interleaved A/B).
 */
export const SODIUM_HASH_MAX = 4096;

let sodiumLoaded = false;
let raw: SodiumRaw | null = null;
/** Resolves once libsodium's WASM is ready; until then OpenSSL/noble serve every call. */
export const nativeReady: Promise<void> = sodium.ready.then(
  () => {
    sodiumLoaded = true;
    raw = sodiumRaw();
  },
  () => {
    // libsodium failing to load only costs speed: node:crypto still serves.
  },
);

const OPENSSL_HASH: Record<HashName, string> = {
  sha256: 'sha256',
  sha512: 'sha512',
  blake2b: 'blake2b512',
  blake2s: 'blake2s256',
};

/** Requests up to this many bytes are served from the random pool. */
export const RANDOM_POOL_MAX_REQUEST = 4096;
const RANDOM_POOL_BYTES = 65536;
const randomPool = new Uint8Array(RANDOM_POOL_BYTES);
let randomPos = RANDOM_POOL_BYTES;

/**
 * CSPRNG bytes. Each randomFillSync call costs ~3–5 µs of fixed overhead
 * (the pool: ~0.3 µs), so short requests (keys, nonces, tweaks, and the
 * ~2 KiB random padding of every data cell) are cut from a pool OpenSSL
 * refills 64 KiB at a time; bytes handed out are zeroed in the pool at once
 * and every result has its own buffer.
 */
export function randomBytes(n: number): Uint8Array {
  if (n > RANDOM_POOL_MAX_REQUEST) return randomFillSync(new Uint8Array(n));
  if (randomPos + n > RANDOM_POOL_BYTES) {
    randomFillSync(randomPool);
    randomPos = 0;
  }
  const out = randomPool.slice(randomPos, randomPos + n);
  randomPool.fill(0, randomPos, randomPos + n);
  randomPos += n;
  return out;
}

function u8(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function chachaSeal(key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, ad?: Uint8Array) {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  if (ad && ad.length > 0) c.setAAD(ad, { plaintextLength: pt.length });
  const out = Buffer.allocUnsafe(pt.length + 16);
  const n = c.update(pt).copy(out, 0);
  c.final();
  c.getAuthTag().copy(out, n);
  return u8(out);
}

function chachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad?: Uint8Array) {
  if (sealed.length < 16) return null;
  const ctLen = sealed.length - 16;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  d.setAuthTag(sealed.subarray(ctLen));
  if (ad && ad.length > 0) d.setAAD(ad, { plaintextLength: ctLen });
  const pt = d.update(sealed.subarray(0, ctLen));
  try {
    d.final();
  } catch {
    return null;
  }
  return u8(pt);
}

const NULL_AD = new Uint8Array(0);

// "expand 32-byte k" as little-endian words (RFC 8439 §2.3).
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

function xSubkey(key: Uint8Array, nonce: Uint8Array): [Uint8Array, Uint8Array] {
  const k32 = new Uint32Array(8);
  const n32 = new Uint32Array(4);
  const kv = new DataView(key.buffer, key.byteOffset, 32);
  const nv = new DataView(nonce.buffer, nonce.byteOffset, 16);
  for (let i = 0; i < 8; i++) k32[i] = kv.getUint32(4 * i, true);
  for (let i = 0; i < 4; i++) n32[i] = nv.getUint32(4 * i, true);
  const o32 = new Uint32Array(8);
  hchacha(SIGMA, k32, n32, o32);
  const subkey = new Uint8Array(32);
  const sv = new DataView(subkey.buffer);
  for (let i = 0; i < 8; i++) sv.setUint32(4 * i, o32[i]!, true);
  const n12 = new Uint8Array(12);
  n12.set(nonce.subarray(16, 24), 4);
  return [subkey, n12];
}

/**
 * Seal with libsodium: the direct path when the module exposes it, else
 * libsodium-wrappers; null when libsodium is not loaded or the input does
 * not fit the scratch area (the caller then uses OpenSSL).
 */
function sodiumSeal(
  xchacha: boolean,
  key: Uint8Array,
  nonce: Uint8Array,
  pt: Uint8Array,
  ad: Uint8Array | undefined,
): Uint8Array | null {
  if (raw) return raw.seal(xchacha, key, nonce, pt, ad);
  if (!sodiumLoaded) return null;
  return xchacha
    ? sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pt, ad ?? NULL_AD, null, nonce, key)
    : sodium.crypto_aead_chacha20poly1305_ietf_encrypt(pt, ad ?? NULL_AD, null, nonce, key);
}

/** As sodiumSeal; `false` is a tag that did not verify. */
function sodiumOpen(
  xchacha: boolean,
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array | undefined,
): Uint8Array | false | null {
  if (raw) return raw.open(xchacha, key, nonce, sealed, ad);
  if (!sodiumLoaded) return null;
  try {
    return xchacha
      ? sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed, ad ?? NULL_AD, nonce, key)
      : sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, sealed, ad ?? NULL_AD, nonce, key);
  } catch {
    return false;
  }
}

/** IETF ChaCha20 keystream XOR: OpenSSL's IV is the 32-bit block counter (LE) ‖ nonce. */
function chachaXor(
  out: Uint8Array,
  key: Uint8Array,
  nonce: Uint8Array,
  counter: number,
  input: Uint8Array,
): void {
  const iv = Buffer.allocUnsafe(16);
  iv.writeUInt32LE(counter, 0);
  iv.set(nonce, 4);
  const c = createCipheriv('chacha20', key, iv);
  out.set(c.update(input));
  c.final();
}

/**
 * The node:crypto + libsodium-WASM backend. Its `Into` variants copy the
 * result of the allocating calls (this backend only serves where
 * sodium-native is missing, so they are correct, not allocation-free).
 */
export function createOpenSslBackend(): CryptoBackend {
  const backend: CryptoBackend = {
    name: 'openssl',
    randomBytes,
    // Short BLAKE2b goes to libsodium: 2–4× faster than OpenSSL's per-call
    // setup for the inputs of handshakes and key schedules.
    hash: (alg, data) =>
      (alg === 'blake2b' && data.length < SODIUM_HASH_MAX && raw?.blake2b(data, 64, undefined)) ||
      u8(createHash(OPENSSL_HASH[alg]).update(data).digest()),
    hmac: (alg, key, data) =>
      (alg === 'blake2b' && data.length < SODIUM_HASH_MAX && raw?.hmacBlake2b(key, data)) ||
      u8(createHmac(OPENSSL_HASH[alg], key).update(data).digest()),
    blake2b: (data, outLen, key) => {
      // OpenSSL has no keyed or short BLAKE2b: libsodium serves those at any length.
      if (!key && outLen === 64 && data.length >= SODIUM_HASH_MAX) {
        return u8(createHash('blake2b512').update(data).digest());
      }
      const out = raw?.blake2b(data, outLen, key);
      if (out) return out;
      if (!key && outLen === 64) return u8(createHash('blake2b512').update(data).digest());
      if (sodiumLoaded) return sodium.crypto_generichash(outLen, data, key ?? null);
      return nobleBackend.blake2b(data, outLen, key);
    },

    x25519PublicKey: (secret) => publicKeyBytes(privateKey('X25519', secret)),
    x25519: (secret, pub) => {
      try {
        return u8(
          diffieHellman({
            privateKey: privateKey('X25519', secret),
            publicKey: publicKey('X25519', pub),
          }),
        );
      } catch {
        // OpenSSL refuses exactly when the result would be all zero.
        throw new CryptoError('CRYPTO_DH_LOW_ORDER', 'X25519 produced the all-zero secret');
      }
    },

    ed25519PublicKey: (seed) => publicKeyBytes(privateKey('Ed25519', seed)),
    ed25519Sign: (seed, message) => u8(sign(null, message, privateKey('Ed25519', seed))),
    ed25519Verify: (pub, message, signature) => {
      if (signature.length !== 64) return false;
      try {
        return verify(null, message, publicKey('Ed25519', pub), signature);
      } catch {
        return false;
      }
    },

    chacha20poly1305Seal: (key, nonce, pt, ad) =>
      (pt.length < SODIUM_AEAD_MAX ? sodiumSeal(false, key, nonce, pt, ad) : null) ??
      chachaSeal(key, nonce, pt, ad),
    chacha20poly1305Open: (key, nonce, sealed, ad) => {
      const pt = sealed.length < SODIUM_OPEN_MAX ? sodiumOpen(false, key, nonce, sealed, ad) : null;
      return pt === null ? chachaOpen(key, nonce, sealed, ad) : pt || null;
    },
    xchacha20poly1305Seal: (key, nonce, pt, ad) => {
      const sealed = pt.length < SODIUM_AEAD_MAX ? sodiumSeal(true, key, nonce, pt, ad) : null;
      if (sealed) return sealed;
      const [subkey, n12] = xSubkey(key, nonce);
      return chachaSeal(subkey, n12, pt, ad);
    },
    xchacha20poly1305Open: (key, nonce, sealed, ad) => {
      const pt = sealed.length < SODIUM_OPEN_MAX ? sodiumOpen(true, key, nonce, sealed, ad) : null;
      if (pt !== null) return pt || null;
      const [subkey, n12] = xSubkey(key, nonce);
      return chachaOpen(subkey, n12, sealed, ad);
    },
    chacha20poly1305SealInto: (out, key, nonce, pt, ad) => {
      out.set(backend.chacha20poly1305Seal(key, nonce, pt, ad));
    },
    chacha20poly1305OpenInto: (out, key, nonce, sealed, ad) => {
      const pt = backend.chacha20poly1305Open(key, nonce, sealed, ad);
      if (pt) out.set(pt);
      else out.fill(0);
      return pt !== null;
    },
    chacha20Xor: chachaXor,
  };
  return backend;
}
