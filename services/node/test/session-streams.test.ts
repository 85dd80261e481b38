import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

const realClearImmediate = globalThis.clearImmediate;
const realClearTimeout = globalThis.clearTimeout;

import { type SessionStream, WireCode } from '../src/session/index.js';
import {
  createTestSessions,
  patternBytes,
  readAll,
  waitFor,
  writeAll,
} from '../src/session/testing.js';

const tick = () => new Promise<void>((r) => setTimeout(r, 5));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function errorOf(
  stream: SessionStream,
): Promise<{ code?: string; details?: Record<string, unknown> }> {
  return new Promise((resolve) => stream.on('error', (e) => resolve(e as never)));
}

describe('session streams', () => {
  it('carries many concurrent streams both ways, intact and in order', async () => {
    const t = createTestSessions();
    const received = new Map<string, Promise<Buffer>>();
    t.onStream((s) => {
      received.set(s.target.name, readAll(s));
      void writeAll(s, patternBytes(150_000, 1000 + s.target.port), 10_000);
    });
    const client = t.connect();
    const streams = Array.from({ length: 24 }, (_, i) =>
      client.openStream({ name: `svc-${i}`, port: i }),
    );
    const back = streams.map((s) => readAll(s));
    await Promise.all(streams.map((s, i) => writeAll(s, patternBytes(150_000, i + 1), 7_000)));
    const got = await Promise.all(back);
    for (let i = 0; i < streams.length; i++) {
      expect(sha(got[i]!)).toBe(sha(patternBytes(150_000, 1000 + i)));
      expect(sha(await received.get(`svc-${i}`)!)).toBe(sha(patternBytes(150_000, i + 1)));
    }
    expect(client.stats().streamsTotal).toBe(24);
    await waitFor(() => client.stats().streamsOpen === 0, 'streams to finish');
    await client.close();
  });

  it('passes the target and supports half-close: FIN one way, data still flows back', async () => {
    const t = createTestSessions();
    t.onStream(async (s) => {
      const request = await readAll(s); // the source's FIN ended our readable side
      s.end(Buffer.concat([Buffer.from(`${s.target.name}:${s.target.port}:`), request]));
    });
    const client = t.connect();
    const s = client.openStream({ name: 'exit.example', port: 443 });
    const reply = readAll(s);
    s.end('ping');
    expect((await reply).toString()).toBe('exit.example:443:ping');
  });

  it('resets: a source destroy() reaches the destination as STREAM_RESET, and back', async () => {
    const t = createTestSessions();
    const serverStreams: SessionStream[] = [];
    t.onStream((s) => {
      serverStreams.push(s);
      s.on('error', () => {});
      s.resume();
    });
    const client = t.connect();
    const a = client.openStream({ name: 'a', port: 1 });
    a.write(patternBytes(10_000, 3));
    await waitFor(() => serverStreams.length === 1, 'stream a');
    const aErr = errorOf(serverStreams[0]!);
    a.destroy();
    const e1 = await aErr;
    expect(e1.code).toBe('STREAM_RESET');
    expect(e1.details?.resetCode).toBe(1); // CANCEL

    const b = client.openStream({ name: 'b', port: 2 });
    const bErr = errorOf(b);
    b.write('x');
    await waitFor(() => serverStreams.length === 2, 'stream b');
    serverStreams[1]!.destroy(new Error('app failed'));
    const e2 = await bErr;
    expect(e2.code).toBe('STREAM_RESET');
    expect(e2.details?.resetCode).toBe(2); // INTERNAL
    // A destination can say why, with a code of its choice.
    const why = client.openStream({ name: 'why', port: 4 });
    const whyErr = errorOf(why);
    why.write('x');
    await waitFor(() => serverStreams.length === 3, 'stream why');
    serverStreams[2]!.reset(WireCode.CONNECTION_REFUSED);
    expect(await whyErr).toMatchObject({
      code: 'STREAM_RESET',
      details: { resetCode: WireCode.CONNECTION_REFUSED },
    });
    expect(serverStreams[2]!.destroyed).toBe(true);
    // The session itself is fine.
    const c = client.openStream({ name: 'c', port: 3 });
    c.end('still alive');
    await waitFor(() => serverStreams.length === 4, 'stream c');
    expect(client.state).toBe('open');
  });

  it('refuses streams the destination will not take, and caps streams per session', async () => {
    const t = createTestSessions({ server: { maxStreams: 2 } });
    t.onStream((s) => {
      if (s.target.name === 'nope') throw new Error('no such service');
      s.resume();
    });
    const client = t.connect();
    await client.ready;
    const refused = client.openStream({ name: 'nope', port: 1 });
    const err = await errorOf(refused);
    expect(err.code).toBe('STREAM_REFUSED');
    client.openStream({ name: 'ok', port: 1 }).on('error', () => {});
    client.openStream({ name: 'ok', port: 2 }).on('error', () => {});
    expect(() => client.openStream({ name: 'ok', port: 3 })).toThrow(
      expect.objectContaining({ code: 'SESSION_TOO_MANY_STREAMS' }),
    );
    for (const bad of [
      { name: 'x'.repeat(256), port: 1 },
      { name: 'lone \ud800 surrogate', port: 1 },
      { name: 'a', port: 65536 },
      { name: 'a', port: -1 },
    ]) {
      expect(() => client.openStream(bad)).toThrow(
        expect.objectContaining({ code: 'SESSION_BAD_TARGET' }),
      );
    }
  });

  it('flow control: a slow reader makes write() return false and nothing grows without bound', async () => {
    const window = 64 * 1024;
    const hwm = 16 * 1024;
    const t = createTestSessions({
      server: { initialWindow: window, highWaterMark: hwm },
      client: { highWaterMark: hwm },
    });
    let serverSide: SessionStream | undefined;
    t.onStream((s) => {
      serverSide = s; // not read yet
    });
    const client = t.connect();
    await client.ready;
    const s = client.openStream({ name: 'slow', port: 1 });
    const chunk = Buffer.alloc(4096, 1);
    let written = 0;
    let refusals = 0;
    // Write until write() says stop and no 'drain' comes any more.
    for (let round = 0; round < 1000; round++) {
      let ok = true;
      while (ok) {
        ok = s.write(chunk);
        written += chunk.length;
      }
      refusals++;
      const drained = await Promise.race([
        new Promise<boolean>((r) => s.once('drain', () => r(true))),
        (async () => {
          for (let i = 0; i < 20; i++) await tick();
          return false;
        })(),
      ]);
      if (!drained) break;
    }
    expect(refusals).toBeGreaterThan(1);
    // The sender never exceeded the window the (silent) reader granted…
    expect(client.stats().bytesSent).toBe(window);
    // …and what waits on each side is bounded: the writer's buffer by its
    // highWaterMark, the reader's by its window.
    expect(s.writableLength).toBeLessThanOrEqual(hwm + chunk.length);
    expect(written).toBeLessThanOrEqual(window + hwm + 2 * chunk.length);
    expect(serverSide!.readableLength).toBe(0);
    // Reading drains everything and the writer gets 'drain'.
    const drained = new Promise<void>((r) => s.once('drain', () => r()));
    const all = readAll(serverSide!);
    await drained;
    s.end();
    expect((await all).length).toBe(written);
  });

  it('ends cleanly: close() tells the destination, which drops the session', async () => {
    const t = createTestSessions();
    t.onStream((s) => s.resume());
    const client = t.connect();
    await client.ready;
    expect(t.server.stats().sessions).toBe(1);
    await client.close();
    expect(await client.closed).toBeNull();
    await waitFor(() => t.server.stats().sessions === 0, 'server to drop the session');
    expect(() => client.openStream({ name: 'a', port: 1 })).toThrow(
      expect.objectContaining({ code: 'SESSION_CLOSED' }),
    );
  });

  it('close() before the handshake ends rejects ready with SESSION_CLOSED', async () => {
    const t = createTestSessions();
    const client = t.connect();
    const s = client.openStream({ name: 'early', port: 1 });
    const err = new Promise<unknown>((r) => s.on('close', () => r(s.errored)));
    void client.close();
    await expect(client.ready).rejects.toMatchObject({ code: 'SESSION_CLOSED' });
    expect(await err).toBeNull(); // destroyed quietly by the local close
    expect(client.state).toBe('closed');
    await waitFor(() => t.routes[0]?.a.status === 'closed', 'the route to close');
  });

  it('keeps the retransmit buffer within maxUnackedBytes (with delayed acks too)', async () => {
    const cap = 16 * 1024;
    const t = createTestSessions({
      client: { maxUnackedBytes: cap },
      server: { ackDelayMs: 2 },
    });
    let got!: Promise<Buffer>;
    t.onStream((s) => {
      got = readAll(s);
    });
    const client = t.connect();
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, client.stats().unackedBytes);
    }, 0);
    const s = client.openStream({ name: 'bulk', port: 1 });
    const data = patternBytes(1024 * 1024, 4);
    await writeAll(s, data);
    await got;
    clearInterval(sampler);
    expect(peak).toBeGreaterThan(0);
    // One record may go past the cap (the check is before building it).
    expect(peak).toBeLessThanOrEqual(cap + 1900);
    expect((await got).equals(data)).toBe(true);
  });

  it('session window: unread streams together hold at most sessionWindow; a reset gives it back', async () => {
    const sessionWindow = 64 * 1024;
    const t = createTestSessions({
      server: { initialWindow: 48 * 1024, sessionWindow, highWaterMark: 1024 },
    });
    const atServer: SessionStream[] = [];
    t.onStream((s) => {
      atServer.push(s);
      s.on('error', () => {});
    });
    const client = t.connect();
    await client.ready;
    const streams = [1, 2, 3].map((port) => client.openStream({ name: 'unread', port }));
    for (const s of streams) {
      s.on('error', () => {});
      s.write(patternBytes(40 * 1024, 1));
    }
    await waitFor(() => client.stats().bytesSent >= sessionWindow, 'the session window to fill');
    for (let i = 0; i < 20; i++) await tick();
    // Three streams of 48 KiB windows, but only 64 KiB for all of them.
    expect(client.stats().bytesSent).toBe(sessionWindow);
    // The third stream is blocked on session credit, not its own window.
    const third = streams[2]!;
    expect(third.writableLength).toBeGreaterThan(0);
    // Resetting the other two (nobody read them) gives their credit back.
    for (const s of atServer) if (s.target.port !== 3) s.destroy();
    await waitFor(() => third.writableLength === 0, 'the third stream to be sent');
    const got = readAll(atServer.find((s) => s.target.port === 3)!);
    third.end();
    expect((await got).equals(patternBytes(40 * 1024, 1))).toBe(true);
  });

  it('cancels ack timers with the clear function of their own kind', async () => {
    // clearImmediate on a Timeout (or the reverse) unlinks it from the wrong
    // list and corrupts Node's timer bookkeeping: immediates stall.
    const wrong: string[] = [];
    const ci = vi.spyOn(globalThis, 'clearImmediate').mockImplementation((h) => {
      if (h && (h as object).constructor.name !== 'Immediate')
        wrong.push('clearImmediate(Timeout)');
      return realClearImmediate(h);
    });
    const ct = vi.spyOn(globalThis, 'clearTimeout').mockImplementation((h) => {
      if (h && typeof h === 'object' && h.constructor.name === 'Immediate') {
        wrong.push('clearTimeout(Immediate)');
      }
      return realClearTimeout(h);
    });
    try {
      const t = createTestSessions({ server: { ackDelayMs: 1000 } });
      t.onStream((s) => {
        s.on('error', () => {}); // the close below ends it with SESSION_CLOSED
        s.resume();
      });
      const client = t.connect();
      const s = client.openStream({ name: 'a', port: 1 });
      s.write('one record');
      await waitFor(() => t.server.stats().sessions === 1, 'session');
      await tick();
      // Urgent acks replace the pending delayed one, then the session ends
      // with one pending.
      for (let i = 0; i < 40; i++) s.write(patternBytes(1800, i));
      await tick();
      s.write('one more');
      await tick();
      await client.close();
      await waitFor(() => t.server.stats().sessions === 0, 'the destination to end it');
    } finally {
      ci.mockRestore();
      ct.mockRestore();
    }
    expect(wrong).toEqual([]);
  });
});
