/**
 * Native backend for Node: node:crypto (OpenSSL) for everything it does
 * fast, libsodium (WASM) for short AEAD messages where OpenSSL's per-call
 * cipher setup dominates, and for keyed / short BLAKE2b which OpenSSL lacks.
 *
 * Raw keys are imported into node:crypto as JWK, which is ~10× cheaper than
 * DER/PKCS#8. OpenSSL ignores the JWK `x` of an OKP private key and derives
 * the public key from `d`; the cross-backend tests check that assumption.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
  randomFillSync,
  sign,
  verify,
} from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import sodium from 'libsodium-wrappers';
import type { CryptoBackend, HashName } from '../backend.js';
import { nobleBackend } from '../backends/noble.js';
import { CryptoError } from '../errors.js';

/** Messages shorter than this use libsodium's AEAD (faster setup), longer ones OpenSSL. */
export const SODIUM_AEAD_MAX = 2048;

let sodiumLoaded = false;
/** Resolves once libsodium's WASM is ready; until then OpenSSL/noble serve every call. */
export const nativeReady: Promise<void> = sodium.ready.then(
  () => {
    sodiumLoaded = true;
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

const DUMMY_X = Buffer.alloc(32).toString('base64url');

function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function u8(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

// Private keys are cached by array identity: long-lived keys (identity, link
// statics) are imported once; a fresh array is a fresh import.
const privCache = { X25519: new WeakMap<Uint8Array, KeyObject>(), Ed25519: new WeakMap() };

function privateKey(crv: 'X25519' | 'Ed25519', secret: Uint8Array): KeyObject {
  const cache = privCache[crv] as WeakMap<Uint8Array, KeyObject>;
  let key = cache.get(secret);
  if (!key) {
    key = createPrivateKey({
      key: { kty: 'OKP', crv, d: b64u(secret), x: DUMMY_X },
      format: 'jwk',
    });
    cache.set(secret, key);
  }
  return key;
}

// Verify keys are few (descriptor and gateway signers) and reused: a small
// bounded map keyed by the key's text.
const VERIFY_CACHE_MAX = 4096;
const verifyCache = new Map<string, KeyObject>();

function ed25519PublicKeyObject(pub: Uint8Array): KeyObject {
  const x = b64u(pub);
  let key = verifyCache.get(x);
  if (!key) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    if (verifyCache.size >= VERIFY_CACHE_MAX) {
      verifyCache.delete(verifyCache.keys().next().value as string);
    }
    verifyCache.set(x, key);
  }
  return key;
}

function publicKeyBytes(priv: KeyObject): Uint8Array {
  const jwk = createPublicKey(priv).export({ format: 'jwk' });
  return u8(Buffer.from(jwk.x as string, 'base64url'));
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

export function createNativeBackend(): CryptoBackend {
  return {
    name: 'native',
    randomBytes: (n) => randomFillSync(new Uint8Array(n)),
    hash: (alg, data) => u8(createHash(OPENSSL_HASH[alg]).update(data).digest()),
    hmac: (alg, key, data) => u8(createHmac(OPENSSL_HASH[alg], key).update(data).digest()),
    blake2b: (data, outLen, key) => {
      if (!key && outLen === 64) return u8(createHash('blake2b512').update(data).digest());
      if (sodiumLoaded) return sodium.crypto_generichash(outLen, data, key ?? null);
      return nobleBackend.blake2b(data, outLen, key);
    },

    x25519PublicKey: (secret) => publicKeyBytes(privateKey('X25519', secret)),
    x25519: (secret, publicKey) => {
      const pub = createPublicKey({
        key: { kty: 'OKP', crv: 'X25519', x: b64u(publicKey) },
        format: 'jwk',
      });
      try {
        return u8(diffieHellman({ privateKey: privateKey('X25519', secret), publicKey: pub }));
      } catch {
        // OpenSSL refuses exactly when the result would be all zero.
        throw new CryptoError('CRYPTO_DH_LOW_ORDER', 'X25519 produced the all-zero secret');
      }
    },

    ed25519PublicKey: (seed) => publicKeyBytes(privateKey('Ed25519', seed)),
    ed25519Sign: (seed, message) => u8(sign(null, message, privateKey('Ed25519', seed))),
    ed25519Verify: (publicKey, message, signature) => {
      if (signature.length !== 64) return false;
      try {
        return verify(null, message, ed25519PublicKeyObject(publicKey), signature);
      } catch {
        return false;
      }
    },

    chacha20poly1305Seal: (key, nonce, pt, ad) =>
      sodiumLoaded && pt.length < SODIUM_AEAD_MAX
        ? sodium.crypto_aead_chacha20poly1305_ietf_encrypt(pt, ad ?? NULL_AD, null, nonce, key)
        : chachaSeal(key, nonce, pt, ad),
    chacha20poly1305Open: (key, nonce, sealed, ad) => {
      if (sodiumLoaded && sealed.length < SODIUM_AEAD_MAX) {
        try {
          return sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
            null,
            sealed,
            ad ?? NULL_AD,
            nonce,
            key,
          );
        } catch {
          return null;
        }
      }
      return chachaOpen(key, nonce, sealed, ad);
    },
    xchacha20poly1305Seal: (key, nonce, pt, ad) => {
      if (sodiumLoaded && pt.length < SODIUM_AEAD_MAX) {
        return sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
          pt,
          ad ?? NULL_AD,
          null,
          nonce,
          key,
        );
      }
      const [subkey, n12] = xSubkey(key, nonce);
      return chachaSeal(subkey, n12, pt, ad);
    },
    xchacha20poly1305Open: (key, nonce, sealed, ad) => {
      if (sodiumLoaded && sealed.length < SODIUM_AEAD_MAX) {
        try {
          return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            null,
            sealed,
            ad ?? NULL_AD,
            nonce,
            key,
          );
        } catch {
          return null;
        }
      }
      const [subkey, n12] = xSubkey(key, nonce);
      return chachaOpen(subkey, n12, sealed, ad);
    },
  };
}
