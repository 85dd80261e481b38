import { HandshakeState, Identity, x25519Generate } from '@skymesh/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFrames,
  decodeRecordPlaintext,
  decodeRouteMessage,
  decodeSessionParams,
  encodeFrameInto,
  encodeFrames,
  encodeRecordPlaintext,
  encodeRouteMessage,
  encodeSessionParams,
  epochCiphers,
  type Frame,
  initiateSession,
  MAX_EPOCH_SKIP,
  openRecord,
  RecordCipher,
  respondToSession,
  resumeMac,
  SESSION_PROTOCOL_NAME,
  SESSION_VERSION,
  type SessionParams,
  sealRecord,
  sealRecordMessage,
  setRecordHeader,
  verifyResumeMac,
} from '../src/stream/index.js';
import { runs, thrown } from './_fuzz.js';

const params: SessionParams = {
  version: SESSION_VERSION,
  initialWindow: 262144,
  sessionWindow: 1 << 20,
  maxStreams: 256,
  graceSeconds: 30,
};

const codeOf = (fn: () => unknown) => (thrown(fn) as { code?: string } | undefined)?.code;

function handshake(server = Identity.generate()) {
  const init = initiateSession(server.publicKey, { ...params, maxStreams: 0, graceSeconds: 0 });
  const hello = decodeRouteMessage(init.hello);
  if (hello.type !== 'hello') throw new Error('not a hello');
  const res = respondToSession(
    { secretKey: server.dhSecretKey, publicKey: server.dhPublicKey },
    hello.noise,
    params,
  );
  const welcome = decodeRouteMessage(res.welcome);
  if (welcome.type !== 'welcome') throw new Error('not a welcome');
  return {
    server,
    init,
    res,
    client: init.finish(welcome.noise),
    hello: init.hello,
    welcome: res.welcome,
  };
}

