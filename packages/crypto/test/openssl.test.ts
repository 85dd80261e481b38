/**
 * The openssl backend (Node's fallback) and its caches and its direct libsodium AEAD: a cache never
 * answers for bytes other than the ones it is asked about (arrays refilled
 * after use, keys at odd offsets), stays bounded, and the AEAD paths agree
 * with noble on both sides of SODIUM_AEAD_MAX / SODIUM_OPEN_MAX and of the
 * scratch area.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nobleBackend, ready } from '../src/index.js';
import { PUBLIC_CACHE_MAX, publicCacheSize } from '../src/native/keys.js';
import {
  createOpenSslBackend,
  nativeReady,
  RANDOM_POOL_MAX_REQUEST,
  SODIUM_AEAD_MAX,
  SODIUM_HASH_MAX,
  SODIUM_OPEN_MAX,
} from '../src/native/openssl.js';
import { SODIUM_SCRATCH_BYTES } from '../src/native/sodium-raw.js';

const native = createOpenSslBackend();

function filled(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (seed * 131 + i * 29) & 0xff;
  return out;
}

/** `bytes` copied into a larger buffer at an odd offset. */
function offset(bytes: Uint8Array): Uint8Array {
  const big = new Uint8Array(bytes.length + 7);
  big.set(bytes, 3);
  return big.subarray(3, 3 + bytes.length);
}

beforeAll(() => Promise.all([ready(), nativeReady]));

describe('private key cache', () => {
  it('follows an X25519 secret refilled in place', () => {
    const secret = filled(32, 1);
    const peer = nobleBackend.x25519PublicKey(filled(32, 9));
    expect(native.x25519PublicKey(secret)).toEqual(nobleBackend.x25519PublicKey(secret));
    expect(native.x25519(secret, peer)).toEqual(nobleBackend.x25519(secret, peer));
    secret.set(filled(32, 2));
    expect(native.x25519PublicKey(secret)).toEqual(nobleBackend.x25519PublicKey(filled(32, 2)));
    expect(native.x25519(secret, peer)).toEqual(nobleBackend.x25519(filled(32, 2), peer));
  });

  it('follows an Ed25519 seed refilled in place', () => {
    const seed = filled(32, 3);
    const msg = filled(40, 4);
    expect(native.ed25519Sign(seed, msg)).toEqual(nobleBackend.ed25519Sign(seed, msg));
    seed[31]! ^= 0x80;
    const again = seed.slice();
    expect(native.ed25519PublicKey(seed)).toEqual(nobleBackend.ed25519PublicKey(again));
    expect(native.ed25519Sign(seed, msg)).toEqual(nobleBackend.ed25519Sign(again, msg));
  });
});

describe('public key cache', () => {
  it('keys X25519 peers by content: a refilled array gives the new result', () => {
    const secret = filled(32, 5);
    const peer = nobleBackend.x25519PublicKey(filled(32, 6)).slice();
    expect(native.x25519(secret, peer)).toEqual(nobleBackend.x25519(secret, peer));
    const other = nobleBackend.x25519PublicKey(filled(32, 7));
    peer.set(other);
    expect(native.x25519(secret, peer)).toEqual(nobleBackend.x25519(secret, other));
    expect(native.x25519(secret, offset(other))).toEqual(nobleBackend.x25519(secret, other));
  });

  it('keys Ed25519 verify keys by content', () => {
    const msg = filled(64, 8);
    const pubA = nobleBackend.ed25519PublicKey(filled(32, 10));
    const pubB = nobleBackend.ed25519PublicKey(filled(32, 11));
    const sigB = nobleBackend.ed25519Sign(filled(32, 11), msg);
    const pub = pubA.slice();
    expect(native.ed25519Verify(pub, msg, sigB)).toBe(false);
    pub.set(pubB);
    expect(native.ed25519Verify(pub, msg, sigB)).toBe(true);
    expect(native.ed25519Verify(offset(pubB), msg, offset(sigB))).toBe(true);
    pub.set(pubA);
    expect(native.ed25519Verify(pub, msg, sigB)).toBe(false);
  });

  it('stays bounded and keeps answering correctly past the bound', () => {
    const secret = filled(32, 12);
    const peer = nobleBackend.x25519PublicKey(filled(32, 13));
    const expected = nobleBackend.x25519(secret, peer);
    expect(native.x25519(secret, peer)).toEqual(expected);
    const max = PUBLIC_CACHE_MAX.X25519;
    const sample = new Uint8Array(32);
    for (let i = 0; i < max + 50; i++) {
      // Distinct peers: any 32 bytes are an X25519 u-coordinate.
      sample[0] = i & 0xff;
      sample[1] = i >> 8;
      sample[2] = 0xa5;
      native.x25519(secret, sample);
      expect(publicCacheSize('X25519')).toBeLessThanOrEqual(max);
    }
    expect(publicCacheSize('X25519')).toBe(max);
    expect(native.x25519(secret, peer)).toEqual(expected);
  });

  it('still reports a low-order peer as CRYPTO_DH_LOW_ORDER on every call', () => {
    const zero = new Uint8Array(32);
    for (let i = 0; i < 2; i++) {
      expect(() => native.x25519(filled(32, 14), zero)).toThrow(
        expect.objectContaining({ code: 'CRYPTO_DH_LOW_ORDER' }),
      );
    }
  });
});

