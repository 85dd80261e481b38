/**
 * Curve25519 only as far as Elligator2's dirty keys need it: in affine
 * Montgomery form (v² = u³ + Au² + u) the right-hand side and the 8
 * low-order points (built once by affine addition), and the dirty point
 * computed in Edwards form with noble, for the noble backend. Private to
 * elligator2.ts.
 */
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { A, add, fromLE, modPow, mul, P, sq, sqrt, sub } from './_elligatorField.js';

/** An affine point; null is the point at infinity (the identity). */
export type Affine = { readonly u: bigint; readonly v: bigint } | null;

/** u³ + Au² + u: v² for a point with this u. */
export function curveRhs(u: bigint): bigint {
  return mul(add(add(sq(u), mul(A, u)), 1n), u);
}

/** Affine addition, doubling included. Slow (Fermat inverse): for constants only. */
export function addPoints(p1: Affine, p2: Affine): Affine {
  if (p1 === null) return p2;
  if (p2 === null) return p1;
  let lambda: bigint;
  if (p1.u === p2.u) {
    if (add(p1.v, p2.v) === 0n) return null;
    const num = add(add(mul(3n, sq(p1.u)), mul(2n * A, p1.u)), 1n);
    lambda = mul(num, modPow(add(p1.v, p1.v), P - 2n));
  } else {
    lambda = mul(sub(p2.v, p1.v), modPow(sub(p2.u, p1.u), P - 2n));
  }
  const u3 = sub(sub(sub(sq(lambda), A), p1.u), p2.u);
  return { u: u3, v: sub(mul(lambda, sub(p1.u, u3)), p1.v) };
}

/**
 * u of a point of order 8 (one of the two; it is on the list of low-order
 * points that X25519 implementations reject, e.g. libsodium's).
 */
export const ORDER8_U =
  39382357235489614581723060781553021112529911719440698176882885853963445705823n;

let torsion: readonly Affine[] | undefined;

/**
 * The points k·T for k = 0..7, T of order 8: Curve25519's whole low-order
 * subgroup, index 0 the identity and index 4 the point (0, 0).
 */
export function lowOrderPoints(): readonly Affine[] {
  if (!torsion) {
    const v = sqrt(curveRhs(ORDER8_U));
    if (v === null) throw new Error('unreachable: the order-8 point is on the curve');
    const t: Affine = { u: ORDER8_U, v };
    const points: Affine[] = [null];
    for (let k = 1; k < 8; k++) points.push(addPoints(points[k - 1]!, t));
    torsion = points;
  }
  return torsion;
}

let edwardsTorsion: readonly (typeof ed25519.Point.BASE)[] | undefined;
const L = ed25519.Point.Fn.ORDER;

/**
 * u of clamp(secretKey)·B + T as a fraction, T the k-th of the 8 low-order
 * points (in noble's order; any fixed order is uniform for a uniform k),
 * computed on edwards25519 where the fixed-base multiplication yields the
 * whole point: u = (1 + y) / (1 − y) = (Z + Y) / (Z − Y). The scalar is
 * clamped exactly as X25519 clamps it, so the key pair is an X25519 one.
 * Null for the identity (a scalar ≡ 0 mod L, probability ~2^-252).
 */
export function dirtyFromEdwards(secretKey: Uint8Array, k: number): [bigint, bigint] | null {
  edwardsTorsion ??= ED25519_TORSION_SUBGROUP.map((hex) => ed25519.Point.fromHex(hex));
  const clamped = (fromLE(secretKey) & ((1n << 254n) - 8n)) | (1n << 254n);
  const scalar = clamped % L;
  if (scalar === 0n) return null;
  const t = edwardsTorsion[k & 7]!;
  const q = ed25519.Point.BASE.multiply(scalar).add(t);
  const y = ((q.Y % P) + P) % P;
  const z = ((q.Z % P) + P) % P;
  const den = sub(z, y);
  return den === 0n ? null : [add(z, y), den];
}