describe('stream frames', () => {
  const frame: fc.Arbitrary<Frame> = fc.oneof(
    fc.record({
      type: fc.constant('data' as const),
      streamId: fc.integer({ min: 1, max: 0xffffffff }),
      data: fc.uint8Array({ minLength: 1, maxLength: 300 }),
    }),
    fc.record({
      type: fc.constant('open' as const),
      streamId: fc.integer({ min: 1, max: 0xffffffff }),
      target: fc.record({
        name: fc.string({ maxLength: 60 }),
        port: fc.integer({ min: 0, max: 0xffff }),
      }),
    }),
    fc.record({
      type: fc.constant('fin' as const),
      streamId: fc.integer({ min: 1, max: 0xffffffff }),
    }),
    fc.record({
      type: fc.constant('rst' as const),
      streamId: fc.integer({ min: 1, max: 0xffffffff }),
      code: fc.integer({ min: 0, max: 0xffff }),
    }),
    fc.record({
      type: fc.constant('window' as const),
      streamId: fc.integer({ min: 0, max: 0xffffffff }), // 0: the session window
      delta: fc.integer({ min: 1, max: 0xffffffff }),
    }),
    fc.record({ type: fc.constant('close' as const), code: fc.integer({ min: 0, max: 0xffff }) }),
  );

  it('round-trip in order, inside records', () => {
    fc.assert(
      fc.property(
        fc.array(frame, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.nat(),
        (fs, seq, ack) => {
          const body = encodeFrames(fs);
          const rec = decodeRecordPlaintext(encodeRecordPlaintext(seq + 1, ack, body));
          expect(rec).toMatchObject({ seq: seq + 1, ack });
          expect(decodeFrames(rec.body)).toEqual(fs);
        },
      ),
      { numRuns: runs(200) },
    );
  });

  it('encodeFrameInto packs the bytes encodeFrames makes, at any offset', () => {
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 8 }), fc.nat(40), (fs, at) => {
        const want = encodeFrames(fs);
        const out = new Uint8Array(at + want.length).fill(0xaa);
        let pos = at;
        for (const f of fs) pos = encodeFrameInto(out, pos, f);
        expect(pos).toBe(out.length);
        expect(out.subarray(at)).toEqual(want);
        expect(out.subarray(0, at).every((b) => b === 0xaa)).toBe(true);
      }),
      { numRuns: runs(200) },
    );
  });

  it('encodeFrameInto refuses what encodeFrame refuses, and frames that do not fit', () => {
    const out = new Uint8Array(32);
    const data = (n: number) => new Uint8Array(n).fill(1);
    const into = (f: Frame, at = 0, buf = out) => codeOf(() => encodeFrameInto(buf, at, f));
    expect(into({ type: 'data', streamId: 0, data: data(4) })).toBe('ENCODE_BAD_VALUE');
    expect(into({ type: 'data', streamId: 2 ** 32, data: data(4) })).toBe('ENCODE_BAD_VALUE');
    expect(into({ type: 'data', streamId: 1, data: data(0) })).toBe('ENCODE_BAD_VALUE');
    expect(
      into({ type: 'data', streamId: 1, data: data(0x10000) }, 0, new Uint8Array(0x10010)),
    ).toBe('ENCODE_TOO_LARGE');
    expect(into({ type: 'data', streamId: 1, data: data(26) })).toBe('ENCODE_TOO_LARGE'); // 33 bytes
    expect(encodeFrameInto(out, 0, { type: 'data', streamId: 1, data: data(25) })).toBe(32);
    expect(into({ type: 'fin', streamId: 1 }, 28)).toBe('ENCODE_TOO_LARGE');
    expect(into({ type: 'fin', streamId: 0 })).toBe('ENCODE_BAD_VALUE');
    expect(into({ type: 'open', streamId: 1, target: { name: 'x'.repeat(30), port: 1 } })).toBe(
      'ENCODE_TOO_LARGE',
    );
  });

  it('refuses reserved and malformed values', () => {
    expect(codeOf(() => decodeFrames(Uint8Array.of(3, 0, 0, 0, 0)))).toBe('DECODE_BAD_VALUE'); // stream 0
    expect(codeOf(() => decodeFrames(Uint8Array.of(1, 0, 0, 0, 1, 0, 0)))).toBe('DECODE_BAD_VALUE'); // empty data
    expect(codeOf(() => decodeFrames(Uint8Array.of(5, 0, 0, 0, 1, 0, 0, 0, 0)))).toBe(
      'DECODE_BAD_VALUE',
    ); // zero delta
    expect(codeOf(() => decodeFrames(Uint8Array.of(9)))).toBe('DECODE_BAD_VALUE'); // unknown type
    expect(codeOf(() => decodeFrames(Uint8Array.of(1, 0, 0, 0, 1, 0, 5, 1)))).toBe(
      'DECODE_TRUNCATED',
    );
    expect(codeOf(() => decodeFrames(Uint8Array.of(2, 0, 0, 0, 1, 0, 80, 2, 0xc3, 0x28)))).toBe(
      'DECODE_BAD_VALUE',
    ); // bad UTF-8 name
    // A bare ack carries no frames; a sequenced record must.
    expect(
      codeOf(() =>
        decodeRecordPlaintext(encodeRecordPlaintext(0, 1, Uint8Array.of(3, 0, 0, 0, 1))),
      ),
    ).toBe('DECODE_BAD_VALUE');
    expect(
      codeOf(() => decodeRecordPlaintext(encodeRecordPlaintext(4, 1, new Uint8Array(0)))),
    ).toBe('DECODE_BAD_VALUE');
    expect(codeOf(() => encodeFrames([{ type: 'fin', streamId: 0 }]))).toBe('ENCODE_BAD_VALUE');
    expect(
      codeOf(() =>
        encodeFrames([{ type: 'open', streamId: 1, target: { name: 'x'.repeat(256), port: 1 } }]),
      ),
    ).toBe('ENCODE_TOO_LARGE');
  });
});

