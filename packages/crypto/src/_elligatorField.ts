/**
 * Arithmetic in GF(2^255 − 19) on BigInt, just what Elligator2 needs: products
 * with a fast reduction, one inverse-square-root exponentiation, and
 * little-endian byte conversion. Private to elligator2.ts.
 *
 * Elligator2 cannot use X25519 itself (which only returns u), so the few
 * field operations it adds are kept here and kept few: every costly step is a
 * single exponentiation by (p − 5) / 8, reused to get inverses for free.
 */

/** The field prime p = 2^255 − 19. */
export const P = (1n << 255n) - 19n;
const MASK255 = (1n << 255n) - 1n;

/** Curve25519's Montgomery coefficient A. */
export const A = 486662n;

/**
 * Reduces 0 ≤ x < 2^512 to [0, p). Folding the bits above 2^255 back in as
 * ×19 is cheaper than BigInt division.
 */
export function red(x: bigint): bigint {
  x = (x & MASK255) + 19n * (x >> 255n);
  x = (x & MASK255) + 19n * (x >> 255n);
  return x >= P ? x - P : x;
}

/** (a · b) mod p for a, b in [0, p). */
export function mul(a: bigint, b: bigint): bigint {
  return red(a * b);
}

/** a^2 mod p. */
export function sq(a: bigint): bigint {
  return red(a * a);
}

/** (a + b) mod p for a, b in [0, p). */
export function add(a: bigint, b: bigint): bigint {
  const s = a + b;
  return s >= P ? s - P : s;
}

/** (a − b) mod p for a, b in [0, p). */
export function sub(a: bigint, b: bigint): bigint {
  const d = a - b;
  return d < 0n ? d + P : d;
}

/** −a mod p for a in [0, p). */
export function neg(a: bigint): bigint {
  return a === 0n ? 0n : P - a;
}

function sqn(x: bigint, n: number): bigint {
  for (let i = 0; i < n; i++) x = red(x * x);
  return x;
}

/** x^((p − 5) / 8) = x^(2^252 − 3), by the usual addition chain (251 squarings, 11 products). */
function powP58(x: bigint): bigint {
  const b2 = mul(sq(x), x); // x^3
  const b4 = mul(sqn(b2, 2), b2); // x^(2^4 − 1)
  const b5 = mul(sq(b4), x); // x^(2^5 − 1)
  const b10 = mul(sqn(b5, 5), b5);
  const b20 = mul(sqn(b10, 10), b10);
  const b40 = mul(sqn(b20, 20), b20);
  const b80 = mul(sqn(b40, 40), b40);
  const b160 = mul(sqn(b80, 80), b80);
  const b240 = mul(sqn(b160, 80), b80);
  const b250 = mul(sqn(b240, 10), b10);
  return mul(sqn(b250, 2), x); // x^(2^252 − 3)
}

/** sqrt(−1) = 2^((p − 1) / 4). */
export const SQRT_M1 = modPow(2n, (P - 1n) / 4n);

/** Plain square-and-multiply, for constants computed once. */
export function modPow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = base % P;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = mul(result, b);
    b = sq(b);
    e >>= 1n;
  }
  return result;
}

/**
 * Inverse square root with one exponentiation. Returns `[isSquare, r]` with
 * x·r² = 1 when x is a non-zero square, x·r² = sqrt(−1) when x is not a
 * square, and r = 0 when x = 0 (which counts as a square). The non-square
 * branch still yields a usable r so callers can recover 1/y from r (see
 * `inverseFrom`) whatever the answer.
 */
export function invSqrt(x: bigint): [boolean, bigint] {
  if (x === 0n) return [true, 0n];
  let r = powP58(x);
  // x·r² = x^((p − 1) / 4) is one of 1, −1, sqrt(−1), −sqrt(−1); multiplying
  // r by sqrt(−1) negates it, which maps −1 → 1 and −sqrt(−1) → sqrt(−1).
  const c = mul(x, sq(r));
  if (c === P - 1n || c === P - SQRT_M1) r = mul(r, SQRT_M1);
  return [c === 1n || c === P - 1n, r];
}

/**
 * 1/y, given r = invSqrt(x·y²)[1] for some non-zero x (same `isSquare`).
 * From x·y²·r² = 1 (or sqrt(−1)): 1/y = r²·x·y (times −sqrt(−1)).
 */
export function inverseFrom(r: bigint, x: bigint, y: bigint, isSquare: boolean): bigint {
  const inv = mul(mul(sq(r), x), y);
  return isSquare ? inv : mul(inv, P - SQRT_M1);
}

/** Square root of a square x (either root), or null when x is not a square. */
export function sqrt(x: bigint): bigint | null {
  const [isSquare, r] = invSqrt(x);
  return isSquare ? mul(x, r) : null;
}

/**
 * Whichever of x and −x is at most (p − 1) / 2: the "non-negative" root, as
 * Monocypher and RFC 9380 pick it.
 */
export function absolute(x: bigint): bigint {
  return x > (P - 1n) >> 1n ? P - x : x;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** 32 little-endian bytes → integer (no masking, no reduction). */
export function fromLE(bytes: Uint8Array): bigint {
  let hex = '0x';
  for (let i = 31; i >= 0; i--) hex += HEX[bytes[i]!];
  return BigInt(hex);
}

/** Integer in [0, 2^256) → 32 little-endian bytes. */
export function toLE(x: bigint): Uint8Array {
  const hex = x.toString(16).padStart(64, '0');
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(hex.slice(62 - 2 * i, 64 - 2 * i), 16);
  return out;
}
