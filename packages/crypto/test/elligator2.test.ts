/**
 * Elligator2: Monocypher's vectors, round trips, a cross-check of the direct
 * map against @noble/curves' RFC 9380 map, the dirty-key construction
 * (representable rate, uniform bits, low-order components) and DH agreement
 * on every backend.
 */
import { readFileSync } from 'node:fs';
import {
  _map_to_curve_elligator2_curve25519,
  ED25519_TORSION_SUBGROUP,
  ed25519,
} from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { curveRhs, lowOrderPoints } from '../src/_elligatorCurve.js';
import {
  CryptoError,
  elligator2Inverse,
  elligator2Map,
  elligatorEphemeralCodec,
  fromHex,
  hiddenKeyPair,
  nobleBackend,
  toHex,
  x25519,
  x25519Generate,
} from '../src/index.js';
import { forEachBackend, numRuns } from './_backends.js';

interface Vectors {
  source: string;
  direct: { representative: string; u: string }[];
  inverse: { u: string; tweak: string; ok: boolean; representative: string | null }[];
}
const V: Vectors = JSON.parse(
  readFileSync(new URL('./vectors/monocypher-elligator2.json', import.meta.url), 'utf8'),
);

const Fp = ed25519.Point.Fp;
const p = Fp.ORDER;
const L = ed25519.Point.Fn.ORDER;

function leToBig(bytes: Uint8Array): bigint {
  let x = 0n;
  for (let i = 31; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]!);
  return x;
}

function bigToLe(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((x >> BigInt(8 * i)) & 0xffn);
  return out;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof CryptoError ? e.code : `not a CryptoError: ${String(e)}`;
  }
  return undefined;
}

/** Legendre symbol is 1 (or x = 0): x is a square mod p. */
function isSquare(x: bigint): boolean {
  return Fp.pow(x, (p - 1n) / 2n) !== p - 1n;
}

/** The Edwards point (either sign of x) with Montgomery u; y = (u − 1) / (u + 1). */
function edwardsOf(u: Uint8Array) {
  const x = leToBig(u);
  return ed25519.Point.fromBytes(Fp.toBytes(Fp.div(Fp.sub(x, 1n), Fp.add(x, 1n))));
}

/** Order (1, 2, 4 or 8) of the low-order component of the point with Montgomery u. */
function lowOrderComponentOrder(u: Uint8Array): number {
  // L·Q keeps only the low-order part (L·(s·B) = O); L is odd, so the order is kept too.
  // noble's multiplyUnsafe refuses L itself, so multiply by L − 1 and add Q once more.
  const q = edwardsOf(u);
  let t = q.multiplyUnsafe(L - 1n).add(q);
  let order = 1;
  while (!t.is0()) {
    t = t.double();
    order *= 2;
    if (order > 8) throw new Error('not a low-order component');
  }
  return order;
}

/** min(r, p − r): the canonical root, as the inverse map picks it. */
function absRoot(rep: Uint8Array): string {
  const r = leToBig(rep) & ((1n << 254n) - 1n);
  return toHex(bigToLe(r <= (p - 1n) / 2n ? r : p - r));
}

/**
 * Dirty public keys built independently with noble's Edwards arithmetic:
 * consecutive points s·B, (s + 1)·B, … each plus one of the 8 low-order
 * points at random. Consecutive multiples keep this cheap (one addition each).
 */
function nobleDirtyPublicKeys(n: number): Uint8Array[] {
  const rand = new Uint8Array(32 + n);
  crypto.getRandomValues(rand);
  const torsion = ED25519_TORSION_SUBGROUP.map((h) => ed25519.Point.fromHex(h));
  let clean = ed25519.Point.BASE.multiply((leToBig(rand.subarray(0, 32)) % (L - 1n)) + 1n);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    clean = clean.add(ed25519.Point.BASE);
    const dirty = clean.add(torsion[rand[32 + i]! & 7]!);
    out.push(ed25519.utils.toMontgomery(dirty.toBytes()));
  }
  return out;
}

