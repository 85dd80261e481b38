/**
 * Raw TCP transport (node:net): the link's bytes straight on a socket, no
 * framing below ours. The cheapest transport, for node pairs that need not
 * look like web traffic.
 */
import { connect, createServer, type Socket } from 'node:net';
import { LinkManagerError } from '../errors.js';
import {
  type Connection,
  DEFAULT_HIGH_WATER,
  type Endpoint,
  type Transport,
  type TransportListener,
} from '../transport.js';
import { BaseConnection } from './_connection.js';

export interface TcpTransportInit {
  /** Socket send-buffer high-water mark in bytes. @default 256 KiB */
  highWater?: number;
  /** Dial timeout (ms). @default 10000 */
  dialTimeoutMs?: number;
}

class TcpConnection extends BaseConnection {
  readonly remote: string;
  private readonly socket: Socket;

  private readonly highWater: number;
  private blocked = false;

  constructor(socket: Socket, highWater: number) {
    super();
    this.socket = socket;
    this.highWater = highWater;
    this.remote = `tcp://${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    let error: Error | undefined;
    socket.on('error', (e) => {
      error = e;
    });
    socket.on('data', (b) => this.dataHandler(b));
    // Node emits 'drain' once its buffer empties after any write it found
    // above its own (16 KiB) mark; ours is higher, so we only pass it on
    // when we had said no.
    socket.on('drain', () => {
      if (!this.blocked) return;
      this.blocked = false;
      this.drainHandler();
    });
    socket.once('close', () => this.closeHandler(error));
  }

  get buffered(): number {
    return this.socket.writableLength;
  }

  write(bytes: Uint8Array): boolean {
    if (this.socket.destroyed || this.socket.writableEnded) return false;
    this.socket.write(bytes);
    if (this.socket.writableLength >= this.highWater) this.blocked = true;
    return !this.blocked;
  }

  close(): void {
    this.socket.end();
    // A peer that never closes its side must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A TCP transport; endpoints are `{ transport: 'tcp', host, port }`. */
export function tcpTransport(init: TcpTransportInit = {}): Transport {
  const highWater = init.highWater ?? DEFAULT_HIGH_WATER;
  const dialTimeoutMs = init.dialTimeoutMs ?? 10_000;
  return {
    names: ['tcp'],
    listen(options, onConnection) {
      const server = createServer({ noDelay: true }, (socket) => {
        onConnection(new TcpConnection(socket, highWater));
      });
      return new Promise<TransportListener>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          // Errors after start (e.g. out of file descriptors) must not stop the node.
          server.on('error', () => {});
          const addr = server.address();
          const port = typeof addr === 'object' && addr ? addr.port : 0;
          resolve({
            endpoints: [{ transport: 'tcp', host: options.host ?? '127.0.0.1', port }],
            close: () =>
              new Promise<void>((done) => {
                server.close(() => done());
              }),
          });
        });
      });
    },
    dial(endpoint: Endpoint, options = {}) {
      if (options.signal?.aborted) {
        return Promise.reject(new LinkManagerError('LINK_DIAL_FAILED', 'tcp dial aborted'));
      }
      return new Promise<Connection>((resolve, reject) => {
        const socket = connect({
          host: endpoint.host,
          port: endpoint.port,
          noDelay: true,
        });
        const fail = (why: string) => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          socket.destroy();
          reject(new LinkManagerError('LINK_DIAL_FAILED', `tcp dial failed: ${why}`));
        };
        const timer = setTimeout(() => fail('timeout'), dialTimeoutMs);
        const onAbort = () => fail('aborted');
        options.signal?.addEventListener('abort', onAbort, { once: true });
        socket.once('error', (e) => fail(e.message));
        socket.once('connect', () => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          socket.removeAllListeners('error');
          resolve(new TcpConnection(socket, highWater));
        });
      });
    },
  };
}
