/**
 * A GatewayTransport over the gateway's WebSocket API (`/v1/ws`), browser-safe:
 * it uses an injected WebSocket-like object (the browser's WebSocket, the `ws`
 * package's, or one carried over the mesh) or `globalThis.WebSocket`.
 *
 * One socket carries many requests: each message is `{ id, call }` or
 * `{ id, log, … }` (checkpoint, inclusion and consistency proofs) and the
 * answer carries the same id, in completion order. When the socket closes,
 * requests waiting on it fail with GW_UNAVAILABLE (for a call: outcome unknown,
 * so GatewayClient keeps it pending and re-sends it byte for byte) and the
 * next request opens a new socket.
 */
import type { CheckpointJson } from './checkpoint.js';
import type { CallResponseJson, GatewayTransport } from './client.js';
import { GatewayError, type GatewayErrorCode } from './errors.js';

/** The part of the WebSocket API this transport uses (browser WebSocket and `ws` both have it). */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

/** Options of wsTransport: `url` (with a constructor or globalThis.WebSocket), or `connect`. */
export interface WsTransportInit {
  /** The gateway's WebSocket URL, e.g. "wss://gw.example/v1/ws". */
  url?: string;
  /** WebSocket constructor. @default globalThis.WebSocket */
  WebSocket?: new (
    url: string,
  ) => WebSocketLike;
  /** Opens a socket (instead of url): e.g. a `ws` client over a mesh stream. Called again after a socket closes. */
  connect?: () => WebSocketLike;
  /** A request unanswered this long fails with GW_UNAVAILABLE. @default 30000 */
  timeoutMs?: number;
}

/** A GatewayTransport that can be closed. */
export interface WsTransport extends GatewayTransport {
  /** Closes the socket; waiting requests fail with GW_UNAVAILABLE. Later requests open a new one. */
  close(): void;
}

interface Waiting {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** One socket and the requests sent on it. */
interface Connection {
  socket: WebSocketLike;
  waiting: Map<number, Waiting>;
  /** Set once it closed (or close() dropped it): nothing more is sent on it. */
  closed: boolean;
}

const OPEN = 1;

function text(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    return new TextDecoder().decode(data as ArrayBuffer);
  }
  return undefined;
}

/** A GatewayTransport over one WebSocket at a time. */
export function wsTransport(init: WsTransportInit): WsTransport {
  const timeoutMs = init.timeoutMs ?? 30_000;
  const open = (): WebSocketLike => {
    if (init.connect) return init.connect();
    const Ctor =
      init.WebSocket ??
      (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
    if (!Ctor || !init.url) {
      throw new GatewayError('GW_UNAVAILABLE', 'no WebSocket implementation or URL');
    }
    return new Ctor(init.url);
  };

  // Each socket has its own requests: a late 'close' from an old socket fails
  // only what was sent on it, never requests already sent on its successor.
  let current: Connection | undefined;
  let ready: Promise<Connection> | undefined;
  let nextId = 1;

  const failAll = (c: Connection, reason: string) => {
    c.closed = true;
    for (const [id, w] of c.waiting) {
      c.waiting.delete(id);
      clearTimeout(w.timer);
      w.reject(new GatewayError('GW_UNAVAILABLE', reason));
    }
  };

  const connect = (): Promise<Connection> => {
    if (ready) return ready;
    let s: WebSocketLike;
    try {
      s = open();
    } catch (e) {
      if (e instanceof GatewayError) return Promise.reject(e);
      return Promise.reject(
        new GatewayError('GW_UNAVAILABLE', 'gateway unreachable', { cause: String(e) }),
      );
    }
    const c: Connection = { socket: s, waiting: new Map(), closed: false };
    current = c;
    const p = new Promise<Connection>((resolve, reject) => {
      let opened = s.readyState === OPEN;
      if (opened) resolve(c);
      s.addEventListener('open', () => {
        opened = true;
        resolve(c);
      });
      const gone = () => {
        if (current === c) {
          current = undefined;
          ready = undefined;
        }
        if (!opened) reject(new GatewayError('GW_UNAVAILABLE', 'gateway unreachable'));
        failAll(c, 'connection to the gateway closed');
      };
      s.addEventListener('close', gone);
      s.addEventListener('error', gone);
      s.addEventListener('message', (event) => {
        let msg: Record<string, unknown>;
        try {
          const parsed = JSON.parse(text(event.data) ?? '') as unknown;
          if (typeof parsed !== 'object' || parsed === null) return;
          msg = parsed as Record<string, unknown>;
        } catch {
          return; // not ours to answer; the request times out
        }
        const w = typeof msg.id === 'number' ? c.waiting.get(msg.id) : undefined;
        if (!w) return;
        c.waiting.delete(msg.id as number);
        clearTimeout(w.timer);
        const err = msg.error as { code?: unknown; message?: unknown } | undefined;
        if (err && typeof err === 'object') {
          const code = typeof err.code === 'string' ? err.code : 'GW_UNAVAILABLE';
          const message = typeof err.message === 'string' ? err.message : 'gateway error';
          w.reject(new GatewayError(code as GatewayErrorCode, message));
        } else {
          w.resolve(msg);
        }
      });
    });
    ready = p;
    return p;
  };

  const request = async (body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const c = await connect();
    // Closed while it was opening (by close()): nothing would answer on it.
    if (c.closed) throw new GatewayError('GW_UNAVAILABLE', 'connection to the gateway closed');
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        c.waiting.delete(id);
        reject(new GatewayError('GW_UNAVAILABLE', 'gateway did not answer in time'));
      }, timeoutMs);
      c.waiting.set(id, { resolve, reject, timer });
      try {
        c.socket.send(JSON.stringify({ id, ...body }));
      } catch (e) {
        c.waiting.delete(id);
        clearTimeout(timer);
        reject(new GatewayError('GW_UNAVAILABLE', 'could not send', { cause: String(e) }));
      }
    });
  };

  const proof = (r: Record<string, unknown>): string[] => {
    if (!Array.isArray(r.proof)) throw new GatewayError('GW_BAD_PROOF', 'answer has no proof');
    return r.proof as string[];
  };

  return {
    async call(call) {
      const { id: _id, ...res } = await request({ call });
      return res as unknown as CallResponseJson;
    },
    async checkpoint() {
      const { id: _id, ...cp } = await request({ log: 'checkpoint' });
      return cp as unknown as CheckpointJson;
    },
    inclusionProof: async (index, size) =>
      proof(await request({ log: 'inclusion', index: String(index), size: String(size) })),
    consistencyProof: async (first, second) =>
      proof(await request({ log: 'consistency', first: String(first), second: String(second) })),
    close() {
      const c = current;
      current = undefined;
      ready = undefined;
      if (!c) return;
      failAll(c, 'transport closed');
      c.socket.close();
    },
  };
}