describe('Elligator2 Monocypher vectors', () => {
  it('keeps the source note', () => {
    expect(V.source).toMatch(/Monocypher/);
    expect(V.direct).toHaveLength(28);
    expect(V.inverse).toHaveLength(4);
  });

  it('maps every direct-map representative to its u', () => {
    for (const v of V.direct) expect(toHex(elligator2Map(fromHex(v.representative)))).toBe(v.u);
  });

  it('inverts like Monocypher (same root per tweak), null exactly where ok=false', () => {
    for (const v of V.inverse) {
      const r = elligator2Inverse(fromHex(v.u), Number.parseInt(v.tweak, 16));
      if (!v.ok) {
        expect(r).toBeNull();
        continue;
      }
      expect(r).not.toBeNull();
      expect(toHex(r!)).toBe(v.representative);
      expect(toHex(elligator2Map(r!))).toBe(v.u);
    }
  });

  it('inverts the direct-map vectors back (both tweaks), one of the two roots is the input', () => {
    for (const v of V.direct) {
      const u = fromHex(v.u);
      const r0 = elligator2Inverse(u, 0x00)!;
      const r1 = elligator2Inverse(u, 0x01)!;
      expect(toHex(elligator2Map(r0))).toBe(v.u);
      expect(toHex(elligator2Map(r1))).toBe(v.u);
      expect([toHex(r0), toHex(r1)]).toContain(absRoot(fromHex(v.representative)));
    }
  });
});

describe('elligator2Map', () => {
  it('agrees with @noble/curves RFC 9380 map_to_curve_elligator2_curve25519', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (rep) => {
        const r = leToBig(rep) & ((1n << 254n) - 1n);
        const { xMn, xMd } = _map_to_curve_elligator2_curve25519(r);
        expect(toHex(elligator2Map(rep))).toBe(toHex(bigToLe(Fp.div(xMn, xMd))));
      }),
      { numRuns: numRuns(40) },
    );
  });

  it('ignores the top two bits and returns a point on the curve', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (rep) => {
        const u = elligator2Map(rep);
        const flipped = rep.slice();
        flipped[31]! ^= 0xc0;
        expect(toHex(elligator2Map(flipped))).toBe(toHex(u));
        const x = leToBig(u);
        expect(x < p).toBe(true);
        expect(isSquare(Fp.add(Fp.mul(Fp.add(Fp.mul(x, x), Fp.mul(486662n, x)), x), x))).toBe(true);
      }),
      { numRuns: numRuns(40) },
    );
  });
});

describe('elligator2Inverse', () => {
  it('round trips random representatives with both roots and keeps the tweak top bits', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 255 }),
        (rep, tweak) => {
          const u = elligator2Map(rep);
          const roots: string[] = [];
          for (const t of [tweak & ~1, tweak | 1]) {
            const back = elligator2Inverse(u, t);
            expect(back).not.toBeNull();
            expect(back![31]! & 0xc0).toBe(t & 0xc0);
            expect(toHex(elligator2Map(back!))).toBe(toHex(u));
            back![31]! &= 0x3f;
            roots.push(toHex(back!));
          }
          // r and −r map alike; the inverse returns the root ≤ (p − 1) / 2.
          expect(roots).toContain(absRoot(rep));
        },
      ),
      { numRuns: numRuns(40) },
    );
  });

  it('returns null or a representative of u for arbitrary 32 bytes, reading u as X25519 does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const r = elligator2Inverse(bytes, 0);
        const canonical = bigToLe((leToBig(bytes) & ((1n << 255n) - 1n)) % p);
        const rhs = (() => {
          const x = leToBig(canonical);
          return Fp.add(Fp.mul(Fp.add(Fp.mul(x, x), Fp.mul(486662n, x)), x), x);
        })();
        if (r === null) {
          // Either not a curve point at all, or −2u(u + A) is not a square.
          const x = leToBig(canonical);
          expect(isSquare(rhs) && isSquare(Fp.mul(Fp.neg(2n), Fp.mul(x, Fp.add(x, 486662n))))).toBe(
            false,
          );
        } else {
          expect(toHex(elligator2Map(r))).toBe(toHex(canonical));
        }
      }),
      { numRuns: numRuns(60) },
    );
  });

  it('rejects u = −A (maps nowhere) and accepts u = 0 with both tweaks', () => {
    expect(elligator2Inverse(bigToLe(p - 486662n), 0)).toBeNull();
    expect(elligator2Inverse(bigToLe(p - 486662n), 1)).toBeNull();
    expect(toHex(elligator2Inverse(new Uint8Array(32), 0xc1)!)).toBe(`${'00'.repeat(31)}c0`);
  });

  it('finds a representative for about half of dirty public keys (built with noble)', () => {
    const n = 1000;
    let representable = 0;
    for (const [i, u] of nobleDirtyPublicKeys(n).entries()) {
      const r = elligator2Inverse(u, i & 0xff);
      if (r) {
        representable++;
        expect(toHex(elligator2Map(r))).toBe(toHex(u));
      }
    }
    expect(representable / n).toBeGreaterThan(0.4);
    expect(representable / n).toBeLessThan(0.6);
  });
});

