/**
 * Noise handshake behaviour beyond the fixed vectors: round trips between
 * fresh parties (property-based), every failure path and its code, the
 * transport CipherState (replay, nonce limit, rekey), and the ephemeral codec
 * path with a small test codec.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CipherState,
  CryptoError,
  chacha20poly1305Seal,
  type EphemeralCodec,
  elligator2Map,
  elligatorEphemeralCodec,
  type HandshakeOptions,
  HandshakeState,
  NOISE_MAX_MESSAGE_LEN,
  NOISE_PATTERNS,
  type NoiseHash,
  type NoisePatternName,
  noiseProtocolName,
  plainEphemeralCodec,
  utf8,
  type X25519KeyPair,
  x25519Generate,
} from '../src/index.js';
import { forEachBackend, numRuns } from './_backends.js';

const PATTERNS = Object.keys(NOISE_PATTERNS) as NoisePatternName[];
const HASHES: NoiseHash[] = ['SHA256', 'BLAKE2b', 'BLAKE2s'];
const EMPTY = new Uint8Array(0);

interface PairOptions {
  hash?: NoiseHash;
  prologue?: [Uint8Array, Uint8Array];
  codec?: [EphemeralCodec, EphemeralCodec];
  protocolName?: [string | undefined, string | undefined];
  /** Overrides the rs each side is given (when the pattern pre-knows one). */
  rs?: [Uint8Array | undefined, Uint8Array | undefined];
}

interface Pair {
  init: HandshakeState;
  resp: HandshakeState;
  iStatic: X25519KeyPair;
  rStatic: X25519KeyPair;
  length: number;
}

/** Two fresh parties for `pattern`, each given exactly the keys the pattern needs. */
function pair(pattern: NoisePatternName, o: PairOptions = {}): Pair {
  const p = NOISE_PATTERNS[pattern];
  const iStatic = x25519Generate();
  const rStatic = x25519Generate();
  const side = (initiator: boolean): HandshakeState => {
    const k = initiator ? 0 : 1;
    const peer = initiator ? rStatic : iStatic;
    const pre = initiator ? p.responderStaticKnown : p.initiatorStaticKnown;
    const opts: HandshakeOptions = {
      pattern,
      initiator,
      s: initiator ? iStatic : rStatic,
    };
    if (o.hash) opts.hash = o.hash;
    if (o.prologue) opts.prologue = o.prologue[k];
    if (o.codec) opts.ephemeralCodec = o.codec[k];
    const name = o.protocolName?.[k];
    if (name !== undefined) opts.protocolName = name;
    if (pre) opts.rs = o.rs?.[k] ?? peer.publicKey;
    return new HandshakeState(opts);
  };
  return { init: side(true), resp: side(false), iStatic, rStatic, length: p.messages.length };
}

/** The writer and reader of message `i`. */
function turn(pr: Pair, i: number): [HandshakeState, HandshakeState] {
  return i % 2 === 0 ? [pr.init, pr.resp] : [pr.resp, pr.init];
}

/** Exchanges the first `n` handshake messages (empty payloads). */
function upTo(pr: Pair, n: number): Pair {
  for (let i = 0; i < n; i++) {
    const [w, r] = turn(pr, i);
    r.readMessage(w.writeMessage());
  }
  return pr;
}

/**
 * Runs the handshake, passing each message through `deliver` (for
 * tampering), then one transport message each way. Returns the payloads
 * each reader saw.
 */
function run(
  pr: Pair,
  payloads: Uint8Array[] = [],
  deliver: (msg: Uint8Array, index: number) => Uint8Array = (m) => m,
): Uint8Array[] {
  const seen: Uint8Array[] = [];
  for (let i = 0; i < pr.length; i++) {
    const [w, r] = turn(pr, i);
    seen.push(r.readMessage(deliver(w.writeMessage(payloads[i] ?? EMPTY), i)));
  }
  const a = pr.init.split();
  const b = pr.resp.split();
  expect(b.recv.decryptWithAd(EMPTY, a.send.encryptWithAd(EMPTY, utf8('ping')))).toEqual(
    utf8('ping'),
  );
  expect(a.recv.decryptWithAd(EMPTY, b.send.encryptWithAd(EMPTY, utf8('pong')))).toEqual(
    utf8('pong'),
  );
  return seen;
}

