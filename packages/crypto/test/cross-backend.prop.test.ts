/**
 * Every backend must compute the same bytes as the noble reference, for
 * random inputs and for both sides of the native backend's size switches
 * (libsodium below SODIUM_OPEN_MAX / SODIUM_AEAD_MAX, OpenSSL above).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { availableBackends, type CryptoBackend, nobleBackend, ready } from '../src/index.js';
import { numRuns } from './_backends.js';

const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((a) => new Uint8Array(a));
const key32 = bytes(32, 32);
const msg = fc.oneof(bytes(0, 300), bytes(1450, 1600), bytes(1900, 2200), bytes(4000, 9000));
const runs = numRuns(150);

const others = availableBackends().filter((b) => b !== nobleBackend);

describe.each(others.map((b) => [b.name, b] as const))(
  '%s backend equals noble',
  (_n, b: CryptoBackend) => {
    beforeAll(() => ready());

    it('hashes, HMAC and keyed/short BLAKE2b', () => {
      fc.assert(
        fc.property(msg, bytes(0, 80), fc.integer({ min: 1, max: 64 }), (m, k, outLen) => {
          for (const alg of ['sha256', 'sha512', 'blake2b', 'blake2s'] as const) {
            expect(b.hash(alg, m)).toEqual(nobleBackend.hash(alg, m));
            expect(b.hmac(alg, k, m)).toEqual(nobleBackend.hmac(alg, k, m));
          }
          const bk = k.subarray(0, 64);
          expect(b.blake2b(m, outLen, bk.length ? bk : undefined)).toEqual(
            nobleBackend.blake2b(m, outLen, bk.length ? bk : undefined),
          );
        }),
        { numRuns: runs },
      );
    });

    it('AEAD seal and open agree in both directions, with and without AD', () => {
      fc.assert(
        fc.property(key32, bytes(24, 24), msg, bytes(0, 40), (k, n24, m, ad) => {
          const n12 = n24.subarray(0, 12);
          const a = ad.length ? ad : undefined;
          const s1 = b.chacha20poly1305Seal(k, n12, m, a);
          expect(s1).toEqual(nobleBackend.chacha20poly1305Seal(k, n12, m, a));
          expect(nobleBackend.chacha20poly1305Open(k, n12, s1, a)).toEqual(m);
          expect(b.chacha20poly1305Open(k, n12, s1, a)).toEqual(m);
          const s2 = b.xchacha20poly1305Seal(k, n24, m, a);
          expect(s2).toEqual(nobleBackend.xchacha20poly1305Seal(k, n24, m, a));
          expect(b.xchacha20poly1305Open(k, n24, s2, a)).toEqual(m);
          const bad = s2.slice();
          bad[bad.length - 1]! ^= 1;
          expect(b.xchacha20poly1305Open(k, n24, bad, a)).toBeNull();
          expect(b.chacha20poly1305Open(k, n12, bad.subarray(0, s1.length), a)).toBeNull();
        }),
        { numRuns: runs },
      );
    });

    it('X25519 and Ed25519 agree', () => {
      fc.assert(
        fc.property(key32, key32, bytes(0, 200), (s1, s2, m) => {
          const p2 = nobleBackend.x25519PublicKey(s2);
          expect(b.x25519PublicKey(s1)).toEqual(nobleBackend.x25519PublicKey(s1));
          expect(b.x25519(s1, p2)).toEqual(nobleBackend.x25519(s1, p2));
          const pub = nobleBackend.ed25519PublicKey(s1);
          expect(b.ed25519PublicKey(s1)).toEqual(pub);
          const sig = b.ed25519Sign(s1, m);
          expect(sig).toEqual(nobleBackend.ed25519Sign(s1, m));
          expect(b.ed25519Verify(pub, m, sig)).toBe(true);
          const bad = sig.slice();
          bad[(m.length * 7) % 64]! ^= 2;
          expect(b.ed25519Verify(pub, m, bad)).toBe(false);
          expect(nobleBackend.ed25519Verify(pub, m, bad)).toBe(false);
        }),
        { numRuns: Math.max(20, Math.floor(runs / 3)) },
      );
    });
  },
);

it('has a native backend on Node, so the cross-check above ran', () => {
  expect(others.map((b) => b.name)).toEqual(['native']);
});
