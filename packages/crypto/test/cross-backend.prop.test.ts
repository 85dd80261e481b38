/**
 * Every backend must compute the same bytes as the noble reference, for
 * random inputs and for both sides of the openssl backend's size switches
 * (libsodium WASM below SODIUM_OPEN_MAX / SODIUM_AEAD_MAX, OpenSSL above),
 * including the allocation-free `Into` variants and ChaCha20 with a counter
 * (separate arrays and in place).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { availableBackends, type CryptoBackend, nobleBackend, ready } from '../src/index.js';
import { numRuns } from './_backends.js';

const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((a) => new Uint8Array(a));
const key32 = bytes(32, 32);
const msg = fc.oneof(
  bytes(0, 300),
  bytes(100, 160),
  bytes(1450, 1600),
  bytes(1900, 2200),
  bytes(4000, 9000),
);
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

    it('SealInto / OpenInto agree with Seal / Open, separate and in place', () => {
      fc.assert(
        fc.property(key32, bytes(12, 12), msg, bytes(0, 40), (k, n12, m, ad) => {
          const a = ad.length ? ad : undefined;
          const expected = nobleBackend.chacha20poly1305Seal(k, n12, m, a);
          const out = new Uint8Array(m.length + 16);
          b.chacha20poly1305SealInto(out, k, n12, m, a);
          expect(out).toEqual(expected);
          // In place: plaintext at the start of a buffer 16 bytes longer.
          const buf = new Uint8Array(m.length + 16 + 5);
          buf.set(m, 3);
          const region = buf.subarray(3, 3 + m.length + 16);
          b.chacha20poly1305SealInto(region, k, n12, region.subarray(0, m.length), a);
          expect(region).toEqual(expected);
          const pt = new Uint8Array(m.length).fill(0xee);
          expect(b.chacha20poly1305OpenInto(pt, k, n12, expected, a)).toBe(true);
          expect(pt).toEqual(m);
          expect(b.chacha20poly1305OpenInto(region.subarray(0, m.length), k, n12, region, a)).toBe(
            true,
          );
          expect(region.subarray(0, m.length)).toEqual(m);
          const bad = expected.slice();
          bad[(m.length * 5) % bad.length]! ^= 4;
          // A failed open leaves no plaintext: out is zeroed on every backend.
          for (const be of [b, nobleBackend]) {
            const wiped = new Uint8Array(m.length).fill(0x5a);
            expect(be.chacha20poly1305OpenInto(wiped, k, n12, bad, a)).toBe(false);
            expect(wiped.every((x) => x === 0)).toBe(true);
          }
        }),
        { numRuns: Math.max(20, Math.floor(runs / 5)) },
      );
    });

    it('chacha20Xor agrees for any counter, separate and in place, and inverts itself', () => {
      const counter = fc.oneof(
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 0xffffffff - 200 }),
      );
      fc.assert(
        fc.property(key32, bytes(12, 12), counter, msg, (k, n12, ctr, m) => {
          const expected = new Uint8Array(m.length);
          nobleBackend.chacha20Xor(expected, k, n12, ctr, m);
          const out = new Uint8Array(m.length);
          b.chacha20Xor(out, k, n12, ctr, m);
          expect(out).toEqual(expected);
          const inPlace = m.slice();
          b.chacha20Xor(inPlace, k, n12, ctr, inPlace);
          expect(inPlace).toEqual(expected);
          b.chacha20Xor(inPlace, k, n12, ctr, inPlace);
          expect(inPlace).toEqual(m);
        }),
        { numRuns: Math.max(20, Math.floor(runs / 5)) },
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

it('has the sodium and openssl backends on this Node (linux-x64 glibc), so the checks above ran on both', () => {
  expect(others.map((b) => b.name)).toEqual(['sodium', 'openssl']);
});
