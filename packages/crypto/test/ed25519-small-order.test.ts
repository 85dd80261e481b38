/**
 * Small-order Ed25519 keys: with A of small order, R = identity and S = 0,
 * the verification equation [S]B = R + [k]A holds for every message when
 * [k]A is the identity — OpenSSL accepts such signatures, noble does not.
 * ed25519Verify must refuse them on every backend. Likewise a signature
 * whose R is of small order, which the key's owner can make (R = identity,
 * S = k·a): libsodium refuses it, OpenSSL and noble accept it, so the
 * wrapper refuses it everywhere.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  availableBackends,
  concatBytes,
  ed25519Sign,
  ed25519Verify,
  isSmallOrderEd25519Key,
  toHex,
  utf8,
} from '../src/index.js';
import { forEachBackend } from './_backends.js';

const P = (1n << 255n) - 19n;

function encodeY(y: bigint, sign = 0): Uint8Array {
  const out = new Uint8Array(32);
  let v = y;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  out[31]! |= sign << 7;
  return out;
}

function decodeLE(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** A signature by `seed`'s owner with R = `r` (a small-order point): S = k·a mod L. */
function smallOrderRSignature(seed: Uint8Array, r: Uint8Array, msg: Uint8Array): Uint8Array {
  const L = ed25519.Point.Fn.ORDER;
  const { scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(seed);
  const k = decodeLE(sha512(concatBytes(r, pointBytes, msg))) % L;
  return concatBytes(r, encodeY((k * scalar) % L));
}

// Every small-order point, from noble: the 8-torsion is {k·T : k = 0..7}
// for T = [L]Q with Q a random point that is not torsion-free.
function torsionEncodings(): Uint8Array[] {
  const L = ed25519.Point.Fn.ORDER;
  const seen = new Map<string, Uint8Array>();
  for (let attempt = 0; attempt < 64 && seen.size < 8; attempt++) {
    let q: InstanceType<typeof ed25519.Point>;
    try {
      q = ed25519.Point.fromBytes(ed25519.utils.randomSecretKey());
    } catch {
      continue; // about half of random y values are not on the curve
    }
    const t = q.multiplyUnsafe(L - 1n).add(q);
    let p = ed25519.Point.ZERO;
    for (let k = 0; k < 8; k++) {
      const b = p.toBytes();
      seen.set(toHex(b), b);
      p = p.add(t);
    }
  }
  return [...seen.values()];
}

it('finds all eight small-order points and flags each, canonical or not', () => {
  const points = torsionEncodings();
  expect(points).toHaveLength(8);
  for (const b of points) expect(isSmallOrderEd25519Key(b)).toBe(true);
  // Non-canonical encodings y + p of y = 0 and y = 1.
  expect(isSmallOrderEd25519Key(encodeY(P))).toBe(true);
  expect(isSmallOrderEd25519Key(encodeY(P + 1n))).toBe(true);
  // The order-8 y (a fact also in libsodium's blocklist).
  expect(
    isSmallOrderEd25519Key(
      encodeY(2707385501144840649318225287225658788936804267575313519463743609750303402022n),
    ),
  ).toBe(true);
});

it('does not flag ordinary keys', () => {
  for (let i = 0; i < 200; i++) {
    const pub = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
    expect(isSmallOrderEd25519Key(pub)).toBe(false);
  }
});

forEachBackend('Ed25519 small-order keys', () => {
  it('refuses the identity-signature forgery under every small-order key', () => {
    const forged = new Uint8Array(64);
    forged[0] = 1; // R = identity (y = 1), S = 0
    for (const key of [...torsionEncodings(), encodeY(1n, 1), encodeY(P + 1n)]) {
      for (const msg of ['transfer 1000000 to attacker', '']) {
        expect(ed25519Verify(key, utf8(msg), forged)).toBe(false);
      }
    }
  });

  it('refuses signatures whose R is of small order, made by the key owner', () => {
    const seed = new Uint8Array(32).fill(3);
    const pub = ed25519.getPublicKey(seed);
    const msg = utf8('pay the same transfer twice');
    for (const r of torsionEncodings()) {
      expect(ed25519Verify(pub, msg, smallOrderRSignature(seed, r, msg))).toBe(false);
    }
  });

  it('still accepts genuine signatures', () => {
    const seed = new Uint8Array(32).fill(9);
    const pub = ed25519.getPublicKey(seed);
    const msg = utf8('genuine');
    expect(ed25519Verify(pub, msg, ed25519Sign(seed, msg))).toBe(true);
  });
});

it('the small-order-R signature is one OpenSSL and noble accept (so the wrapper check matters)', () => {
  const seed = new Uint8Array(32).fill(3);
  const pub = ed25519.getPublicKey(seed);
  const msg = utf8('pay the same transfer twice');
  const sig = smallOrderRSignature(seed, encodeY(1n), msg);
  const raw = Object.fromEntries(
    availableBackends().map((b) => [b.name, b.ed25519Verify(pub, msg, sig)]),
  );
  expect(raw.noble).toBe(true);
  if ('openssl' in raw) expect(raw.openssl).toBe(true);
  if ('sodium' in raw) expect(raw.sodium).toBe(false);
});

/**
 * Mixed-order points (a torsion part added to an ordinary point): the
 * cofactored equation 8(S·B − R − k·A) = 0 accepts signatures with such a
 * key or R that the cofactorless S·B − k·A = R (libsodium, OpenSSL) refuses.
 * noble's own verify is cofactored, so the noble backend checks the
 * cofactorless equation itself: every backend must give the same answer, or
 * a signer could make receipts that browsers accept and Node rejects.
 */
describe('Ed25519 mixed-order keys and R: every backend agrees (cofactorless)', () => {
  const L = ed25519.Point.Fn.ORDER;
  const B = ed25519.Point.BASE;
  const seed = new Uint8Array(32).fill(7);
  const { scalar } = ed25519.utils.getExtendedPublicKey(seed);
  const torsion = torsionEncodings()
    .map((b) => ed25519.Point.fromBytes(b))
    .filter((t) => !t.is0());
  const msg = utf8('receipt 42');

  function sign(aPoint: Uint8Array, r: bigint, rTorsion?: InstanceType<typeof ed25519.Point>) {
    let rp = B.multiply(r);
    if (rTorsion) rp = rp.add(rTorsion);
    const rb = rp.toBytes();
    const k = decodeLE(sha512(concatBytes(rb, aPoint, msg))) % L;
    return concatBytes(rb, encodeY((r + k * scalar) % L));
  }

  function rawAnswers(pub: Uint8Array, sig: Uint8Array): Record<string, boolean> {
    return Object.fromEntries(
      availableBackends().map((b) => [b.name, b.ed25519Verify(pub, msg, sig)]),
    );
  }

  it('a mixed-order key: backends agree signature by signature, and mostly refuse', () => {
    let accepted = 0;
    let cases = 0;
    for (const t of torsion) {
      const pub = B.multiply(scalar).add(t).toBytes();
      for (let i = 0; i < 8; i++) {
        const sig = sign(pub, 1000n + BigInt(i));
        const answers = Object.values(rawAnswers(pub, sig));
        expect(new Set(answers).size).toBe(1);
        expect(ed25519Verify(pub, msg, sig)).toBe(answers[0]);
        if (answers[0]) accepted++;
        cases++;
      }
    }
    // The cofactored check would accept all of them; cofactorless only when k·T vanishes.
    expect(cases).toBe(56);
    expect(accepted).toBeLessThan(cases / 2);
  });

  it('a mixed-order R is refused by every backend', () => {
    const pub = B.multiply(scalar).toBytes();
    for (const t of torsion) {
      const sig = sign(pub, 4242n, t);
      expect(rawAnswers(pub, sig)).toEqual(
        Object.fromEntries(availableBackends().map((b) => [b.name, false])),
      );
      expect(ed25519Verify(pub, msg, sig)).toBe(false);
    }
  });
});
