// The link wire format: handshake (IK + Elligator2 + masked lengths),
// frames with hidden lengths, and records.
import { equalBytes, Identity, randomBytes } from '@skymesh/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CELL_SIZE } from '../src/constants.js';
import {
  CELL_RECORD_LEN,
  FRAME_MAX_PLAINTEXT,
  FrameBuilder,
  FrameOpener,
  FrameSealer,
  HS_HEADER_LEN,
  HS_MAX_CLOCK_SKEW_MS,
  LinkError,
  LinkInitiator,
  LinkResponder,
  type LinkResponderResult,
  maxCellsPerFrame,
  parseRecords,
  RecordType,
} from '../src/link/index.js';

const numRuns = Number(process.env.FUZZ_RUNS ?? 30);
const alice = Identity.generate();
const bob = Identity.generate();

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

/** Runs a handshake, feeding each message in the given chunk sizes. */
function handshake(chunk = Number.POSITIVE_INFINITY) {
  const ini = new LinkInitiator({ identity: alice, peerKey: bob.publicKey });
  const res = new LinkResponder({ identity: bob });
  let r: LinkResponderResult | undefined;
  for (let i = 0; i < ini.message.length && !r; i += chunk) {
    r = res.push(ini.message.subarray(i, i + chunk));
  }
  expect(r).toBeDefined();
  let done: ReturnType<LinkInitiator['push']>;
  for (let i = 0; i < r!.reply.length && !done; i += chunk) {
    done = ini.push(r!.reply.subarray(i, i + chunk));
  }
  expect(done).toBeDefined();
  return { ini, i: done!, r: r! };
}

