import { createHash } from 'node:crypto';
import { decodeRouteMessage, encodeRouteMessage, WireCode } from '@skymesh/protocol/stream';
import { describe, expect, it } from 'vitest';
import type { RouteChannel } from '../src/contracts.js';
import { createMemoryRoutePair, type SessionStream } from '../src/session/index.js';
import {
  createTestSessions,
  interceptRoute,
  patternBytes,
  readAll,
  waitFor,
  writeAll,
} from '../src/session/testing.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Sends `payload` as the first message of a fresh route to the server; resolves with its answer. */
function probe(
  t: ReturnType<typeof createTestSessions>,
  payload: Uint8Array,
): Promise<ReturnType<typeof decodeRouteMessage> | 'closed'> {
  const pair = createMemoryRoutePair();
  t.server.acceptRoute(pair.b);
  return new Promise((resolve) => {
    pair.a.onPayload((p) => resolve(decodeRouteMessage(p)));
    pair.a.onClose(() => resolve('closed'));
    pair.a.send(payload);
  });
}

describe('session failover', () => {
  it('survives several route deaths mid-transfer, both directions, on several streams', async () => {
    const size = 2 * 1024 * 1024;
    const t = createTestSessions();
    const serverGot = new Map<number, Promise<Buffer>>();
    t.onStream((s) => {
      serverGot.set(s.target.port, readAll(s));
      void writeAll(s, patternBytes(size, 100 + s.target.port));
    });
    const client = t.connect();
    const kills = [150, 600, 1400, 2500];
    let killed = 0;
    let before = 0;
    const watcher = setInterval(() => {
      const cur = t.routes[t.routes.length - 1];
      const mark = kills[killed];
      if (!cur || mark === undefined) return;
      const total = before + cur.delivered.ab + cur.delivered.ba;
      if (total >= mark) {
        killed++;
        before = total;
        cur.kill();
      }
    }, 1);
    try {
      const streams = [1, 2, 3].map((port) => client.openStream({ name: 'bulk', port }));
      const back = streams.map((s) => readAll(s));
      await Promise.all(streams.map((s, i) => writeAll(s, patternBytes(size, i + 1))));
      const got = await Promise.all(back);
      for (let i = 0; i < 3; i++) {
        expect(sha(got[i]!)).toBe(sha(patternBytes(size, 101 + i)));
        expect(sha(await serverGot.get(i + 1)!)).toBe(sha(patternBytes(size, i + 1)));
      }
      expect(killed).toBeGreaterThanOrEqual(3);
      expect(client.stats().resumes).toBe(killed);
      expect(client.stats().retransmitted).toBeGreaterThan(0);
      expect(t.server.stats()).toMatchObject({ sessions: 1, resumes: killed, resumesRefused: 0 });
    } finally {
      clearInterval(watcher);
      await client.close();
    }
  });

  it('refuses a forged RESUME and a replayed one; the real session carries on', async () => {
    const t = createTestSessions();
    const sent: Uint8Array[][] = [];
    const client = t.connect({
      openRoute: async () => {
        const pair = createMemoryRoutePair();
        t.routes.push(pair);
        t.server.acceptRoute(pair.b);
        const log: Uint8Array[] = [];
        sent.push(log);
        return interceptRoute(pair.a, {
          out: (p) => {
            log.push(p.slice());
            return p;
          },
        });
      },
    });
    const echoes: SessionStream[] = [];
    t.onStream((s) => {
      echoes.push(s);
      s.pipe(s);
    });
    const s = client.openStream({ name: 'echo', port: 7 });
    const reply = readAll(s);
    s.write('one ');
    await waitFor(() => echoes.length === 1, 'stream');
    t.killRoute();
    await waitFor(() => client.state === 'open' && t.routes.length === 2, 'resume');
    const realResume = sent[1]![0]!;
    const msg = decodeRouteMessage(realResume);
    expect(msg.type).toBe('resume');
    if (msg.type !== 'resume') return;

    // Replayed verbatim on another route: same epoch, refused.
    expect(await probe(t, realResume)).toEqual({ type: 'refused', code: WireCode.REPLAYED_RESUME });
    // A newer epoch without the key: the MAC fails.
    const forged = encodeRouteMessage({ ...msg, epoch: msg.epoch + 5 });
    expect(await probe(t, forged)).toEqual({ type: 'refused', code: WireCode.BAD_RESUME });
    const flipped = encodeRouteMessage({
      ...msg,
      mac: msg.mac.map((b, i) => (i === 0 ? b ^ 1 : b)),
    });
    expect(await probe(t, flipped)).toEqual({ type: 'refused', code: WireCode.BAD_RESUME });
    // An unknown session id.
    const unknown = encodeRouteMessage({ ...msg, sessionId: new Uint8Array(16) });
    expect(await probe(t, unknown)).toEqual({ type: 'refused', code: WireCode.UNKNOWN_SESSION });
    expect(t.server.stats().resumesRefused).toBe(4);

    // The source's session still works on its route.
    s.end('two');
    expect((await reply).toString()).toBe('one two');
    expect(client.state).toBe('open');
  });

  it('the destination drops a detached session after its grace period; a late resume is refused', async () => {
    const t = createTestSessions({ server: { graceMs: 40 } });
    let hold: (() => void) | null = null;
    let routesOpened = 0;
    const client = t.connect({
      openRoute: async () => {
        routesOpened++;
        if (routesOpened > 1) await new Promise<void>((r) => (hold = r));
        const pair = createMemoryRoutePair();
        t.routes.push(pair);
        t.server.acceptRoute(pair.b);
        return pair.a;
      },
    });
    t.onStream((s) => s.resume());
    const s = client.openStream({ name: 'x', port: 1 });
    const err = new Promise<{ code?: string }>((r) => s.on('error', (e) => r(e as never)));
    s.write('hello');
    await client.ready;
    await waitFor(() => t.server.stats().sessions === 1, 'session');
    t.killRoute();
    await waitFor(() => t.server.stats().sessionsExpired === 1, 'expiry');
    expect(t.server.stats().sessions).toBe(0);
    hold!();
    expect((await err).code).toBe('SESSION_RESUME_REFUSED');
    expect((await client.closed)?.code).toBe('SESSION_RESUME_REFUSED');
  });

  it('gives up with SESSION_ROUTE_FAILED when no new route can be built', async () => {
    const t = createTestSessions();
    let opened = 0;
    const client = t.connect({
      maxRouteAttempts: 3,
      openRoute: async () => {
        if (++opened > 1) throw new Error('no path');
        const pair = createMemoryRoutePair();
        t.routes.push(pair);
        t.server.acceptRoute(pair.b);
        return pair.a;
      },
    });
    await client.ready;
    t.killRoute();
    expect((await client.closed)?.code).toBe('SESSION_ROUTE_FAILED');
    expect(opened).toBe(4);
  });

  it('retries when a route dies during the handshake or during a resume', async () => {
    const t = createTestSessions();
    const echoes: SessionStream[] = [];
    t.onStream((s) => {
      echoes.push(s);
      s.pipe(s);
    });
    let opened = 0;
    const client = t.connect({
      openRoute: async () => {
        opened++;
        const pair = createMemoryRoutePair();
        t.routes.push(pair);
        t.server.acceptRoute(pair.b);
        // Routes 1 and 3 die right after the first message went out.
        if (opened === 1 || opened === 3) setImmediate(() => pair.kill());
        return pair.a;
      },
    });
    await client.ready;
    expect(opened).toBe(2);
    const s = client.openStream({ name: 'echo', port: 7 });
    const back = readAll(s);
    s.write('before ');
    await waitFor(() => echoes.length === 1, 'stream');
    t.killRoute(); // route 2 dies; route 3 dies during the resume; route 4 works
    await waitFor(() => opened === 4 && client.state === 'open', 'resume on route 4');
    s.end('after');
    expect((await back).toString()).toBe('before after');
    expect(t.server.stats().sessions).toBe(1);
  });

  it('moves a session whose old route the destination still thinks alive', async () => {
    const t = createTestSessions();
    const size = 1024 * 1024;
    let got!: Promise<Buffer>;
    t.onStream((s) => {
      got = readAll(s);
    });
    let fakeClose: ((reason: string) => void) | null = null;
    let first = true;
    const client = t.connect({
      openRoute: async () => {
        const pair = createMemoryRoutePair();
        t.routes.push(pair);
        t.server.acceptRoute(pair.b);
        if (!first) return pair.a;
        first = false;
        // The source alone sees this route die (the destination does not).
        let dead = false;
        return {
          get payloadSize() {
            return pair.a.payloadSize;
          },
          get status() {
            return dead ? 'closed' : pair.a.status;
          },
          send: (p) => !dead && pair.a.send(p),
          onPayload: (h) => pair.a.onPayload((p) => dead || h(p)),
          onDrain: (h) => pair.a.onDrain(h),
          onClose: (h) => {
            fakeClose = (r) => {
              dead = true;
              h(r);
            };
            pair.a.onClose(h);
          },
          close: () => {},
        } satisfies RouteChannel;
      },
    });
    const s = client.openStream({ name: 'sink', port: 1 });
    const data = patternBytes(size, 9);
    const writing = writeAll(s, data, 16 * 1024);
    await waitFor(() => client.stats().bytesSent > 200_000, 'some progress');
    fakeClose!('source-side failure');
    await writing;
    expect(sha(await got)).toBe(sha(data));
    // The destination closed the superseded route itself.
    expect(t.routes[0]!.b.status).toBe('closed');
    expect(t.server.stats().resumes).toBe(1);
  });

  it('closes a route whose destination never answers RESUME, and tries another', async () => {
    const t = createTestSessions();
    t.onStream((s) => s.pipe(s));
    let opened = 0;
    const client = t.connect({
      handshakeTimeoutMs: 50,
      openRoute: async () => {
        opened++;
        const pair = createMemoryRoutePair();
        t.routes.push(pair);
        // Route 2 leads nowhere: nobody reads its far end.
        if (opened !== 2) t.server.acceptRoute(pair.b);
        return pair.a;
      },
    });
    const s = client.openStream({ name: 'echo', port: 7 });
    const back = readAll(s);
    s.write('before ');
    await client.ready;
    t.killRoute();
    await waitFor(() => opened === 3 && client.state === 'open', 'resume on route 3');
    expect(t.routes[1]!.a.status).toBe('closed');
    s.end('after');
    expect((await back).toString()).toBe('before after');
  });

  it('ends with SESSION_ROUTE_FAILED after maxRouteAttempts unanswered resumes', async () => {
    const t = createTestSessions();
    let opened = 0;
    const client = t.connect({
      handshakeTimeoutMs: 20,
      maxRouteAttempts: 3,
      openRoute: async () => {
        opened++;
        const pair = createMemoryRoutePair();
        t.routes.push(pair);
        if (opened === 1) t.server.acceptRoute(pair.b);
        return pair.a;
      },
    });
    await client.ready;
    t.killRoute();
    expect((await client.closed)?.code).toBe('SESSION_ROUTE_FAILED');
    expect(opened).toBe(4);
  });
});
