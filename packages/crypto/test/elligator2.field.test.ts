/**
 * The BigInt field helpers behind Elligator2, cross-checked against
 * @noble/curves' field for edwards25519 (same prime) on random and edge values.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  absolute,
  fromLE,
  inverseFrom,
  invSqrt,
  mul,
  P,
  red,
  SQRT_M1,
  sqrt,
  toLE,
} from '../src/_elligatorField.js';
import { numRuns } from './_backends.js';

const Fp = ed25519.Point.Fp;
const element = fc.bigInt({ min: 0n, max: P - 1n });
const nonZero = fc.bigInt({ min: 1n, max: P - 1n });
const edges = [0n, 1n, 2n, P - 1n, P - 2n, (P - 1n) / 2n, (P + 1n) / 2n, SQRT_M1];

describe('Elligator2 field helpers', () => {
  it('p and sqrt(−1) are what they should be', () => {
    expect(P).toBe(Fp.ORDER);
    expect(Fp.sqr(SQRT_M1)).toBe(P - 1n);
  });

  it('red reduces every product of two elements, and the largest inputs', () => {
    fc.assert(
      fc.property(element, element, (a, b) => {
        expect(mul(a, b)).toBe(Fp.mul(a, b));
      }),
      { numRuns: numRuns(200) },
    );
    for (const x of [0n, P, P - 1n, 2n * P, (1n << 256n) - 1n, (1n << 512n) - 1n, (P - 1n) ** 2n]) {
      expect(red(x)).toBe(x % P);
    }
  });

  it('invSqrt: x·r² = 1 for squares, sqrt(−1) otherwise; agrees with noble on squareness', () => {
    const check = (x: bigint) => {
      const [isSquare, r] = invSqrt(x);
      expect(isSquare).toBe(Fp.pow(x, (P - 1n) / 2n) !== P - 1n);
      if (x === 0n) expect(r).toBe(0n);
      else expect(Fp.mul(x, Fp.sqr(r))).toBe(isSquare ? 1n : SQRT_M1);
      const root = sqrt(x);
      if (isSquare) expect(Fp.sqr(root!)).toBe(x);
      else expect(root).toBeNull();
    };
    for (const x of edges) check(x);
    fc.assert(fc.property(element, check), { numRuns: numRuns(100) });
  });

  it('inverseFrom recovers 1/y from invSqrt(x·y²) whether or not x is a square', () => {
    fc.assert(
      fc.property(nonZero, nonZero, (x, y) => {
        const [isSquare, r] = invSqrt(Fp.mul(x, Fp.sqr(y)));
        expect(Fp.mul(inverseFrom(r, x, y, isSquare), y)).toBe(1n);
      }),
      { numRuns: numRuns(100) },
    );
  });

  it('absolute picks the root ≤ (p − 1) / 2', () => {
    fc.assert(
      fc.property(element, (x) => {
        const a = absolute(x);
        expect(a <= (P - 1n) / 2n).toBe(true);
        expect([x, Fp.neg(x)]).toContain(a);
      }),
      { numRuns: numRuns(100) },
    );
  });

  it('fromLE / toLE round trip 32 bytes, little-endian', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        expect(toLE(fromLE(bytes))).toEqual(bytes);
      }),
      { numRuns: numRuns(100) },
    );
    const one = new Uint8Array(32);
    one[0] = 1;
    expect(fromLE(one)).toBe(1n);
    expect(toLE(1n << 255n)[31]).toBe(0x80);
  });
});
