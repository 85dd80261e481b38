/**
 * Elligator2 on Curve25519: lets a handshake send its ephemeral public key as
 * 32 bytes indistinguishable from random, so a censor's deep packet
 * inspection finds no curve point on the wire (DESIGN.md promise 6).
 *
 * - `elligator2Map` (representative → u) is RFC 9380 §6.7.1's map with the
 *   non-square Z = 2, as Monocypher's `crypto_elligator_map`.
 * - `elligator2Inverse` (u → representative) follows Monocypher's
 *   `crypto_elligator_rev`, including its tweak convention.
 * - `hiddenKeyPair` makes "dirty" X25519 keys: s·B plus a random low-order
 *   point. Clean keys s·B all lie in the prime-order subgroup, and a
 *   representative that maps to such a point is recognisable (obfs4 before
 *   0.0.12 had that flaw). The clamped X25519 scalar is a multiple of 8, so
 *   the low-order part does not change any shared secret.
 *
 * The clean point s·B comes from the active backend's X25519 (native on
 * Node; noble's Edwards fixed-base multiplication in browsers); the rest is
 * one or two BigInt exponentiations per attempt, and half the attempts
 * succeed. The BigInt code is not constant time, and need not be: it only
 * sees the public key, its representative, and attempts thrown away.
 */
import { curveRhs, dirtyFromEdwards, lowOrderPoints } from './_elligatorCurve.js';
import {
  A,
  absolute,
  add,
  fromLE,
  inverseFrom,
  invSqrt,
  mul,
  neg,
  P,
  sq,
  sqrt,
  sub,
  toLE,
} from './_elligatorField.js';
import { wipe } from './bytes.js';
import type { EphemeralCodec } from './ephemeral.js';
import { assertLength } from './errors.js';
import { backend } from './select.js';

const MASK254 = (1n << 254n) - 1n;
const MASK255 = (1n << 255n) - 1n;
const A2 = sq(A);

/**
 * Direct map: a 32-byte representative (its top two bits ignored, so all
 * 2^256 strings are valid) → the Montgomery u-coordinate (32 bytes,
 * little-endian, canonical) of a Curve25519 point.
 *
 * @throws CryptoError CRYPTO_BAD_LENGTH unless `representative` is 32 bytes.
 * @example
 * const u = elligator2Map(wireBytes); // the peer's X25519 public key
 */
export function elligator2Map(representative: Uint8Array): Uint8Array {
  assertLength(representative, 32, 'representative');
  const r = fromLE(representative) & MASK254;
  // w = −A / d with d = 1 + 2r² (never 0: −1/2 is not a square). g(w), the
  // right-hand side of v² = u³ + Au² + u at u = w, equals n / d³.
  const d = add(1n, add(sq(r), sq(r)));
  const d2 = sq(d);
  const n = neg(mul(A, add(sub(A2, mul(A2, d)), d2)));
  // One exponentiation decides whether g(w) is a square (same answer as for
  // n·d³ = g(w)·d⁶) and gives 1/d on the way.
  const nd = mul(n, d);
  const [isSquare, isr] = invSqrt(mul(nd, d2));
  const w = neg(mul(A, inverseFrom(isr, nd, d, isSquare)));
  return toLE(isSquare ? w : sub(neg(w), A));
}

/**
 * Inverse map: a Montgomery u-coordinate → a representative that
 * `elligator2Map` sends back to u, or null when u has none (about half of
 * all curve points, and every u not on the curve — Monocypher skips that
 * check, which costs one more exponentiation). Bit 0 of `tweak` picks which
 * of the two representatives; bits 6–7 become the representative's top two
 * bits, which the map ignores and which must be random on the wire. This is
 * Monocypher's convention.
 *
 * `u` is read as X25519 reads public keys (top bit masked, reduced mod p), so
 * `elligator2Map(elligator2Inverse(u, t))` returns u's canonical encoding.
 *
 * @param tweak integer 0..255.
 * @throws CryptoError CRYPTO_BAD_LENGTH unless `u` is 32 bytes.
 * @throws RangeError when `tweak` is not an integer in 0..255.
 */
export function elligator2Inverse(u: Uint8Array, tweak: number): Uint8Array | null {
  assertLength(u, 32, 'u');
  if (!Number.isInteger(tweak) || tweak < 0 || tweak > 255) {
    throw new RangeError(`tweak must be an integer in 0..255, got ${tweak}`);
  }
  let x = fromLE(u) & MASK255;
  if (x >= P) x -= P;
  // A u on the twist can pass the test below yet maps to −u − A, not u;
  // such a u is no public key, so it has no representative either.
  if (!invSqrt(curveRhs(x))[0]) return null;
  return representativeOf(x, 1n, tweak)?.representative ?? null;
}

/** Result of `representativeOf`: the representative and the affine u it stands for. */
interface Represented {
  representative: Uint8Array;
  u: bigint;
}

/**
 * The representative of the point with u = num / den (den ≠ 0), or null.
 * u has one iff u ≠ −A and −2u(u + A) is a square; then
 * r = sqrt(−u / (2(u + A))) (tweak bit 0 clear) or sqrt(−(u + A) / (2u))
 * (set), taking the root at most (p − 1) / 2. Working on the fraction lets
 * the same exponentiation also return the affine u.
 */