/** The error code `fn` throws, or undefined when it succeeds. */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  return undefined;
}

const throwsCode = (code: string) => expect.objectContaining({ code });

/** Masks the key with a fixed pad and appends 4 filler bytes: wire ≠ key, wireLength ≠ 32. */
function xorCodec(mask: number): EphemeralCodec {
  return {
    wireLength: 36,
    generate() {
      const kp = x25519Generate();
      const wire = new Uint8Array(36).fill(0x5a);
      for (let i = 0; i < 32; i++) wire[i] = kp.publicKey[i]! ^ mask;
      return { ...kp, wire };
    },
    decode(wire) {
      const pub = new Uint8Array(32);
      for (let i = 0; i < 32; i++) pub[i] = wire[i]! ^ mask;
      return pub;
    },
  };
}

forEachBackend('Noise round trips', () => {
  it('completes every pattern and hash with random payloads and prologues', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PATTERNS),
        fc.constantFrom(...HASHES),
        fc.uint8Array({ maxLength: 64 }),
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 3, maxLength: 3 }),
        (pattern, hash, prologue, payloads) => {
          const pr = pair(pattern, { hash, prologue: [prologue, prologue.slice()] });
          expect(run(pr, payloads)).toEqual(payloads.slice(0, pr.length));
          expect(pr.init.complete && pr.resp.complete).toBe(true);
          expect(pr.init.handshakeHash()).toEqual(pr.resp.handshakeHash());
          const p = NOISE_PATTERNS[pattern];
          const initiatorAuthenticated =
            p.initiatorStaticKnown || p.messages.some((m, i) => i % 2 === 0 && m.includes('s'));
          expect(pr.resp.remoteStatic).toEqual(
            initiatorAuthenticated ? pr.iStatic.publicKey : undefined,
          );
          const responderKnown = p.responderStaticKnown || pattern === 'XX';
          expect(pr.init.remoteStatic).toEqual(responderKnown ? pr.rStatic.publicKey : undefined);
        },
      ),
      { numRuns: numRuns(24) },
    );
  });
});

