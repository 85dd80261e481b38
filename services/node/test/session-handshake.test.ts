import { Identity } from '@skymesh/crypto';
import {
  decodeRouteMessage,
  encodeFrames,
  encodeRecordPlaintext,
  encodeRouteMessage,
  epochCiphers,
  type Frame,
  initiateSession,
  SESSION_VERSION,
  type SessionError,
  sealRecord,
} from '@skymesh/protocol/stream';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createMemoryRoutePair } from '../src/session/index.js';
import { createTestSessions, interceptRoute, readAll, waitFor } from '../src/session/testing.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 150);

const flip = (p: Uint8Array, at: number) => {
  const q = p.slice();
  q[at % q.length]! ^= 0x40;
  return q;
};

describe('session handshake', () => {
  it('is NK to the address key: no signature, and both messages are e + sealed params only', async () => {
    const t = createTestSessions();
    const sign = vi.spyOn(t.identity, 'sign');
    const sent: number[] = [];
    const received: number[] = [];
    const client = t.connect({
      openRoute: async () => {
        const pair = createMemoryRoutePair();
        t.server.acceptRoute(pair.b);
        return interceptRoute(pair.a, {
          out: (p) => {
            sent.push(p.length);
            return p;
          },
          in: (p) => {
            received.push(p.length);
            return p;
          },
        });
      },
    });
    await client.ready;
    expect(sign).not.toHaveBeenCalled();
    // type + ephemeral (32) + params (13) + tag (16): no room for a signature or a static key.
    expect(sent[0]).toBe(1 + 32 + 13 + 16);
    expect(received[0]).toBe(1 + 32 + 13 + 16);
    await client.close();
  });

  it('fails with SESSION_BAD_HANDSHAKE when dialling the wrong key', async () => {
    const t = createTestSessions();
    const client = t.connect({ destination: Identity.generate().publicKey });
    await expect(client.ready).rejects.toMatchObject({ code: 'SESSION_BAD_HANDSHAKE' });
    expect((await client.closed)?.code).toBe('SESSION_BAD_HANDSHAKE');
    expect(t.server.stats()).toMatchObject({ sessions: 0, handshakesFailed: 1 });
  });

  it('fails when any byte of HELLO or WELCOME is tampered with', async () => {
    for (const at of [1, 5, 32, 33, 40, 61]) {
      for (const dir of ['out', 'in'] as const) {
        const t = createTestSessions();
        const client = t.connect({
          maxRouteAttempts: 1,
          openRoute: async () => {
            const pair = createMemoryRoutePair();
            t.server.acceptRoute(pair.b);
            return interceptRoute(pair.a, {
              [dir]: (p: Uint8Array, n: number) => (n === 0 ? flip(p, at) : p),
            });
          },
        });
        await expect(client.ready).rejects.toMatchObject({ code: 'SESSION_BAD_HANDSHAKE' });
      }
    }
  });

  it('ends the session with SESSION_BAD_RECORD when a record is tampered with', async () => {
    const t = createTestSessions();
    t.onStream((s) => {
      s.on('error', () => {});
      s.end('x'.repeat(5000));
    });
    const client = t.connect({
      openRoute: async () => {
        const pair = createMemoryRoutePair();
        t.server.acceptRoute(pair.b);
        return interceptRoute(pair.a, { in: (p, n) => (n === 2 ? flip(p, 100) : p) });
      },
    });
    const s = client.openStream({ name: 'a', port: 1 });
    const result = readAll(s).catch((e: SessionError) => e.code);
    s.end();
    expect(await result).toBe('SESSION_BAD_RECORD');
    expect((await client.closed)?.code).toBe('SESSION_BAD_RECORD');
  });
});