describe('record plaintexts and RECORD payloads', () => {
  it('setRecordHeader writes seq and ack as big-endian u64, above 2^32 too', () => {
    const rec = new Uint8Array(20).fill(0xee);
    setRecordHeader(rec, 2 ** 40 + 0x01020304, 2 ** 52 + 7);
    const view = new DataView(rec.buffer);
    expect(view.getBigUint64(0)).toBe(BigInt(2 ** 40 + 0x01020304));
    expect(view.getBigUint64(8)).toBe(BigInt(2 ** 52 + 7));
    expect([...rec.subarray(16)]).toEqual([0xee, 0xee, 0xee, 0xee]); // frames untouched
    expect(decodeRecordPlaintext(rec)).toMatchObject({
      seq: 2 ** 40 + 0x01020304,
      ack: 2 ** 52 + 7,
    });
    expect(() => setRecordHeader(rec, -1, 0)).toThrow(RangeError);
    expect(() => setRecordHeader(rec, 1, 2 ** 53)).toThrow(RangeError);
    expect(() => setRecordHeader(rec, 1.5, 0)).toThrow(RangeError);
    expect(() => setRecordHeader(new Uint8Array(15), 1, 1)).toThrow(RangeError);
  });

  it('sealRecordMessage into a reused scratch buffer gives the bytes of a fresh one', () => {
    const key = new Uint8Array(32).fill(9);
    const fresh = new RecordCipher(key);
    const reused = new RecordCipher(key);
    const scratch = new Uint8Array(1 + 16 + 300 + 16);
    for (const len of [300, 17, 120]) {
      const pt = encodeRecordPlaintext(len, 3, new Uint8Array(len - 16).fill(len));
      const want = sealRecordMessage(fresh, pt);
      const got = sealRecordMessage(reused, pt, scratch);
      expect(got.buffer).toBe(scratch.buffer);
      expect(got).toEqual(want);
    }
    expect(() => sealRecordMessage(reused, new Uint8Array(301 + 16), scratch)).toThrow(RangeError);
  });
});

describe('route messages', () => {
  it('round-trip and check lengths', () => {
    const resume = {
      type: 'resume' as const,
      sessionId: new Uint8Array(16).fill(1),
      epoch: 7,
      ack: 2 ** 40,
      mac: new Uint8Array(32).fill(2),
    };
    expect(decodeRouteMessage(encodeRouteMessage(resume))).toEqual(resume);
    const ok = { type: 'resume-ok' as const, epoch: 7, ack: 5, mac: new Uint8Array(32) };
    expect(decodeRouteMessage(encodeRouteMessage(ok))).toEqual(ok);
    expect(decodeRouteMessage(encodeRouteMessage({ type: 'refused', code: 17 }))).toEqual({
      type: 'refused',
      code: 17,
    });
    expect(codeOf(() => decodeRouteMessage(encodeRouteMessage(resume).subarray(0, 60)))).toBe(
      'DECODE_TRUNCATED',
    );
    expect(codeOf(() => decodeRouteMessage(Uint8Array.of(5, 0, 1, 9)))).toBe(
      'DECODE_TRAILING_BYTES',
    );
    expect(codeOf(() => decodeRouteMessage(Uint8Array.of(0x77)))).toBe('DECODE_BAD_VALUE');
    expect(codeOf(() => decodeRouteMessage(new Uint8Array(20).fill(1)))).toBe('DECODE_BAD_VALUE');
    expect(codeOf(() => decodeSessionParams(encodeSessionParams({ ...params, version: 2 })))).toBe(
      'DECODE_BAD_VERSION',
    );
  });
});