describe('Noise handshake failures', () => {
  it('fails with NOISE_DECRYPT_FAILED when the prologues differ', () => {
    for (const pattern of PATTERNS) {
      const pr = pair(pattern, { prologue: [utf8('skymesh v1'), utf8('skymesh v2')] });
      expect(codeOf(() => run(pr))).toBe('NOISE_DECRYPT_FAILED');
    }
  });

  it('fails with NOISE_DECRYPT_FAILED when a side has the wrong rs', () => {
    const wrong = x25519Generate().publicKey;
    for (const pattern of ['NK', 'KK', 'XK', 'IK'] as const) {
      expect(codeOf(() => run(pair(pattern, { rs: [wrong, undefined] })))).toBe(
        'NOISE_DECRYPT_FAILED',
      );
    }
    // KK: the responder expects a different initiator.
    expect(codeOf(() => run(pair('KK', { rs: [undefined, wrong] })))).toBe('NOISE_DECRYPT_FAILED');
  });

  it('fails with NOISE_DECRYPT_FAILED when the protocol names differ', () => {
    const name = 'Skymesh_link_v1';
    expect(run(pair('XK', { protocolName: [name, name] }))).toHaveLength(3);
    expect(codeOf(() => run(pair('XK', { protocolName: [name, undefined] })))).toBe(
      'NOISE_DECRYPT_FAILED',
    );
    expect(noiseProtocolName('XK', 'SHA256')).toBe('Noise_XK_25519_ChaChaPoly_SHA256');
  });

  it('detects a flipped top bit at every byte of every handshake message', () => {
    for (const pattern of PATTERNS) {
      const lengths = (() => {
        const out: number[] = [];
        run(pair(pattern), [], (m) => {
          out.push(m.length);
          return m;
        });
        return out;
      })();
      lengths.forEach((len, target) => {
        for (let pos = 0; pos < len; pos++) {
          const code = codeOf(() =>
            run(pair(pattern), [], (m, i) => {
              if (i !== target) return m;
              const t = m.slice();
              t[pos]! ^= 0x80;
              return t;
            }),
          );
          expect([pattern, target, pos, code]).toEqual([
            pattern,
            target,
            pos,
            expect.stringMatching(/^NOISE_(DECRYPT_FAILED|BAD_MESSAGE)$/),
          ]);
        }
      });
    }
  });

  it('detects any random change to a handshake message', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PATTERNS),
        fc.constantFrom(...HASHES),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.uint8Array({ maxLength: 40 }),
        (pattern, hash, msgSeed, posSeed, mask, payload) => {
          const pr = pair(pattern, { hash });
          const target = msgSeed % pr.length;
          const code = codeOf(() =>
            run(pr, [payload, payload, payload], (m, i) => {
              if (i !== target) return m;
              const t = m.slice();
              t[posSeed % t.length]! ^= mask;
              return t;
            }),
          );
          expect(code).toMatch(/^NOISE_(DECRYPT_FAILED|BAD_MESSAGE)$/);
        },
      ),
      { numRuns: numRuns(60) },
    );
  });

  it('answers random bytes at any step with a Noise error code, never a crash', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PATTERNS),
        fc.constantFrom(...HASHES),
        fc.nat(),
        fc.uint8Array({ maxLength: 200 }),
        (pattern, hash, stepSeed, junk) => {
          const pr = pair(pattern, { hash });
          const step = stepSeed % pr.length;
          const [, reader] = turn(upTo(pr, step), step);
          let thrown: unknown;
          try {
            reader.readMessage(junk);
          } catch (err) {
            thrown = err;
          }
          // Only an unkeyed first message (NN, XX) can accept junk, as plain Noise does.
          if (thrown === undefined) {
            expect(step === 0 && (pattern === 'NN' || pattern === 'XX')).toBe(true);
          } else {
            expect(thrown).toBeInstanceOf(CryptoError);
            expect((thrown as CryptoError).code).toMatch(/^NOISE_(BAD_MESSAGE|DECRYPT_FAILED)$/);
          }
        },
      ),
      { numRuns: numRuns(100) },
    );
  });

  it('gives NOISE_BAD_MESSAGE for truncated and oversized messages', () => {
    for (const pattern of PATTERNS) {
      for (let i = 0; i < NOISE_PATTERNS[pattern].messages.length; i++) {
        // Empty payloads: every message is exactly as long as its minimum.
        for (const cut of [0, 1, -1]) {
          const [w, r] = turn(upTo(pair(pattern), i), i);
          const msg = w.writeMessage();
          expect(() =>
            r.readMessage(msg.subarray(0, cut < 0 ? msg.length + cut : cut)),
          ).toThrowError(throwsCode('NOISE_BAD_MESSAGE'));
        }
      }
    }
    const big = pair('NN');
    expect(() => big.init.writeMessage(new Uint8Array(NOISE_MAX_MESSAGE_LEN))).toThrowError(
      throwsCode('NOISE_BAD_MESSAGE'),
    );
    const big2 = pair('NN');
    expect(() => big2.resp.readMessage(new Uint8Array(NOISE_MAX_MESSAGE_LEN + 1))).toThrowError(
      throwsCode('NOISE_BAD_MESSAGE'),
    );
    // The largest legal first NN message (32-byte key, clear payload) goes through.
    const edge = pair('NN');
    const payload = new Uint8Array(NOISE_MAX_MESSAGE_LEN - 32).fill(7);
    expect(edge.resp.readMessage(edge.init.writeMessage(payload))).toEqual(payload);
  });

  it('gives NOISE_BAD_STATE out of turn, after completion, and after a failure', () => {
    const a = pair('XK');
    expect(() => a.resp.writeMessage()).toThrowError(throwsCode('NOISE_BAD_STATE'));
    // The out-of-turn call poisoned the responder.
    expect(() => a.resp.readMessage(a.init.writeMessage())).toThrowError(
      throwsCode('NOISE_BAD_STATE'),
    );
    const b = pair('XK');
    expect(() => b.init.readMessage(new Uint8Array(48))).toThrowError(
      throwsCode('NOISE_BAD_STATE'),
    );
    const c = pair('NK');
    expect(() => c.init.split()).toThrowError(throwsCode('NOISE_BAD_STATE'));
    upTo(c, 2);
    expect(() => c.init.writeMessage()).toThrowError(throwsCode('NOISE_BAD_STATE'));
    expect(() => c.resp.readMessage(new Uint8Array(48))).toThrowError(
      throwsCode('NOISE_BAD_STATE'),
    );
    const keys = c.init.splitKeys();
    expect(keys.send).toEqual(c.resp.splitKeys().recv);
    expect(() => c.init.split()).toThrowError(throwsCode('NOISE_BAD_STATE'));
    expect(() => c.init.splitKeys()).toThrowError(throwsCode('NOISE_BAD_STATE'));
    // A failed read poisons the state for good.
    const d = pair('NK');
    const m1 = d.init.writeMessage();
    const bad = m1.slice();
    bad[40]! ^= 1;
    expect(() => d.resp.readMessage(bad)).toThrowError(throwsCode('NOISE_DECRYPT_FAILED'));
    expect(() => d.resp.readMessage(m1)).toThrowError(throwsCode('NOISE_BAD_STATE'));
    expect(() => d.resp.handshakeHash()).toThrowError(throwsCode('NOISE_BAD_STATE'));
  });

  it('gives NOISE_MISSING_KEY when a needed key is absent', () => {
    const s = x25519Generate();
    const rs = x25519Generate().publicKey;
    const cases: [NoisePatternName, boolean, Partial<HandshakeOptions>][] = [
      ['NK', true, {}],
      ['NK', false, {}],
      ['KK', true, { rs }],
      ['KK', true, { s }],
      ['KK', false, { s }],
      ['XK', true, { rs }],
      ['XK', false, {}],
      ['IK', true, { rs }],
      ['IK', false, {}],
      ['XX', true, {}],
      ['XX', false, {}],
    ];
    for (const [pattern, initiator, extra] of cases) {
      expect(() => new HandshakeState({ pattern, initiator, ...extra })).toThrowError(
        throwsCode('NOISE_MISSING_KEY'),
      );
    }
    // NN needs nothing; the NK initiator stays anonymous.
    expect(new HandshakeState({ pattern: 'NN', initiator: true }).complete).toBe(false);
    expect(new HandshakeState({ pattern: 'NK', initiator: true, rs }).complete).toBe(false);
    expect(() => new CipherState().rekey()).toThrowError(throwsCode('NOISE_MISSING_KEY'));
  });

  it('refuses what it does not support, and an rs the pattern would not authenticate', () => {
    const s = x25519Generate();
    const rs = x25519Generate().publicKey;
    const bad = [
      { pattern: 'NX' as NoisePatternName, initiator: true },
      { pattern: 'NN' as const, initiator: true, hash: 'SHA512' as NoiseHash },
      { pattern: 'XX' as const, initiator: true, s, rs },
      { pattern: 'NN' as const, initiator: false, rs },
    ];
    for (const opts of bad) {
      expect(() => new HandshakeState(opts)).toThrowError(throwsCode('NOISE_UNSUPPORTED'));
    }
    expect(
      () => new HandshakeState({ pattern: 'NK', initiator: true, rs: new Uint8Array(31) }),
    ).toThrowError(throwsCode('CRYPTO_BAD_LENGTH'));
  });

  it('maps a low-order peer ephemeral to NOISE_BAD_MESSAGE, on read and on write', () => {
    const a = pair('NK');
    const m = a.init.writeMessage();
    m.fill(0, 0, 32);
    expect(() => a.resp.readMessage(m)).toThrowError(throwsCode('NOISE_BAD_MESSAGE'));
    const b = pair('NN');
    b.resp.readMessage(new Uint8Array(32));
    expect(() => b.resp.writeMessage()).toThrowError(throwsCode('NOISE_BAD_MESSAGE'));
  });

  it('wipes a fixed ephemeral secret once the handshake completes', () => {
    const kp = x25519Generate();
    const e = { ...kp, secretKey: kp.secretKey.slice(), wire: kp.publicKey };
    const rs = x25519Generate();
    const init = new HandshakeState({ pattern: 'NK', initiator: true, rs: rs.publicKey, e });
    const resp = new HandshakeState({ pattern: 'NK', initiator: false, s: rs });
    resp.readMessage(init.writeMessage());
    expect(e.secretKey.some((b) => b !== 0)).toBe(true);
    init.readMessage(resp.writeMessage());
    expect(e.secretKey.every((b) => b === 0)).toBe(true);
  });
});

