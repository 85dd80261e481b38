/**
 * The sodium backend's own parts: the bounded expanded-key cache never signs
 * with a key other than the seed's (refilled arrays, eviction), BLAKE2b
 * below libsodium's 16-byte minimums and HMAC (delegated) agree
 * with noble, and the low-order DH error keeps its code.
 */
import { describe, expect, it } from 'vitest';
import { nobleBackend } from '../src/index.js';
import { loadSodiumNative, nativeBackends } from '../src/native/node.js';
import { createOpenSslBackend } from '../src/native/openssl.js';
import {
  createSodiumBackend,
  EXPANDED_KEY_CACHE_MAX,
  ExpandedKeyCache,
} from '../src/native/sodium.js';

const sodium = loadSodiumNative();

function filled(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (seed * 131 + i * 29) & 0xff;
  return out;
}

it('loads sodium-native on this platform (linux-x64 glibc) and falls back to openssl without it', () => {
  expect(sodium).not.toBeNull();
  expect(nativeBackends().map((b) => b.name)).toEqual(['sodium', 'openssl']);
  const fallback = nativeBackends(null);
  expect(fallback.map((b) => b.name)).toEqual(['openssl']);
  const seed = filled(32, 40);
  const msg = filled(10, 41);
  expect(fallback[0]!.ed25519Sign(seed, msg)).toEqual(nobleBackend.ed25519Sign(seed, msg));
});

describe.runIf(sodium)('sodium backend', () => {
  const lib = sodium!;
  const b = createSodiumBackend(lib, createOpenSslBackend());

  it('signs with the current bytes of a seed array refilled in place', () => {
    const seed = filled(32, 1);
    const msg = filled(50, 2);
    expect(b.ed25519Sign(seed, msg)).toEqual(nobleBackend.ed25519Sign(seed, msg));
    seed.set(filled(32, 3));
    expect(b.ed25519PublicKey(seed)).toEqual(nobleBackend.ed25519PublicKey(filled(32, 3)));
    expect(b.ed25519Sign(seed, msg)).toEqual(nobleBackend.ed25519Sign(filled(32, 3), msg));
  });

  it('keeps the expanded-key cache bounded and wipes evicted keys', () => {
    const cache = new ExpandedKeyCache(lib, 4);
    const first = cache.get(filled(32, 10));
    const again = cache.get(filled(32, 10));
    expect(again).toBe(first);
    expect(first.subarray(32)).toEqual(nobleBackend.ed25519PublicKey(filled(32, 10)));
    for (let i = 11; i < 20; i++) {
      cache.get(filled(32, i));
      expect(cache.size).toBeLessThanOrEqual(4);
    }
    expect(cache.size).toBe(4);
    expect(first.every((x) => x === 0)).toBe(true);
    const back = cache.get(filled(32, 10));
    expect(back.subarray(0, 32)).toEqual(filled(32, 10));
    expect(EXPANDED_KEY_CACHE_MAX).toBeGreaterThan(4);
  });

  it('hashes BLAKE2b below the 16-byte output / key minimums and HMAC over long keys and data', () => {
    for (const outLen of [1, 2, 15, 16, 64]) {
      for (const key of [undefined, filled(1, 4), filled(15, 5), filled(16, 6), filled(64, 7)]) {
        const data = filled(300, outLen);
        expect(b.blake2b(data, outLen, key)).toEqual(nobleBackend.blake2b(data, outLen, key));
      }
    }
    for (const keyLen of [0, 64, 128, 129, 300]) {
      for (const dataLen of [0, 63, 64, 5000, 20000]) {
        const key = filled(keyLen, 8);
        const data = filled(dataLen, 9);
        expect(b.hmac('blake2b', key, data)).toEqual(nobleBackend.hmac('blake2b', key, data));
        expect(b.hmac('sha256', key, data)).toEqual(nobleBackend.hmac('sha256', key, data));
      }
    }
    const key = filled(200, 10);
    b.hmac('blake2b', key, filled(10, 11));
    expect(key).toEqual(filled(200, 10));
  });

  it('reports a low-order X25519 peer as CRYPTO_DH_LOW_ORDER', () => {
    expect(() => b.x25519(filled(32, 12), new Uint8Array(32))).toThrow(
      expect.objectContaining({ code: 'CRYPTO_DH_LOW_ORDER' }),
    );
  });
});