function representativeOf(num: bigint, den: bigint, tweak: number): Represented | null {
  const numPlusA = add(num, mul(A, den)); // (u + A)·den
  if (numPlusA === 0n) return null; // u = −A maps nowhere (and is not on the curve)
  // x = −2u(u + A)·den²; invSqrt(x·den²) = ±1 / (sqrt(x)·den).
  const x = neg(mul(add(num, num), numPlusA));
  const [isSquare, isr] = invSqrt(mul(x, sq(den)));
  if (!isSquare) return null;
  // r² = num² / x = −u / (2(u + A)), or (u + A)²·den² / x = −(u + A) / (2u).
  const r = absolute(mul(mul((tweak & 1) === 0 ? num : numPlusA, isr), den));
  const representative = toLE(r);
  representative[31]! |= tweak & 0xc0;
  const affine = den === 1n || num === 0n ? num : mul(num, inverseFrom(isr, x, den, true));
  return { representative, u: affine };
}

/** An X25519 key pair whose public key has an Elligator2 representative. */
export interface HiddenKeyPair {
  /** 32 random bytes; X25519 clamps them as usual. */
  secretKey: Uint8Array;
  /** The dirty public key (Montgomery u); equals `elligator2Map(representative)`. */
  publicKey: Uint8Array;
  /** 32 bytes uniformly distributed: what goes on the wire. */
  representative: Uint8Array;
}

/** u of a point as a fraction [numerator, denominator ≠ 0]. */
type Fraction = readonly [bigint, bigint];

/**
 * u of P + T, where u0 = u(P) comes from X25519 and T = k·T8, as a
 * fraction. Null when u0 is not usable (identity, or not on the curve —
 * neither comes out of a correct X25519).
 */
function dirtyFromMontgomery(u0: bigint, k: number): Fraction | null {
  if (u0 === 0n) return null; // P = O: a scalar ≡ 0 mod L, probability ~2^-252
  if (k === 0) return [u0, 1n];
  // Adding (0, 0), the point of order 2, maps u to 1/u and needs no v.
  if (k === 4) return [1n, u0];
  const t = lowOrderPoints()[k];
  if (!t) return null; // unreachable: only k = 0 is the identity
  // Either root will do for v0: using −v0 yields u(P − T) = u(−P + T), and
  // −T is as likely as T. X25519 with the clamped scalar gives the same
  // secret for ±P ± T.
  const v0 = sqrt(curveRhs(u0));
  if (v0 === null) return null;
  // u(P + T) = λ² − A − u0 − uT with λ = (v0 − vT) / (u0 − uT), over (u0 − uT)².
  const a2 = sq(sub(u0, t.u));
  return [sub(sq(sub(v0, t.v)), mul(add(add(A, u0), t.u), a2)), a2];
}

/**
 * One attempt for `secretKey`: the dirty point s·B + k·T8 and, if it has
 * one, its representative. With the native backend s·B comes from X25519
 * and costs a square root to complete; with noble, its Edwards fixed-base
 * multiplication (faster than noble's X25519 ladder) gives the whole point.
 */
function tryHidden(secretKey: Uint8Array, k: number, tweak: number): Represented | null {
  const b = backend();
  const u =
    b.name === 'noble'
      ? dirtyFromEdwards(secretKey, k)
      : dirtyFromMontgomery(fromLE(b.x25519PublicKey(secretKey)), k);
  return u && representativeOf(u[0], u[1], tweak);
}

/**
 * A fresh X25519 key pair whose public key has a representative. The key is
 * "dirty" — s·B plus one of the 8 low-order points chosen at random — so that
 * representatives are uniform over 32-byte strings; the DH result with any
 * peer is the same as for the clean key s·B. Retries (about twice on
 * average) with a fresh secret until the point is representable.
 *
 * @example
 * const { secretKey, representative } = hiddenKeyPair();
 * send(representative); // peer: x25519(peerSecret, elligator2Map(representative))
 */
export function hiddenKeyPair(): HiddenKeyPair {
  for (;;) {
    const random = backend().randomBytes(34);
    const secretKey = random.slice(0, 32);
    const tweak = random[32]!;
    const k = random[33]! & 7;
    wipe(random);
    // Never retry another k or tweak for the same secret: accepted points
    // would then be weighted by how many of their siblings are representable,
    // which an observer can compute (the low-order part of a key is public).
    const found = tryHidden(secretKey, k, tweak);
    if (found) {
      return { secretKey, publicKey: toLE(found.u), representative: found.representative };
    }
    wipe(secretKey);
  }
}

/**
 * Ephemeral codec for handshakes on the open wire: `generate()` makes a
 * hidden key pair and sends its representative; `decode()` maps it back to
 * the public key.
 */
export const elligatorEphemeralCodec: EphemeralCodec = {
  wireLength: 32,
  generate() {
    const kp = hiddenKeyPair();
    return { secretKey: kp.secretKey, publicKey: kp.publicKey, wire: kp.representative };
  },
  decode: (wire) => elligator2Map(wire),
};