forEachBackend('Noise with the Elligator2 codec', () => {
  it('completes XK and IK with representatives on the wire', () => {
    const codec = elligatorEphemeralCodec;
    for (const pattern of ['XK', 'IK'] as const) {
      const seen = run(pair(pattern, { codec: [codec, codec] }), [utf8('a'), utf8('b')]);
      expect(seen.slice(0, 2)).toEqual([utf8('a'), utf8('b')]);
    }
  });

  it('fails when a representative bit the map ignores is flipped', () => {
    for (const [target, mask] of [
      [0, 0x80],
      [0, 0x40],
      [1, 0x80],
      [1, 0x40],
    ] as const) {
      const pr = pair('IK', { codec: [elligatorEphemeralCodec, elligatorEphemeralCodec] });
      const code = codeOf(() =>
        run(pr, [], (m, i) => {
          if (i !== target) return m;
          const t = m.slice();
          t[31]! ^= mask;
          // The same key comes out of the map: only the transcript hash notices.
          expect(elligator2Map(t.subarray(0, 32))).toEqual(elligator2Map(m.subarray(0, 32)));
          return t;
        }),
      );
      expect(code).toBe('NOISE_DECRYPT_FAILED');
    }
  });
});

describe('Noise ephemeral codec', () => {
  it('completes with a non-default codec whose wire differs from the key', () => {
    const codec = xorCodec(0xa5);
    for (const pattern of ['NN', 'XK', 'IK', 'XX'] as const) {
      const pr = pair(pattern, { codec: [codec, codec] });
      const first: Uint8Array[] = [];
      run(pr, [utf8('hi')], (m, i) => {
        if (i === 0) first.push(m);
        return m;
      });
      // 36-byte wire key, then the rest of the first message.
      expect(first[0]!.subarray(32, 36)).toEqual(new Uint8Array(4).fill(0x5a));
    }
  });

  it('hashes the wire bytes: changing bytes the decoder ignores breaks the handshake', () => {
    const codec = xorCodec(0x3c);
    for (const pos of [32, 35]) {
      const pr = pair('XK', { codec: [codec, codec] });
      const code = codeOf(() =>
        run(pr, [], (m, i) => {
          if (i !== 1) return m;
          const t = m.slice();
          t[pos]! ^= 1;
          return t;
        }),
      );
      expect(code).toBe('NOISE_DECRYPT_FAILED');
    }
  });

  it('fails when the two sides use different codecs', () => {
    const pr = pair('NK', { codec: [xorCodec(1), xorCodec(2)] });
    expect(codeOf(() => run(pr))).toBe('NOISE_DECRYPT_FAILED');
  });

  it('gives NOISE_BAD_MESSAGE when the codec cannot decode the key', () => {
    const refusing: EphemeralCodec = {
      ...plainEphemeralCodec,
      decode: () => {
        throw new RangeError('not a representative');
      },
    };
    const pr = pair('NN', { codec: [plainEphemeralCodec, refusing] });
    expect(() => pr.resp.readMessage(pr.init.writeMessage())).toThrowError(
      throwsCode('NOISE_BAD_MESSAGE'),
    );
  });
});