describe('link handshake', () => {
  it('completes, proves both keys, and agrees on direction keys', () => {
    const { i, r } = handshake();
    expect(equalBytes(i.peerKey, bob.publicKey)).toBe(true);
    expect(equalBytes(r.peerKey, alice.publicKey)).toBe(true);
    expect(equalBytes(i.send.frameKey, r.recv.frameKey)).toBe(true);
    expect(equalBytes(i.send.maskKey, r.recv.maskKey)).toBe(true);
    expect(equalBytes(i.recv.frameKey, r.send.frameKey)).toBe(true);
    expect(equalBytes(i.send.frameKey, i.recv.frameKey)).toBe(false);
    expect(equalBytes(i.send.frameKey, i.send.maskKey)).toBe(false);
    expect(i.rest.length).toBe(0);
  });

  it('works whatever way the stream is cut, and hands over trailing bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), (chunk) => {
        handshake(chunk);
      }),
      { numRuns: Math.min(numRuns, 20) },
    );
    const ini = new LinkInitiator({ identity: alice, peerKey: bob.publicKey });
    const res = new LinkResponder({ identity: bob });
    const r = res.push(ini.message)!;
    const extra = Uint8Array.of(1, 2, 3);
    const withExtra = new Uint8Array(r.reply.length + 3);
    withExtra.set(r.reply);
    withExtra.set(extra, r.reply.length);
    expect(Array.from(ini.push(withExtra)!.rest)).toEqual([1, 2, 3]);
  });

  it('has random-looking, variable-length messages with no key in them', () => {
    const lengths = new Set<number>();
    const firsts = new Set<string>();
    for (let n = 0; n < 20; n++) {
      const { ini, r } = handshake();
      lengths.add(ini.message.length);
      lengths.add(r.reply.length);
      firsts.add(Buffer.from(ini.message.subarray(0, 8)).toString('hex'));
      for (const msg of [ini.message, r.reply]) {
        const hex = Buffer.from(msg).toString('hex');
        for (const key of [alice.publicKey, alice.dhPublicKey, bob.publicKey, bob.dhPublicKey]) {
          expect(hex.includes(Buffer.from(key).toString('hex'))).toBe(false);
        }
      }
    }
    expect(lengths.size).toBeGreaterThan(30);
    expect(firsts.size).toBe(20);
  });

  it('rejects a wrong responder key, random bytes and tampering', () => {
    const carol = Identity.generate();
    const ini = new LinkInitiator({ identity: alice, peerKey: carol.publicKey });
    // Bob cannot read a message meant for Carol: the length mask or the tag fails.
    expect(['LINK_HANDSHAKE_LENGTH', 'LINK_HANDSHAKE_AUTH']).toContain(
      code(() => {
        const res = new LinkResponder({ identity: bob });
        res.push(ini.message);
        // A length that happens to decode in range waits for more bytes: feed them.
        res.push(randomBytes(4096));
      }),
    );
    for (let n = 0; n < 20; n++) {
      const res = new LinkResponder({ identity: bob });
      const c = code(() => res.push(randomBytes(4096)));
      expect(['LINK_HANDSHAKE_LENGTH', 'LINK_HANDSHAKE_AUTH']).toContain(c);
    }
    const good = new LinkInitiator({ identity: alice, peerKey: bob.publicKey }).message;
    for (const pos of [0, 31, HS_HEADER_LEN, HS_HEADER_LEN + 50, good.length - 1]) {
      const bad = good.slice();
      bad[pos]! ^= 1;
      const res = new LinkResponder({ identity: bob });
      const c = code(() => {
        res.push(bad);
        res.push(new Uint8Array(4096));
      });
      expect(['LINK_HANDSHAKE_LENGTH', 'LINK_HANDSHAKE_AUTH']).toContain(c);
    }
  });

  it('rejects a truncated reply and a tampered reply at the initiator', () => {
    const ini = new LinkInitiator({ identity: alice, peerKey: bob.publicKey });
    const r = new LinkResponder({ identity: bob }).push(ini.message)!;
    expect(ini.push(r.reply.subarray(0, r.reply.length - 1))).toBeUndefined();
    const ini2 = new LinkInitiator({ identity: alice, peerKey: bob.publicKey });
    const r2 = new LinkResponder({ identity: bob }).push(ini2.message)!;
    const bad = r2.reply.slice();
    bad[bad.length - 1]! ^= 0x80;
    expect(code(() => ini2.push(bad))).toBe('LINK_HANDSHAKE_AUTH');
  });

  it('rejects an Ed25519 key that is not the Noise static key', () => {
    const mallory = Identity.generate();
    // Mallory runs Noise with her own DH key but claims Alice's address.
    const claimed = {
      publicKey: alice.publicKey,
      dhSecretKey: mallory.dhSecretKey,
      dhPublicKey: mallory.dhPublicKey,
    };
    const ini = new LinkInitiator({ identity: claimed, peerKey: bob.publicKey });
    expect(code(() => new LinkResponder({ identity: bob }).push(ini.message))).toBe(
      'LINK_IDENTITY_MISMATCH',
    );
  });

  it('rejects a first message from outside the clock window', () => {
    const then = Date.now() - HS_MAX_CLOCK_SKEW_MS - 1000;
    const ini = new LinkInitiator({ identity: alice, peerKey: bob.publicKey, now: () => then });
    expect(code(() => new LinkResponder({ identity: bob }).push(ini.message))).toBe(
      'LINK_HANDSHAKE_STALE',
    );
    const r = new LinkResponder({ identity: bob, now: () => then }).push(ini.message);
    expect(r?.timestamp).toBe(then);
  });
});

function keysPair() {
  const { i, r } = handshake();
  return { sealer: new FrameSealer(i.send), opener: new FrameOpener(r.recv) };
}