describe('session handshake (Noise NK)', () => {
  it('gives both ends the same session id, resume keys and epoch keys', () => {
    const { res, client } = handshake();
    const server = res.session;
    expect(client.keys.sessionId).toEqual(server.keys.sessionId);
    expect(client.keys.resumeKeyClient).toEqual(server.keys.resumeKeyClient);
    expect(client.handshakeHash).toEqual(server.handshakeHash);
    expect(client.peer).toEqual(params);
    expect(server.peer.maxStreams).toBe(0);
    for (const epoch of [0, 1, 1 + MAX_EPOCH_SKIP]) {
      const c = epochCiphers(client.keys, epoch, 'client');
      const s = epochCiphers(server.keys, epoch, 'server');
      const pt = Uint8Array.of(1, 2, 3);
      expect(openRecord(s.recv, sealRecord(c.send, pt))).toEqual(pt);
      expect(openRecord(c.recv, sealRecord(s.send, pt))).toEqual(pt);
      expect(client.keys.chain).toEqual(server.keys.chain);
    }
  });

  it('moves the epoch chain forward only, within MAX_EPOCH_SKIP', () => {
    const { res, client } = handshake();
    const server = res.session;
    const chain0 = client.keys.chain.slice();
    // Epochs are independent keys: a record of epoch 0 does not open in epoch 1.
    const sealed = sealRecord(epochCiphers(client.keys, 0, 'client').send, Uint8Array.of(1));
    expect(codeOf(() => openRecord(epochCiphers(server.keys, 1, 'server').recv, sealed))).toBe(
      'SESSION_BAD_RECORD',
    );
    // The old chain link is gone from the state (forward secrecy across routes)…
    expect(server.keys.chain).not.toEqual(chain0);
    // …and cannot be asked for again, nor can a jump too far ahead.
    expect(codeOf(() => epochCiphers(server.keys, 0, 'server'))).toBe('SESSION_RESUME_REFUSED');
    expect(codeOf(() => epochCiphers(server.keys, 2 + MAX_EPOCH_SKIP, 'server'))).toBe(
      'SESSION_RESUME_REFUSED',
    );
    // Both ends reach the same keys whatever the steps taken.
    epochCiphers(client.keys, 5, 'client');
    epochCiphers(server.keys, 5, 'server');
    expect(client.keys.chain).toEqual(server.keys.chain);
  });

  it('uses a domain-separated protocol name, not the standard NK name', () => {
    const server = Identity.generate();
    const hello = decodeRouteMessage(initiateSession(server.publicKey, params).hello);
    if (hello.type !== 'hello') throw new Error('not a hello');
    // A standard-name responder cannot read a session HELLO.
    const std = new HandshakeState({
      pattern: 'NK',
      initiator: false,
      s: { secretKey: server.dhSecretKey, publicKey: server.dhPublicKey },
    });
    expect(codeOf(() => std.readMessage(hello.noise))).toBe('NOISE_DECRYPT_FAILED');
    expect(SESSION_PROTOCOL_NAME).not.toBe('Noise_NK_25519_ChaChaPoly_BLAKE2b');
  });

  it('fails for the wrong destination key', () => {
    const init = initiateSession(Identity.generate().publicKey, params);
    const other = Identity.generate();
    const hello = decodeRouteMessage(init.hello);
    if (hello.type !== 'hello') throw new Error('not a hello');
    expect(
      codeOf(() =>
        respondToSession(
          { secretKey: other.dhSecretKey, publicKey: other.dhPublicKey },
          hello.noise,
          params,
        ),
      ),
    ).toBe('SESSION_BAD_HANDSHAKE');
    // An X25519 key pair unrelated to any address also fails.
    const kp = x25519Generate();
    expect(codeOf(() => respondToSession(kp, hello.noise, params))).toBe('SESSION_BAD_HANDSHAKE');
  });

  it('fails when any byte of HELLO or WELCOME is changed', () => {
    const server = Identity.generate();
    const sk = { secretKey: server.dhSecretKey, publicKey: server.dhPublicKey };
    for (let i = 1; i < 62; i++) {
      const init = initiateSession(server.publicKey, params);
      const bad = init.hello.slice();
      bad[i]! ^= 1;
      const msg = decodeRouteMessage(bad);
      if (msg.type !== 'hello') throw new Error('not a hello');
      expect(codeOf(() => respondToSession(sk, msg.noise, params))).toBe('SESSION_BAD_HANDSHAKE');
    }
    for (let i = 1; i < 62; i++) {
      const init = initiateSession(server.publicKey, params);
      const hello = decodeRouteMessage(init.hello);
      if (hello.type !== 'hello') throw new Error('not a hello');
      const welcome = respondToSession(sk, hello.noise, params).welcome.slice();
      welcome[i]! ^= 1;
      const msg = decodeRouteMessage(welcome);
      if (msg.type !== 'welcome') throw new Error('not a welcome');
      expect(codeOf(() => init.finish(msg.noise))).toBe('SESSION_BAD_HANDSHAKE');
    }
  });

  it('is forward secret per session: two handshakes to one address share no keys', () => {
    const server = Identity.generate();
    const a = handshake(server).client.keys;
    const b = handshake(server).client.keys;
    expect(a.sessionId).not.toEqual(b.sessionId);
    expect(a.chain).not.toEqual(b.chain);
  });

  it('authenticates RESUME and RESUME_OK with different keys', () => {
    const { client, res } = handshake();
    const mac = resumeMac(client.keys, 'resume', 3, 10);
    expect(verifyResumeMac(res.session.keys, 'resume', 3, 10, mac)).toBe(true);
    expect(verifyResumeMac(res.session.keys, 'resume', 4, 10, mac)).toBe(false);
    expect(verifyResumeMac(res.session.keys, 'resume', 3, 11, mac)).toBe(false);
    // A RESUME MAC is not a valid RESUME_OK MAC (no reflection).
    expect(verifyResumeMac(res.session.keys, 'resume-ok', 3, 10, mac)).toBe(false);
    const other = handshake().client.keys;
    expect(verifyResumeMac(other, 'resume', 3, 10, mac)).toBe(false);
  });
});