describe('Noise CipherState', () => {
  const key = new Uint8Array(32).fill(9);

  it('refuses a replayed message and keeps its counter', () => {
    const pr = upTo(pair('NK'), 2);
    const a = pr.init.split();
    const b = pr.resp.split();
    const ad = utf8('cell');
    const c0 = a.send.encryptWithAd(ad, utf8('zero'));
    const c1 = a.send.encryptWithAd(ad, utf8('one'));
    expect(b.recv.decryptWithAd(ad, c0)).toEqual(utf8('zero'));
    expect(() => b.recv.decryptWithAd(ad, c0)).toThrowError(throwsCode('NOISE_DECRYPT_FAILED'));
    expect(b.recv.nonce).toBe(1n);
    expect(() => b.recv.decryptWithAd(utf8('other'), c1)).toThrowError(
      throwsCode('NOISE_DECRYPT_FAILED'),
    );
    expect(b.recv.decryptWithAd(ad, c1)).toEqual(utf8('one'));
    expect(b.recv.nonce).toBe(2n);
  });

  it('stops at nonce 2^64-1 with NOISE_NONCE_EXHAUSTED', () => {
    const tx = new CipherState(key, 2n ** 64n - 2n);
    const rx = new CipherState(key, 2n ** 64n - 2n);
    const ct = tx.encryptWithAd(EMPTY, utf8('last'));
    expect(rx.decryptWithAd(EMPTY, ct)).toEqual(utf8('last'));
    expect(tx.nonce).toBe(2n ** 64n - 1n);
    expect(() => tx.encryptWithAd(EMPTY, EMPTY)).toThrowError(throwsCode('NOISE_NONCE_EXHAUSTED'));
    expect(() => rx.decryptWithAd(EMPTY, ct)).toThrowError(throwsCode('NOISE_NONCE_EXHAUSTED'));
    expect(() => new CipherState(key, 2n ** 64n)).toThrowError(RangeError);
  });

  it('carries the counter across the 32-bit boundary into the nonce bytes', () => {
    const n = 2n ** 32n - 1n;
    const cs = new CipherState(key, n);
    const nonce = (v: bigint) => {
      const b = new Uint8Array(12);
      new DataView(b.buffer).setBigUint64(4, v, true);
      return b;
    };
    expect(cs.encryptWithAd(EMPTY, utf8('a'))).toEqual(
      chacha20poly1305Seal(key, nonce(n), utf8('a'), EMPTY),
    );
    expect(cs.encryptWithAd(EMPTY, utf8('b'))).toEqual(
      chacha20poly1305Seal(key, nonce(n + 1n), utf8('b'), EMPTY),
    );
    expect(cs.nonce).toBe(n + 2n);
  });

  it('rekeys to ENCRYPT(k, 2^64-1, empty, zeros) and both sides must follow', () => {
    const maxNonce = new Uint8Array(12).fill(0xff, 4);
    const next = chacha20poly1305Seal(key, maxNonce, new Uint8Array(32), EMPTY).slice(0, 32);
    const a = new CipherState(key, 5n);
    a.rekey();
    expect(a.nonce).toBe(5n);
    expect(a.encryptWithAd(EMPTY, utf8('x'))).toEqual(
      new CipherState(next, 5n).encryptWithAd(EMPTY, utf8('x')),
    );
    const tx = new CipherState(key);
    const rx = new CipherState(key);
    tx.rekey();
    const ct = tx.encryptWithAd(EMPTY, utf8('y'));
    expect(() => rx.decryptWithAd(EMPTY, ct)).toThrowError(throwsCode('NOISE_DECRYPT_FAILED'));
    rx.rekey();
    expect(rx.decryptWithAd(EMPTY, ct)).toEqual(utf8('y'));
  });

  it('refuses transport messages over 65535 bytes', () => {
    const cs = new CipherState(key);
    expect(() => cs.encryptWithAd(EMPTY, new Uint8Array(NOISE_MAX_MESSAGE_LEN - 15))).toThrowError(
      throwsCode('NOISE_BAD_MESSAGE'),
    );
    expect(cs.encryptWithAd(EMPTY, new Uint8Array(NOISE_MAX_MESSAGE_LEN - 16))).toHaveLength(
      NOISE_MAX_MESSAGE_LEN,
    );
    expect(() => cs.decryptWithAd(EMPTY, new Uint8Array(NOISE_MAX_MESSAGE_LEN + 1))).toThrowError(
      throwsCode('NOISE_BAD_MESSAGE'),
    );
  });
});