describe('link frames', () => {
  it('round-trip through any chunking, in order', () => {
    const { sealer, opener } = keysPair();
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 3000 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 5000 }),
        (plains, chunk) => {
          const wire = Buffer.concat(plains.map((p) => sealer.seal(p)));
          const got: Uint8Array[] = [];
          for (let i = 0; i < wire.length; i += chunk) {
            got.push(...opener.push(wire.subarray(i, i + chunk)));
          }
          expect(got.map((g) => Buffer.from(g).toString('hex'))).toEqual(
            plains.map((p) => Buffer.from(p).toString('hex')),
          );
          expect(opener.buffered).toBe(0);
        },
      ),
      { numRuns },
    );
  });

  it('hides the length: equal plaintexts give different length fields', () => {
    const { sealer } = keysPair();
    const heads = new Set<string>();
    for (let n = 0; n < 64; n++) {
      heads.add(Buffer.from(sealer.seal(new Uint8Array(100)).subarray(0, 2)).toString('hex'));
    }
    expect(heads.size).toBeGreaterThan(50);
  });

  it('fails on a flipped bit anywhere, and stays failed', () => {
    for (const pos of [0, 1, 2, 40, 117]) {
      const { sealer, opener } = keysPair();
      const f = sealer.seal(new Uint8Array(100));
      f[pos]! ^= 4;
      const c = code(() => {
        opener.push(f);
        opener.push(new Uint8Array(70_000));
      });
      expect(['LINK_FRAME_AUTH', 'LINK_FRAME_LENGTH']).toContain(c);
      expect(code(() => opener.push(sealer.seal(new Uint8Array(3))))).toBe('LINK_FRAME_AUTH');
    }
  });

  it('fails on a dropped or replayed frame', () => {
    const { sealer, opener } = keysPair();
    const a = sealer.seal(Uint8Array.of(1));
    const b = sealer.seal(Uint8Array.of(2));
    expect(opener.push(a)).toHaveLength(1);
    // The replay's length field unmasks to garbage: out of range, or a wait then a bad tag.
    expect(['LINK_FRAME_AUTH', 'LINK_FRAME_LENGTH']).toContain(
      code(() => {
        opener.push(a);
        opener.push(new Uint8Array(70_000));
      }),
    );
    const p2 = keysPair();
    p2.sealer.seal(Uint8Array.of(1));
    const b2 = p2.sealer.seal(Uint8Array.of(2));
    expect(['LINK_FRAME_AUTH', 'LINK_FRAME_LENGTH']).toContain(
      code(() => {
        p2.opener.push(b2);
        p2.opener.push(new Uint8Array(70_000));
      }),
    );
    expect(b.length).toBe(b2.length);
  });

  it('refuses plaintexts it cannot frame', () => {
    const { sealer } = keysPair();
    expect(() => sealer.seal(new Uint8Array(0))).toThrow(RangeError);
    expect(() => sealer.seal(new Uint8Array(FRAME_MAX_PLAINTEXT + 1))).toThrow(RangeError);
    expect(sealer.seal(new Uint8Array(FRAME_MAX_PLAINTEXT)).length).toBe(2 + 0xffff);
  });
});

describe('link records', () => {
  it('round-trip cells, pings, pongs, close and padding', () => {
    const cells = [randomBytes(CELL_SIZE), randomBytes(CELL_SIZE)];
    const id = randomBytes(8);
    const b = new FrameBuilder(4 * CELL_RECORD_LEN);
    b.addPing(id).addCell(cells[0]!).addPong(id).addCell(cells[1]!).addClose(2).addPadding(77);
    const recs = parseRecords(b.finish());
    expect(recs.map((r) => r.type)).toEqual(['ping', 'cell', 'pong', 'cell', 'close']);
    expect(recs[1]!.type === 'cell' && equalBytes(recs[1]!.cell, cells[0]!)).toBe(true);
    expect(recs[4]).toEqual({ type: 'close', code: 2 });
    expect(parseRecords(new FrameBuilder(10).addPadding(10).finish())).toEqual([]);
  });

  it('rejects unknown and truncated records', () => {
    expect(code(() => parseRecords(Uint8Array.of(9)))).toBe('LINK_FRAME_RECORD');
    expect(code(() => parseRecords(Uint8Array.of(RecordType.CELL, 1, 2)))).toBe(
      'LINK_FRAME_RECORD',
    );
    expect(code(() => parseRecords(Uint8Array.of(RecordType.PING, 1)))).toBe('LINK_FRAME_RECORD');
    expect(code(() => parseRecords(Uint8Array.of(RecordType.CLOSE)))).toBe('LINK_FRAME_RECORD');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (bytes) => {
        try {
          parseRecords(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(LinkError);
        }
      }),
      { numRuns },
    );
  });

  it('fits the advertised number of cells', () => {
    const n = maxCellsPerFrame();
    const b = new FrameBuilder();
    for (let i = 0; i < n; i++) b.addCell(new Uint8Array(CELL_SIZE));
    expect(() => b.addCell(new Uint8Array(CELL_SIZE))).toThrow(RangeError);
    expect(() => b.addCell(new Uint8Array(5))).toThrow(RangeError);
  });
});
