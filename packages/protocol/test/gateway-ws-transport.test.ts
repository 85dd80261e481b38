// wsTransport against a scripted in-memory WebSocket: request ids, error
// codes, answers in any order, timeouts, a closed socket failing what waits
// on it and the next request opening a new one. The real gateway is in
// services/gateway/test/service.test.ts.
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../src/gateway/errors.js';
import { type WebSocketLike, wsTransport } from '../src/gateway/ws-transport.js';

type Listener = (e: { data: unknown }) => void;

/** A socket whose peer is the test: `sent` holds what the transport sent, `answer` replies. */
class FakeSocket implements WebSocketLike {
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  private listeners = new Map<string, Listener[]>();
  addEventListener(type: string, l: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), l]);
  }
  emit(type: string, data?: unknown) {
    for (const l of this.listeners.get(type) ?? []) l({ data });
  }
  open() {
    this.readyState = 1;
    this.emit('open');
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  answer(msg: unknown) {
    this.emit('message', typeof msg === 'string' ? msg : JSON.stringify(msg));
  }
  close() {
    this.readyState = 3;
    this.emit('close');
  }
}

/** Its 'close' event comes when the test says, as after a real closing handshake. */
class SlowClose extends FakeSocket {
  override close() {
    this.readyState = 2;
  }
  finishClose() {
    super.close();
  }
}

/** A transport whose every connection is a new, already open `Socket`, kept in `sockets`. */
function openSockets<S extends FakeSocket>(Socket: new () => S) {
  const sockets: S[] = [];
  const t = wsTransport({
    connect: () => {
      const s = new Socket();
      sockets.push(s);
      s.readyState = 1;
      return s;
    },
  });
  return { sockets, t };
}

const code = async (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e) => (e instanceof GatewayError ? e.code : String(e)),
  );
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('wsTransport', () => {
  it('matches answers to requests by id, in any order, and maps error codes', async () => {
    const sockets: FakeSocket[] = [];
    const t = wsTransport({
      connect: () => {
        const s = new FakeSocket();
        sockets.push(s);
        queueMicrotask(() => s.open());
        return s;
      },
    });
    const cp = t.checkpoint();
    const inc = t.inclusionProof(3n, 8n);
    const con = t.consistencyProof(2n, 8n);
    await tick();
    const s = sockets[0]!;
    expect(s.sent.map(({ id: _id, ...m }) => m)).toEqual([
      { log: 'checkpoint' },
      { log: 'inclusion', index: '3', size: '8' },
      { log: 'consistency', first: '2', second: '8' },
    ]);
    s.answer({ id: s.sent[2]!.id, error: { code: 'GW_NOT_FOUND', message: 'out of range' } });
    s.answer('not json'); // ignored
    s.answer({ id: 999, proof: [] }); // not ours: ignored
    s.answer({ id: s.sent[1]!.id, index: '3', size: '8', proof: ['aa'] });
    s.answer({ id: s.sent[0]!.id, size: '8', root: 'r', time: '1', signature: 's' });
    expect(await cp).toEqual({ size: '8', root: 'r', time: '1', signature: 's' });
    expect(await inc).toEqual(['aa']);
    expect(await code(con)).toBe('GW_NOT_FOUND');
    expect(sockets).toHaveLength(1);
  });

  it('a closed socket fails waiting requests with GW_UNAVAILABLE; the next request reconnects', async () => {
    const { sockets, t } = openSockets(FakeSocket);
    const waiting = t.checkpoint();
    await tick();
    sockets[0]!.close();
    expect(await code(waiting)).toBe('GW_UNAVAILABLE');
    const next = t.checkpoint();
    await tick();
    expect(sockets).toHaveLength(2);
    sockets[1]!.answer({ id: sockets[1]!.sent[0]!.id, size: '0' });
    expect(await next).toEqual({ size: '0' });
  });

  it("a late 'close' from a closed socket fails nothing sent on its successor", async () => {
    const { sockets, t } = openSockets(SlowClose);
    const a = t.checkpoint();
    await tick();
    t.close();
    expect(await code(a)).toBe('GW_UNAVAILABLE');
    const b = t.checkpoint(); // goes out on a new socket
    await tick();
    expect(sockets).toHaveLength(2);
    expect(sockets[1]!.sent).toHaveLength(1);
    sockets[0]!.finishClose(); // the old socket's close arrives now
    sockets[1]!.answer({ id: sockets[1]!.sent[0]!.id, size: '5' });
    expect(await b).toEqual({ size: '5' });
  });

  it('a request waiting for a socket that close() dropped fails and is not sent on it', async () => {
    const s = new SlowClose(); // still connecting
    const t = wsTransport({ connect: () => s, timeoutMs: 200 });
    const p = code(t.checkpoint());
    await tick();
    t.close();
    s.open(); // opens after all, before its close
    await tick();
    s.finishClose();
    expect(await p).toBe('GW_UNAVAILABLE');
    expect(s.sent).toHaveLength(0);
  });

  it('times out an unanswered request and refuses a socket that never opens', async () => {
    const s = new FakeSocket();
    s.readyState = 1;
    const t = wsTransport({ connect: () => s, timeoutMs: 20 });
    expect(await code(t.checkpoint())).toBe('GW_UNAVAILABLE');
    const never = new FakeSocket();
    const u = wsTransport({ connect: () => never });
    const p = u.checkpoint();
    never.close();
    expect(await code(p)).toBe('GW_UNAVAILABLE');
    const thrower = wsTransport({
      connect: () => {
        throw new Error('no route');
      },
    });
    expect(await code(thrower.checkpoint())).toBe('GW_UNAVAILABLE');
    expect(await code(wsTransport({}).checkpoint())).toBe('GW_UNAVAILABLE');
  });
});
