/**
 * WebSocket transport (`ws`): binary messages, no compression (it would
 * leak plaintext sizes and costs CPU on random bytes), optional TLS (wss).
 * Every write becomes one ws message; the link layer reads the messages as
 * one byte stream anyway. Identity comes from the Noise handshake above, so
 * a wss certificate only has to exist: nodes make a self-signed one (tls.ts)
 * and diallers do not check it.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { LINK_MAX_WRITE } from '@skymesh/protocol/link';
import { WebSocket, WebSocketServer } from 'ws';
import { LinkManagerError } from '../errors.js';
import {
  type Connection,
  DEFAULT_HIGH_WATER,
  type Endpoint,
  type Transport,
  type TransportListener,
} from '../transport.js';
import { BaseConnection } from './_connection.js';

export interface WebSocketTransportInit {
  /** Serve wss with this certificate and key (PEM). Without it the listener speaks plain ws. */
  tls?: { cert: string; key: string };
  /** Bytes queued in ws before write() returns false. @default 256 KiB */
  highWater?: number;
  /** Dial (TCP + TLS + HTTP upgrade) timeout in ms. @default 10000 */
  dialTimeoutMs?: number;
  /** Request path. @default '/' */
  path?: string;
}

/** Largest ws message accepted: one link write. A larger one closes the socket (ws enforces it). */
const MAX_MESSAGE = LINK_MAX_WRITE;

class WsConnection extends BaseConnection {
  readonly remote: string;
  private readonly ws: WebSocket;
  private readonly highWater: number;
  private pending = 0;
  private blocked = false;

  constructor(ws: WebSocket, remote: string, highWater: number) {
    super();
    this.ws = ws;
    this.remote = remote;
    this.highWater = highWater;
    ws.on('error', () => {});
    ws.on('message', (data) => {
      if (Array.isArray(data)) for (const d of data) this.dataHandler(d);
      else this.dataHandler(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
    });
    ws.once('close', () => this.closeHandler());
  }

  get buffered(): number {
    return this.pending;
  }

  write(bytes: Uint8Array): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    const n = bytes.length;
    this.pending += n;
    // The callback runs once ws has handed the message to the socket: that
    // is what `pending` counts, since ws itself never says no.
    this.ws.send(bytes, { binary: true }, () => {
      this.pending -= n;
      if (this.blocked && this.pending <= this.highWater / 2) {
        this.blocked = false;
        this.drainHandler();
      }
    });
    if (this.pending > this.highWater) this.blocked = true;
    return !this.blocked;
  }

  close(): void {
    this.ws.close(1000);
    // ws waits for the peer's close frame; do not wait forever.
    setTimeout(() => this.ws.terminate(), 5000).unref();
  }

  destroy(): void {
    this.ws.terminate();
  }
}

/** A WebSocket transport; endpoints are `{ transport: 'ws' | 'wss', host, port }`. */
export function webSocketTransport(init: WebSocketTransportInit = {}): Transport {
  const highWater = init.highWater ?? DEFAULT_HIGH_WATER;
  const dialTimeoutMs = init.dialTimeoutMs ?? 10_000;
  const path = init.path ?? '/';
  const scheme = init.tls ? 'wss' : 'ws';
  return {
    names: ['ws', 'wss'],
    listen(options, onConnection) {
      const host = options.host ?? '127.0.0.1';
      return new Promise<TransportListener>((resolve, reject) => {
        const common = { perMessageDeflate: false, maxPayload: MAX_MESSAGE, path };
        let https: HttpsServer | undefined;
        let wss: WebSocketServer;
        const onListening = () => {
          // Errors after start (e.g. out of file descriptors) must not stop the node.
          wss.on('error', () => {});
          https?.on('error', () => {});
          const addr = (https ?? wss).address();
          const port = typeof addr === 'object' && addr ? addr.port : 0;
          resolve({
            endpoints: [{ transport: scheme, host, port }],
            close: () =>
              new Promise<void>((done) => {
                for (const c of wss.clients) c.terminate();
                wss.close(() => (https ? https.close(() => done()) : done()));
              }),
          });
        };
        if (init.tls) {
          https = createHttpsServer({ cert: init.tls.cert, key: init.tls.key });
          wss = new WebSocketServer({ ...common, server: https });
          https.once('error', reject);
          https.listen(options.port ?? 0, host, onListening);
        } else {
          wss = new WebSocketServer({ ...common, host, port: options.port ?? 0 });
          wss.once('error', reject);
          wss.once('listening', onListening);
        }
        wss.on('connection', (ws, req) => {
          const remote = `${scheme}://${req.socket.remoteAddress}:${req.socket.remotePort}`;
          onConnection(new WsConnection(ws, remote, highWater));
        });
      });
    },
    dial(endpoint: Endpoint, options = {}) {
      const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
      const url = `${endpoint.transport === 'wss' ? 'wss' : 'ws'}://${host}:${endpoint.port}${path}`;
      if (options.signal?.aborted) {
        return Promise.reject(new LinkManagerError('LINK_DIAL_FAILED', 'ws dial aborted'));
      }
      return new Promise<Connection>((resolve, reject) => {
        const ws = new WebSocket(url, {
          perMessageDeflate: false,
          maxPayload: MAX_MESSAGE,
          handshakeTimeout: dialTimeoutMs,
          // The peer is authenticated by Noise, not by its certificate.
          rejectUnauthorized: false,
        });
        let settled = false;
        const fail = (why: string) => {
          if (settled) return;
          settled = true;
          options.signal?.removeEventListener('abort', onAbort);
          reject(new LinkManagerError('LINK_DIAL_FAILED', `ws dial failed: ${why}`));
          ws.terminate();
        };
        const onAbort = () => fail('aborted');
        options.signal?.addEventListener('abort', onAbort, { once: true });
        // Not `once`: terminate() while connecting emits one more error.
        ws.on('error', (e) => fail(e.message));
        ws.once('open', () => {
          if (settled) return;
          settled = true;
          options.signal?.removeEventListener('abort', onAbort);
          ws.removeAllListeners('error');
          resolve(new WsConnection(ws, url, highWater));
        });
      });
    },
  };
}
