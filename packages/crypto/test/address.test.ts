import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADDRESS_LENGTH,
  ed25519PublicKey,
  ed25519PublicToX25519,
  encodeAddress,
  Identity,
  isAddress,
  parseAddress,
  x25519,
} from '../src/index.js';
import { numRuns } from './_backends.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('addresses', () => {
  it('are one lowercase DNS label of 58 characters that round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        const pub = ed25519PublicKey(new Uint8Array(seed));
        const a = encodeAddress(pub);
        expect(a).toMatch(/^[a-z2-7]{58}$/);
        expect(a.length).toBe(ADDRESS_LENGTH);
        expect(`${a}`.length).toBeLessThanOrEqual(63);
        expect(parseAddress(a)).toEqual(pub);
        expect(parseAddress(`${a.toUpperCase()}.MESH`)).toEqual(pub);
      }),
      { numRuns: numRuns(200) },
    );
  });

  it('rejects every single-character typo with a checksum or key error', () => {
    const a = Identity.generate().address;
    let checked = 0;
    for (let i = 0; i < a.length; i++) {
      for (const c of ALPHABET) {
        if (c === a[i]) continue;
        const typo = a.slice(0, i) + c + a.slice(i + 1);
        expect(['ADDRESS_BAD_CHECKSUM', 'ADDRESS_BAD_VERSION']).toContain(
          code(() => parseAddress(typo)),
        );
        checked++;
      }
    }
    expect(checked).toBe(58 * 31);
  });

  it('rejects swapped neighbours', () => {
    const a = Identity.generate().address;
    for (let i = 0; i + 1 < a.length; i++) {
      if (a[i] === a[i + 1]) continue;
      const swapped = a.slice(0, i) + a[i + 1] + a[i] + a.slice(i + 2);
      expect(isAddress(swapped)).toBe(false);
    }
  });

  it('gives a clear code for each kind of bad input', () => {
    const a = Identity.generate().address;
    expect(code(() => parseAddress(a.slice(1)))).toBe('ADDRESS_BAD_LENGTH');
    expect(code(() => parseAddress(`${a}x`))).toBe('ADDRESS_BAD_LENGTH');
    expect(code(() => parseAddress(`${a.slice(0, 10)}1${a.slice(11)}`))).toBe(
      'ADDRESS_BAD_CHARACTER',
    );
    expect(code(() => parseAddress(`${a.slice(0, 10)}é${a.slice(11)}`))).toBe(
      'ADDRESS_BAD_CHARACTER',
    );
    expect(code(() => parseAddress(''))).toBe('ADDRESS_BAD_LENGTH');
    // The neutral element (y = 1) is a valid encoding but a small-order key.
    const identityPoint = new Uint8Array(32);
    identityPoint[0] = 1;
    expect(code(() => parseAddress(encodeAddress(identityPoint)))).toBe('ADDRESS_BAD_KEY');
    expect(code(() => encodeAddress(new Uint8Array(31)))).toBe('ADDRESS_BAD_LENGTH');
  });
});

describe('identity keys', () => {
  it('derive an X25519 key whose public half matches the Ed25519 key', () => {
    for (let i = 0; i < 20; i++) {
      const id = Identity.generate();
      expect(ed25519PublicToX25519(id.publicKey)).toEqual(id.dhPublicKey);
    }
  });
  it('agree on a DH secret computed from each other’s address', () => {
    const a = Identity.generate();
    const b = Identity.generate();
    const ab = x25519(a.dhSecretKey, ed25519PublicToX25519(parseAddress(b.address)));
    const ba = x25519(b.dhSecretKey, ed25519PublicToX25519(parseAddress(a.address)));
    expect(ab).toEqual(ba);
  });
  it('are reproducible from the seed alone', () => {
    const a = Identity.generate();
    const b = Identity.fromSeed(a.seed);
    expect(b.address).toBe(a.address);
    expect(b.dhPublicKey).toEqual(a.dhPublicKey);
  });
});
