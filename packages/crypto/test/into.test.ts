/**
 * The allocation-free wrappers (chacha20poly1305SealInto / OpenInto,
 * chacha20Xor) on every backend: published vectors, in-place use, and the
 * typed errors for wrong lengths, shifted overlaps and counter ranges.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import {
  CHACHA_MAX_COUNTER,
  chacha20poly1305OpenInto,
  chacha20poly1305Seal,
  chacha20poly1305SealInto,
  chacha20Xor,
  fromHex,
  toHex,
  utf8,
} from '../src/index.js';
import { forEachBackend } from './_backends.js';

const V = JSON.parse(readFileSync(new URL('./vectors/rfc.json', import.meta.url), 'utf8'));

// RFC 8439 §2.4.2: ChaCha20 encryption with initial block counter 1.
const SUNSCREEN =
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
const RFC8439_242 = {
  key: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
  nonce: '000000000000004a00000000',
  counter: 1,
  ciphertext:
    '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b' +
    'f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8' +
    '07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736' +
    '5af90bbf74a35be6b40b8eedf2785e42874d',
};

const code = (c: string) => expect.objectContaining({ code: c });

forEachBackend('allocation-free ChaCha20 and ChaCha20-Poly1305', () => {
  it('chacha20Xor matches RFC 8439 §2.4.2, separately and in place', () => {
    const v = RFC8439_242;
    const key = fromHex(v.key);
    const nonce = fromHex(v.nonce);
    const pt = utf8(SUNSCREEN);
    const out = new Uint8Array(pt.length);
    chacha20Xor(out, key, nonce, v.counter, pt);
    expect(toHex(out)).toBe(v.ciphertext);
    chacha20Xor(out, key, nonce, v.counter, out);
    expect(out).toEqual(pt);
  });

  it('SealInto / OpenInto match the RFC 8439 AEAD vector, in place', () => {
    const v = V.chacha20poly1305;
    const key = fromHex(v.key);
    const nonce = fromHex(v.nonce);
    const ad = fromHex(v.ad);
    const pt = utf8(v.plaintext_utf8);
    const buf = new Uint8Array(pt.length + 16);
    buf.set(pt);
    chacha20poly1305SealInto(buf, key, nonce, buf.subarray(0, pt.length), ad);
    expect(toHex(buf)).toBe(v.ciphertext + v.tag);
    const opened = new Uint8Array(pt.length);
    expect(chacha20poly1305OpenInto(opened, key, nonce, buf, ad)).toBe(true);
    expect(opened).toEqual(pt);
    expect(chacha20poly1305OpenInto(buf.subarray(0, pt.length), key, nonce, buf, ad)).toBe(true);
    expect(buf.subarray(0, pt.length)).toEqual(pt);
  });

  it('OpenInto returns false for a bad tag (out zeroed) and for a too-short input', () => {
    const key = new Uint8Array(32).fill(1);
    const nonce = new Uint8Array(12).fill(2);
    const sealed = chacha20poly1305Seal(key, nonce, utf8('hello cell'));
    sealed[0]! ^= 1;
    const out = new Uint8Array(sealed.length - 16).fill(9);
    expect(chacha20poly1305OpenInto(out, key, nonce, sealed)).toBe(false);
    expect(out).toEqual(new Uint8Array(out.length));
    expect(chacha20poly1305OpenInto(new Uint8Array(0), key, nonce, new Uint8Array(15))).toBe(false);
  });

  it('refuses wrong lengths, shifted overlaps and counters past 2^32 - 1 with typed errors', () => {
    const key = new Uint8Array(32);
    const nonce = new Uint8Array(12);
    const buf = new Uint8Array(200);
    const pt = buf.subarray(0, 100);
    expect(() => chacha20poly1305SealInto(new Uint8Array(115), key, nonce, pt)).toThrowError(
      code('CRYPTO_BAD_LENGTH'),
    );
    expect(() => chacha20poly1305SealInto(buf.subarray(1, 117), key, nonce, pt)).toThrowError(
      code('CRYPTO_BAD_OVERLAP'),
    );
    expect(() =>
      chacha20poly1305SealInto(new Uint8Array(116), key, nonce.subarray(1), pt),
    ).toThrowError(code('CRYPTO_BAD_LENGTH'));
    // Disjoint parts of one buffer are fine.
    chacha20poly1305SealInto(buf.subarray(100, 116), key, nonce, buf.subarray(0, 0));
    const sealed = buf.subarray(0, 116);
    chacha20poly1305SealInto(sealed, key, nonce, buf.subarray(0, 100));
    expect(() => chacha20poly1305OpenInto(buf.subarray(50, 150), key, nonce, sealed)).toThrowError(
      code('CRYPTO_BAD_OVERLAP'),
    );
    expect(() => chacha20poly1305OpenInto(new Uint8Array(101), key, nonce, sealed)).toThrowError(
      code('CRYPTO_BAD_LENGTH'),
    );
    const data = new Uint8Array(128);
    expect(() => chacha20Xor(new Uint8Array(127), key, nonce, 0, data)).toThrowError(
      code('CRYPTO_BAD_LENGTH'),
    );
    expect(() =>
      chacha20Xor(buf.subarray(1, 129), key, nonce, 0, buf.subarray(0, 128)),
    ).toThrowError(code('CRYPTO_BAD_OVERLAP'));
    for (const bad of [-1, 1.5, CHACHA_MAX_COUNTER - 1, 2 ** 32]) {
      expect(() => chacha20Xor(new Uint8Array(128), key, nonce, bad, data)).toThrowError(
        code('CRYPTO_BAD_LENGTH'),
      );
    }
    // The last usable blocks: counter + 2 blocks = 2^32 - 1.
    const out = new Uint8Array(128);
    chacha20Xor(out, key, nonce, CHACHA_MAX_COUNTER - 2, data);
    expect(out.some((x) => x !== 0)).toBe(true);
  });
});