describe('a misbehaving peer', () => {
  it('garbage as the first payload never crashes the destination and creates no session', async () => {
    const t = createTestSessions();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          // Right type byte, wrong rest.
          fc
            .tuple(fc.integer({ min: 1, max: 6 }), fc.uint8Array({ maxLength: 120 }))
            .map(([type, rest]) => Uint8Array.of(type, ...rest)),
        ),
        async (garbage) => {
          const pair = createMemoryRoutePair();
          t.server.acceptRoute(pair.b);
          const closed = new Promise<void>((r) => pair.a.onClose(() => r()));
          pair.a.send(garbage);
          await closed;
          expect(t.server.stats().sessions).toBe(0);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('garbage inside an established session ends that session only', async () => {
    const ended: (string | null)[] = [];
    const t = createTestSessions({ server: { onSessionEnd: (e) => ended.push(e?.code ?? null) } });
    t.onStream((s) => s.pipe(s));
    const good = t.connect();
    const victim = t.connect();
    await Promise.all([good.ready, victim.ready]);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (garbage) => {
        const route = createMemoryRoutePair();
        const bad = t.connect({
          maxRouteAttempts: 1,
          openRoute: async () => {
            t.server.acceptRoute(route.b);
            return route.a;
          },
        });
        await bad.ready;
        const before = ended.length;
        route.a.send(garbage); // bypasses the source's engine: the route carries junk
        await waitFor(() => ended.length > before, 'session end');
        expect(['SESSION_BAD_MESSAGE', 'SESSION_BAD_RECORD']).toContain(ended[ended.length - 1]);
      }),
      { numRuns: Math.min(FUZZ_RUNS, 40) },
    );
    const s = good.openStream({ name: 'echo', port: 7 });
    const back = readAll(s);
    s.end('still here');
    expect((await back).toString()).toBe('still here');
    expect(victim.state).toBe('open');
  });

  /** A hand-made source: completes the handshake, then sends whatever records it likes. */
  async function rogue(t: ReturnType<typeof createTestSessions>) {
    const pair = createMemoryRoutePair();
    t.server.acceptRoute(pair.b);
    const init = initiateSession(t.identity.publicKey, {
      version: SESSION_VERSION,
      initialWindow: 65536,
      sessionWindow: 1 << 20,
      maxStreams: 0,
      graceSeconds: 0,
    });
    const welcome = new Promise<Uint8Array>((r) => pair.a.onPayload(r));
    pair.a.send(init.hello);
    const msg = decodeRouteMessage(await welcome);
    if (msg.type !== 'welcome') throw new Error('no welcome');
    const { keys } = init.finish(msg.noise);
    const { send } = epochCiphers(keys, 0, 'client');
    return (seq: number, ack: number, frames: Frame[]) => {
      const body = frames.length ? encodeFrames(frames) : new Uint8Array(0);
      const sealed = sealRecord(send, encodeRecordPlaintext(seq, ack, body));
      pair.a.send(encodeRouteMessage({ type: 'record', sealed }));
    };
  }

  const open: Frame = { type: 'open', streamId: 1, target: { name: 's', port: 1 } };
  const cases: [string, [number, number, Frame[]][], string][] = [
    [
      'more data than the window',
      [
        [1, 0, [open, { type: 'data', streamId: 1, data: new Uint8Array(1500) }]],
        ...Array.from({ length: 50 }, (_, i): [number, number, Frame[]] => [
          i + 2,
          0,
          [{ type: 'data', streamId: 1, data: new Uint8Array(1500) }],
        ]),
      ],
      'SESSION_WINDOW_VIOLATION',
    ],
    [
      'data on a stream never opened',
      [[1, 0, [{ type: 'data', streamId: 9, data: new Uint8Array(1) }]]],
      'SESSION_UNKNOWN_STREAM',
    ],
    ['a sequence gap', [[2, 0, [open]]], 'SESSION_SEQUENCE_GAP'],
    ['an ack of records never sent', [[1, 99, [open]]], 'SESSION_BAD_ACK'],
    [
      'a reused stream id',
      [
        [1, 0, [open]],
        [2, 0, [open]],
      ],
      'SESSION_BAD_STREAM_ID',
    ],
    [
      'a second FIN',
      [[1, 0, [open, { type: 'fin', streamId: 1 }, { type: 'fin', streamId: 1 }]]],
      'SESSION_UNKNOWN_STREAM',
    ],
    [
      'a window overflow',
      [[1, 0, [open, { type: 'window', streamId: 1, delta: 0xffffffff }]]],
      'SESSION_WINDOW_OVERFLOW',
    ],
  ];
  it('is cut off for more data than the session window, spread over streams', async () => {
    const ended: (string | null)[] = [];
    const t = createTestSessions({
      server: { sessionWindow: 32 * 1024, onSessionEnd: (e) => ended.push(e?.code ?? null) },
    });
    t.onStream((s) => s.on('error', () => {}));
    const send = await rogue(t);
    const second: Frame = { type: 'open', streamId: 2, target: { name: 's', port: 2 } };
    send(1, 0, [open, second]);
    // 24 × 1500 bytes over two streams: each stream within its 256 KiB window,
    // together beyond the 32 KiB session window.
    for (let i = 0; i < 24; i++) {
      send(i + 2, 0, [{ type: 'data', streamId: 1 + (i % 2), data: new Uint8Array(1500) }]);
    }
    await waitFor(() => ended.length === 1, 'the rogue session to end');
    expect(ended[0]).toBe('SESSION_WINDOW_VIOLATION');
  });

  for (const [name, records, code] of cases) {
    it(`is cut off for ${name} (${code})`, async () => {
      const ended: (string | null)[] = [];
      const t = createTestSessions({
        server: { initialWindow: 65536, onSessionEnd: (e) => ended.push(e?.code ?? null) },
      });
      t.onStream((s) => s.on('error', () => {}));
      const bystander = t.connect();
      await bystander.ready;
      const send = await rogue(t);
      for (const [seq, ack, frames] of records) send(seq, ack, frames);
      await waitFor(() => ended.length === 1, 'the rogue session to end');
      expect(ended[0]).toBe(code);
      expect(t.server.stats().sessions).toBe(1);
      expect(bystander.state).toBe('open');
    });
  }
});
