/**
 * Pure-JS backend on @noble/*: runs everywhere (browsers included) and is the
 * reference implementation the native backend is cross-checked against.
 */
import { chacha20, chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { blake2b, blake2s } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import type { CryptoBackend, HashName } from '../backend.js';
import { CryptoError } from '../errors.js';

const HASHES = { sha256, sha512, blake2b, blake2s } as const;

function lowOrder(): CryptoError {
  return new CryptoError('CRYPTO_DH_LOW_ORDER', 'X25519 produced the all-zero secret');
}

const ED_L = ed25519.Point.CURVE().n;

function numberLE(bytes: Uint8Array): bigint {
  let x = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]!);
  return x;
}

/**
 * RFC 8032 verification with the cofactorless equation, as libsodium and
 * OpenSSL check it: S < L, A a canonical point encoding, and the encoding of
 * S·B − k·A equal to R byte for byte (k = SHA-512(R ‖ A ‖ M) mod L). noble's
 * own verify checks the cofactored equation 8(S·B − R − k·A) = 0, which also
 * accepts signatures made with a mixed-order key or R (a small-order part
 * added): a signer could then make signatures that browsers accept and Node
 * rejects. Throws on a malformed point (the caller maps that to false).
 */
function verifyCofactorless(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const s = numberLE(signature.subarray(32, 64));
  if (s >= ED_L) return false;
  const a = ed25519.Point.fromBytes(publicKey, false);
  const r = signature.subarray(0, 32);
  const h = new Uint8Array(64 + message.length);
  h.set(r, 0);
  h.set(publicKey, 32);
  h.set(message, 64);
  const k = numberLE(sha512(h)) % ED_L;
  const check = ed25519.Point.BASE.multiplyUnsafe(s).subtract(a.multiplyUnsafe(k)).toBytes();
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= check[i]! ^ r[i]!;
  return diff === 0;
}

export const nobleBackend: CryptoBackend = {
  name: 'noble',
  randomBytes: (n) => randomBytes(n),
  hash: (alg: HashName, data) => HASHES[alg](data),
  hmac: (alg: HashName, key, data) => hmac(HASHES[alg], key, data),
  blake2b: (data, outLen, key) => blake2b(data, key ? { dkLen: outLen, key } : { dkLen: outLen }),

  x25519PublicKey: (secret) => x25519.getPublicKey(secret),
  x25519: (secret, publicKey) => {
    let out: Uint8Array;
    try {
      out = x25519.getSharedSecret(secret, publicKey);
    } catch {
      throw lowOrder();
    }
    let acc = 0;
    for (let i = 0; i < 32; i++) acc |= out[i]!;
    if (acc === 0) throw lowOrder();
    return out;
  },

  ed25519PublicKey: (seed) => ed25519.getPublicKey(seed),
  ed25519Sign: (seed, message) => ed25519.sign(message, seed),
  ed25519Verify: (publicKey, message, signature) => {
    try {
      return verifyCofactorless(publicKey, message, signature);
    } catch {
      return false;
    }
  },

  chacha20poly1305Seal: (key, nonce, plaintext, ad) =>
    chacha20poly1305(key, nonce, ad).encrypt(plaintext),
  chacha20poly1305Open: (key, nonce, sealed, ad) => {
    try {
      return chacha20poly1305(key, nonce, ad).decrypt(sealed);
    } catch {
      return null;
    }
  },
  xchacha20poly1305Seal: (key, nonce, plaintext, ad) =>
    xchacha20poly1305(key, nonce, ad).encrypt(plaintext),
  xchacha20poly1305Open: (key, nonce, sealed, ad) => {
    try {
      return xchacha20poly1305(key, nonce, ad).decrypt(sealed);
    } catch {
      return null;
    }
  },
  chacha20poly1305SealInto: (out, key, nonce, plaintext, ad) => {
    chacha20poly1305(key, nonce, ad).encrypt(plaintext, out);
  },
  chacha20poly1305OpenInto: (out, key, nonce, sealed, ad) => {
    try {
      chacha20poly1305(key, nonce, ad).decrypt(sealed, out);
      return true;
    } catch {
      out.fill(0);
      return false;
    }
  },
  chacha20Xor: (out, key, nonce, counter, input) => {
    chacha20(key, nonce, input, out, counter);
  },
};