describe('AEAD paths', () => {
  const key = filled(32, 20);
  const n12 = filled(12, 21);
  const n24 = filled(24, 22);
  // Both sides of each switch: seal by plaintext length, open by sealed length.
  const sizes = [0, 1, 63, 255, 1024, SODIUM_OPEN_MAX - 17, SODIUM_OPEN_MAX - 16];
  sizes.push(SODIUM_AEAD_MAX - 17, SODIUM_AEAD_MAX - 1, SODIUM_AEAD_MAX);
  const ads = [undefined, filled(13, 23), filled(SODIUM_SCRATCH_BYTES, 24)];

  it('agree with noble for every size, AD (incl. one larger than the scratch area) and offset', () => {
    for (const size of sizes) {
      for (const ad of ads) {
        const pt = filled(size, size);
        const s1 = native.chacha20poly1305Seal(offset(key), offset(n12), offset(pt), ad);
        expect(s1).toEqual(nobleBackend.chacha20poly1305Seal(key, n12, pt, ad));
        expect(native.chacha20poly1305Open(key, n12, offset(s1), ad && offset(ad))).toEqual(pt);
        const s2 = native.xchacha20poly1305Seal(key, offset(n24), pt, ad);
        expect(s2).toEqual(nobleBackend.xchacha20poly1305Seal(key, n24, pt, ad));
        expect(native.xchacha20poly1305Open(offset(key), n24, s2, ad)).toEqual(pt);
      }
    }
  });

  it('returns null for a flipped bit, a wrong AD and a sealed message shorter than the tag', () => {
    for (const size of [0, 100, SODIUM_OPEN_MAX, SODIUM_AEAD_MAX + 100]) {
      const pt = filled(size, 30);
      const ad = filled(5, 31);
      const s1 = native.chacha20poly1305Seal(key, n12, pt, ad);
      const s2 = native.xchacha20poly1305Seal(key, n24, pt, ad);
      for (const bit of [0, s1.length - 1]) {
        const bad1 = s1.slice();
        bad1[bit]! ^= 1;
        expect(native.chacha20poly1305Open(key, n12, bad1, ad)).toBeNull();
        const bad2 = s2.slice();
        bad2[bit]! ^= 1;
        expect(native.xchacha20poly1305Open(key, n24, bad2, ad)).toBeNull();
      }
      expect(native.chacha20poly1305Open(key, n12, s1, filled(5, 32))).toBeNull();
      expect(native.chacha20poly1305Open(key, n12, s1)).toBeNull();
      expect(native.chacha20poly1305Open(key, n12, s1, ad)).toEqual(pt);
    }
    expect(native.chacha20poly1305Open(key, n12, new Uint8Array(15))).toBeNull();
    expect(native.xchacha20poly1305Open(key, n24, new Uint8Array(0))).toBeNull();
  });

  it('returns fresh arrays that later calls do not overwrite', () => {
    const a = native.chacha20poly1305Seal(key, n12, filled(100, 40));
    const copy = a.slice();
    const pt = native.chacha20poly1305Open(key, n12, a);
    native.chacha20poly1305Seal(key, n12, filled(100, 41));
    native.chacha20poly1305Open(key, n12, native.chacha20poly1305Seal(key, n12, filled(90, 42)));
    expect(a).toEqual(copy);
    expect(pt).toEqual(filled(100, 40));
  });
});

describe('BLAKE2b and HMAC-BLAKE2b on libsodium', () => {
  it('agree with noble for keys around the block size and data past the scratch area', () => {
    for (const keyLen of [0, 1, 32, 64, 127, 128, 129, 300]) {
      for (const dataLen of [
        0,
        1,
        64,
        200,
        1024,
        SODIUM_SCRATCH_BYTES - 200,
        SODIUM_SCRATCH_BYTES,
      ]) {
        const key = filled(keyLen, keyLen + 1);
        const data = filled(dataLen, dataLen + 2);
        expect(native.hmac('blake2b', key, offset(data))).toEqual(
          nobleBackend.hmac('blake2b', key, data),
        );
      }
    }
    const lengths = [0, 3, 128, 129, SODIUM_HASH_MAX - 1, SODIUM_HASH_MAX];
    for (const dataLen of [...lengths, SODIUM_SCRATCH_BYTES - 64, SODIUM_SCRATCH_BYTES + 1]) {
      const data = filled(dataLen, dataLen + 3);
      expect(native.hash('blake2b', data)).toEqual(nobleBackend.hash('blake2b', data));
      for (const outLen of [1, 32, 64]) {
        for (const key of [undefined, filled(1, 4), filled(64, 5)]) {
          expect(native.blake2b(offset(data), outLen, key)).toEqual(
            nobleBackend.blake2b(data, outLen, key),
          );
        }
      }
    }
  });

  it('leaves the caller key untouched when it hashes a long HMAC key', () => {
    const key = filled(200, 6);
    const copy = key.slice();
    native.hmac('blake2b', key, filled(10, 7));
    expect(key).toEqual(copy);
  });
});

describe('random pool', () => {
  it('gives fresh, independent arrays of the asked length across pool refills', () => {
    const seen = new Set<string>();
    const sizes = [0, 1, 24, 32, 34, RANDOM_POOL_MAX_REQUEST, RANDOM_POOL_MAX_REQUEST + 1, 5000];
    for (let round = 0; round < 300; round++) {
      for (const n of sizes) {
        const r = native.randomBytes(n);
        expect(r).toBeInstanceOf(Uint8Array);
        expect(r.length).toBe(n);
        expect(r.byteLength).toBe(r.buffer.byteLength);
        if (n >= 24) {
          const hex = Buffer.from(r.subarray(0, 24)).toString('hex');
          expect(seen.has(hex)).toBe(false);
          seen.add(hex);
        }
      }
    }
    const a = native.randomBytes(32);
    const b = native.randomBytes(32);
    const copy = b.slice();
    a.fill(0);
    expect(b).toEqual(copy);
  });
});