describe('low-order points', () => {
  it('are 8 distinct points on the curve forming a cyclic group, (0, 0) at index 4', () => {
    const pts = lowOrderPoints();
    expect(pts).toHaveLength(8);
    expect(pts[0]).toBeNull();
    expect(pts[4]).toEqual({ u: 0n, v: 0n });
    const us = new Set<string>();
    for (const [k, pt] of pts.entries()) {
      if (k === 0) continue;
      expect(pt).not.toBeNull();
      expect(Fp.sqr(pt!.v)).toBe(curveRhs(pt!.u));
      us.add(`${pt!.u},${pt!.v}`);
      // k·T and (8 − k)·T are negatives of each other.
      const other = pts[8 - k]!;
      expect(other!.u).toBe(pt!.u);
      expect(Fp.add(other!.v, pt!.v)).toBe(0n);
    }
    expect(us.size).toBe(7);
  });
});

describe('hiddenKeyPair', () => {
  const N = 1000;
  const keys = Array.from({ length: N }, () => hiddenKeyPair());

  it('always returns a representable key whose representative maps to the public key', () => {
    for (const k of keys) {
      expect(k.secretKey).toHaveLength(32);
      expect(toHex(elligator2Map(k.representative))).toBe(toHex(k.publicKey));
    }
  });

  it('sets each of the 256 representative bits about half the time (top two included)', () => {
    const ones = new Array<number>(256).fill(0);
    for (const k of keys) {
      for (let bit = 0; bit < 256; bit++)
        ones[bit]! += (k.representative[bit >> 3]! >> (bit & 7)) & 1;
    }
    for (let bit = 0; bit < 256; bit++) {
      expect(ones[bit]! / N, `bit ${bit}`).toBeGreaterThan(0.4);
      expect(ones[bit]! / N, `bit ${bit}`).toBeLessThan(0.6);
    }
  });

  it('makes dirty keys: low-order components of every order, ~7/8 outside the prime-order subgroup', () => {
    const sample = keys.slice(0, 400);
    const byOrder = new Map<number, number>();
    for (const k of sample) {
      const order = lowOrderComponentOrder(k.publicKey);
      byOrder.set(order, (byOrder.get(order) ?? 0) + 1);
    }
    // Expected shares: order 1 → 1/8, 2 → 1/8, 4 → 2/8, 8 → 4/8.
    const share = (o: number) => (byOrder.get(o) ?? 0) / sample.length;
    expect(1 - share(1)).toBeGreaterThan(0.78);
    expect(1 - share(1)).toBeLessThan(0.96);
    expect(share(2)).toBeGreaterThan(0.04);
    expect(share(4)).toBeGreaterThan(0.15);
    expect(share(8)).toBeGreaterThan(0.38);
    expect(share(8)).toBeLessThan(0.62);
  });

  it('has u a non-square about half the time, unlike clean keys (the obfs4 < 0.0.12 tell)', () => {
    const dirty = keys.filter((k) => !isSquare(leToBig(k.publicKey))).length / N;
    expect(dirty).toBeGreaterThan(0.4);
    expect(dirty).toBeLessThan(0.6);
    // Every clean key s·B is a double, and u of a double is a square.
    for (let i = 0; i < 50; i++) expect(isSquare(leToBig(x25519Generate().publicKey))).toBe(true);
  });
});

