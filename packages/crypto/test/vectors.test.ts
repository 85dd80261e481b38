import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import {
  blake2b,
  blake2s,
  chacha20poly1305Open,
  chacha20poly1305Seal,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  fromHex,
  hkdf,
  hkdfExtract,
  sha256,
  sha512,
  toHex,
  utf8,
  x25519,
  x25519PublicKey,
  xchacha20poly1305Open,
  xchacha20poly1305Seal,
} from '../src/index.js';
import { forEachBackend } from './_backends.js';

const V = JSON.parse(readFileSync(new URL('./vectors/rfc.json', import.meta.url), 'utf8'));

forEachBackend('RFC 7748 X25519', () => {
  it('matches the scalar-multiplication vectors', () => {
    for (const v of V.x25519) expect(toHex(x25519(fromHex(v.scalar), fromHex(v.u)))).toBe(v.out);
  });
  it('matches the iterated vector after 1 and 1000 rounds', () => {
    let k: Uint8Array = new Uint8Array(32);
    k[0] = 9;
    let u: Uint8Array = k.slice();
    for (let i = 1; i <= 1000; i++) {
      const next = x25519(k, u);
      u = k;
      k = next;
      if (i === 1) expect(toHex(k)).toBe(V.x25519_iterated['1']);
    }
    expect(toHex(k)).toBe(V.x25519_iterated['1000']);
  });
  it('matches the Diffie-Hellman example', () => {
    const d = V.x25519_dh;
    expect(toHex(x25519PublicKey(fromHex(d.alice_secret)))).toBe(d.alice_public);
    expect(toHex(x25519PublicKey(fromHex(d.bob_secret)))).toBe(d.bob_public);
    expect(toHex(x25519(fromHex(d.alice_secret), fromHex(d.bob_public)))).toBe(d.shared);
    expect(toHex(x25519(fromHex(d.bob_secret), fromHex(d.alice_public)))).toBe(d.shared);
  });
  it('rejects low-order public keys', () => {
    const zero = new Uint8Array(32);
    const one = new Uint8Array(32);
    one[0] = 1;
    for (const bad of [zero, one]) {
      expect(() => x25519(fromHex(V.x25519_dh.alice_secret), bad)).toThrowError(
        expect.objectContaining({ code: 'CRYPTO_DH_LOW_ORDER' }),
      );
    }
  });
});

forEachBackend('RFC 8032 Ed25519', () => {
  it('derives keys, signs and verifies the test vectors', () => {
    for (const v of V.ed25519) {
      const seed = fromHex(v.secret);
      const msg = fromHex(v.message);
      expect(toHex(ed25519PublicKey(seed))).toBe(v.public);
      expect(toHex(ed25519Sign(seed, msg))).toBe(v.signature);
      expect(ed25519Verify(fromHex(v.public), msg, fromHex(v.signature))).toBe(true);
    }
  });
  it('rejects a flipped bit in message, signature or key', () => {
    const v = V.ed25519[2];
    const msg = fromHex(v.message);
    const sig = fromHex(v.signature);
    const pub = fromHex(v.public);
    for (let i = 0; i < 64; i += 7) {
      const s = sig.slice();
      s[i]! ^= 1;
      expect(ed25519Verify(pub, msg, s)).toBe(false);
    }
    const m = msg.slice();
    m[0]! ^= 0x80;
    expect(ed25519Verify(pub, m, sig)).toBe(false);
    const p = pub.slice();
    p[5]! ^= 4;
    expect(ed25519Verify(p, msg, sig)).toBe(false);
    expect(ed25519Verify(pub, msg, sig.subarray(0, 63))).toBe(false);
  });
});

forEachBackend('RFC 8439 ChaCha20-Poly1305 and XChaCha20-Poly1305', () => {
  for (const [name, seal, open] of [
    ['chacha20poly1305', chacha20poly1305Seal, chacha20poly1305Open],
    ['xchacha20poly1305', xchacha20poly1305Seal, xchacha20poly1305Open],
  ] as const) {
    it(`${name} matches the published vector and rejects tampering`, () => {
      const v = V[name];
      const key = fromHex(v.key);
      const nonce = fromHex(v.nonce);
      const ad = fromHex(v.ad);
      const pt = utf8(v.plaintext_utf8);
      const sealed = seal(key, nonce, pt, ad);
      expect(toHex(sealed)).toBe(v.ciphertext + v.tag);
      expect(open(key, nonce, sealed, ad)).toEqual(pt);
      const bad = sealed.slice();
      bad[3]! ^= 1;
      expect(() => open(key, nonce, bad, ad)).toThrowError(
        expect.objectContaining({ code: 'CRYPTO_AEAD_AUTH_FAILED' }),
      );
      expect(() => open(key, nonce, sealed, utf8('other ad'))).toThrowError(
        expect.objectContaining({ code: 'CRYPTO_AEAD_AUTH_FAILED' }),
      );
      expect(() => open(key, nonce, sealed.subarray(0, 15), ad)).toThrowError(
        expect.objectContaining({ code: 'CRYPTO_AEAD_AUTH_FAILED' }),
      );
      expect(() => seal(key.subarray(1), nonce, pt, ad)).toThrowError(
        expect.objectContaining({ code: 'CRYPTO_BAD_LENGTH' }),
      );
    });
  }
});

forEachBackend('RFC 5869 HKDF and hashes', () => {
  it('HKDF-SHA256 matches test cases 1 and 3', () => {
    for (const v of V.hkdf_sha256) {
      const salt = fromHex(v.salt);
      expect(toHex(hkdfExtract('sha256', fromHex(v.ikm), salt))).toBe(v.prk);
      expect(toHex(hkdf('sha256', fromHex(v.ikm), salt, fromHex(v.info), v.length))).toBe(v.okm);
    }
  });
  it('hashes "abc" as published', () => {
    const abc = utf8('abc');
    expect(toHex(sha256(abc))).toBe(V.hashes_of_abc.sha256);
    expect(toHex(sha512(abc))).toBe(V.hashes_of_abc.sha512);
    expect(toHex(blake2b(abc))).toBe(V.hashes_of_abc.blake2b);
    expect(toHex(blake2s(abc))).toBe(V.hashes_of_abc.blake2s);
  });
});