forEachBackend('Elligator2 dirty keys DH', (b) => {
  it('agree with clean and hidden peers, on this backend and on noble', () => {
    for (let i = 0; i < 12; i++) {
      const me = hiddenKeyPair();
      const peer = x25519Generate();
      const other = hiddenKeyPair();
      const shared = toHex(x25519(me.secretKey, peer.publicKey));
      expect(toHex(x25519(peer.secretKey, me.publicKey))).toBe(shared);
      expect(toHex(nobleBackend.x25519(peer.secretKey, me.publicKey))).toBe(shared);
      expect(toHex(b.x25519(peer.secretKey, elligator2Map(me.representative)))).toBe(shared);
      expect(toHex(x25519(me.secretKey, other.publicKey))).toBe(
        toHex(x25519(other.secretKey, me.publicKey)),
      );
    }
  });

  it('makes representable dirty keys with low-order components of every order', () => {
    const orders = new Set<number>();
    let nonSquare = 0;
    const n = 120;
    for (let i = 0; i < n; i++) {
      const kp = hiddenKeyPair();
      expect(toHex(elligator2Map(kp.representative))).toBe(toHex(kp.publicKey));
      // Without a low-order part the key is the clean X25519 key of the secret.
      const order = lowOrderComponentOrder(kp.publicKey);
      const clean = toHex(b.x25519PublicKey(kp.secretKey));
      if (order === 1) expect(toHex(kp.publicKey)).toBe(clean);
      else expect(toHex(kp.publicKey)).not.toBe(clean);
      orders.add(order);
      if (!isSquare(leToBig(kp.publicKey))) nonSquare++;
    }
    expect([...orders].sort((x, y) => x - y)).toEqual([1, 2, 4, 8]);
    expect(nonSquare / n).toBeGreaterThan(0.3);
    expect(nonSquare / n).toBeLessThan(0.7);
  });

  it('codec: generate() sends the representative, decode() returns the public key', () => {
    expect(elligatorEphemeralCodec.wireLength).toBe(32);
    for (let i = 0; i < 8; i++) {
      const kp = elligatorEphemeralCodec.generate();
      expect(kp.wire).toHaveLength(32);
      expect(toHex(elligatorEphemeralCodec.decode(kp.wire))).toBe(toHex(kp.publicKey));
      const peer = x25519Generate();
      expect(toHex(x25519(peer.secretKey, elligatorEphemeralCodec.decode(kp.wire)))).toBe(
        toHex(x25519(kp.secretKey, peer.publicKey)),
      );
    }
  });
});

describe('Elligator2 input checks', () => {
  it('throws CRYPTO_BAD_LENGTH for wrong lengths', () => {
    for (const len of [0, 31, 33, 64]) {
      const bytes = new Uint8Array(len);
      expect(codeOf(() => elligator2Map(bytes))).toBe('CRYPTO_BAD_LENGTH');
      expect(codeOf(() => elligator2Inverse(bytes, 0))).toBe('CRYPTO_BAD_LENGTH');
      expect(codeOf(() => elligatorEphemeralCodec.decode(bytes))).toBe('CRYPTO_BAD_LENGTH');
    }
    expect(codeOf(() => elligator2Map('x'.repeat(32) as unknown as Uint8Array))).toBe(
      'CRYPTO_BAD_LENGTH',
    );
  });

  it('throws RangeError for a tweak outside 0..255', () => {
    const u = new Uint8Array(32);
    for (const t of [-1, 256, 1.5, Number.NaN]) {
      expect(() => elligator2Inverse(u, t)).toThrow(RangeError);
    }
  });
});
