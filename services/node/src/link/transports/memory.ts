/**
 * In-memory transport for tests and simulation: a MemoryNetwork connects
 * any number of nodes in one process, with real asynchrony (delivery on a
 * later macrotask), bounded buffers and backpressure, and switches to
 * simulate what sockets do badly: a peer that stops reading (pauseReading)
 * and a path that silently drops everything (blackhole).
 */
import { LinkManagerError } from '../errors.js';
import {
  type Connection,
  DEFAULT_HIGH_WATER,
  type Endpoint,
  type ListenOptions,
  type Transport,
  type TransportListener,
} from '../transport.js';
import { BaseConnection } from './_connection.js';

/** One end of an in-memory pipe, with the switches tests use. */
export interface MemoryConnection extends Connection {
  /** Stops delivering received bytes; they wait (counting against the sender's buffer). */
  pauseReading(): void;
  resumeReading(): void;
  /** From now on both directions drop every byte and nothing ever closes by itself. */
  blackhole(): void;
}

export interface MemoryNetworkOptions {
  /** Bytes in flight towards one end before the sender's write() returns false. @default 256 KiB */
  highWater?: number;
}

/** A set of in-memory listeners that dial each other. */
export interface MemoryNetwork {
  /** A Transport on this network (name 'mem'). */
  transport(): Transport;
  /** Called with both ends of every new pipe (dialler end first); for tests. */
  onPipe(handler: (dialler: MemoryConnection, listener: MemoryConnection) => void): void;
}

class End extends BaseConnection implements MemoryConnection {
  peer!: End;
  readonly remote: string;
  private readonly highWater: number;
  private inbox: Uint8Array[] = [];
  /** Bytes waiting in `inbox` (what the peer sees as its `buffered`). */
  inboxBytes = 0;
  private paused = false;
  private scheduled = false;
  private dropping = false;
  private closed = false;
  private closingAfterFlush = false;
  private wantDrain = false;

  constructor(remote: string, highWater: number) {
    super();
    this.remote = remote;
    this.highWater = highWater;
  }

  get buffered(): number {
    return this.peer.inboxBytes;
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed || this.closingAfterFlush) return false;
    if (this.dropping) return true;
    this.peer.receive(bytes);
    const ok = this.peer.inboxBytes < this.highWater;
    if (!ok) this.wantDrain = true;
    return ok;
  }

  pauseReading(): void {
    this.paused = true;
  }
  resumeReading(): void {
    this.paused = false;
    this.schedule();
  }
  blackhole(): void {
    this.dropping = true;
    this.peer.dropping = true;
    this.inbox = [];
    this.inboxBytes = 0;
    this.peer.inbox = [];
    this.peer.inboxBytes = 0;
  }

  close(): void {
    if (this.closed || this.closingAfterFlush) return;
    if (this.peer.inboxBytes === 0 || this.dropping) {
      this.shutdown();
      return;
    }
    // Let the peer read what was sent before the close reaches it.
    this.closingAfterFlush = true;
    this.peer.schedule();
  }

  destroy(): void {
    this.shutdown();
  }

  private receive(bytes: Uint8Array): void {
    this.inbox.push(bytes);
    this.inboxBytes += bytes.length;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => this.deliver());
  }

  private deliver(): void {
    this.scheduled = false;
    while (!this.paused && !this.closed && !this.dropping && this.inbox.length > 0) {
      const chunk = this.inbox.shift()!;
      this.inboxBytes -= chunk.length;
      this.dataHandler(chunk);
    }
    const sender = this.peer;
    if (sender.wantDrain && this.inboxBytes < this.peer.highWater / 2 && !sender.closed) {
      sender.wantDrain = false;
      sender.drainHandler();
    }
    if (sender.closingAfterFlush && this.inboxBytes === 0) sender.shutdown();
  }

  private shutdown(): void {
    // Across a blackhole the other end never hears of the close.
    for (const end of this.dropping ? [this] : [this, this.peer]) {
      if (end.closed) continue;
      end.closed = true;
      end.inbox = [];
      end.inboxBytes = 0;
      const handler = end.closeHandler;
      setImmediate(() => handler());
    }
  }
}

/** A fresh in-memory network. */
export function createMemoryNetwork(options: MemoryNetworkOptions = {}): MemoryNetwork {
  const highWater = options.highWater ?? DEFAULT_HIGH_WATER;
  const listeners = new Map<string, (c: Connection) => void>();
  const pipeHandlers: ((a: MemoryConnection, b: MemoryConnection) => void)[] = [];
  let nextName = 1;
  let nextPort = 1;

  const transport: Transport = {
    names: ['mem'],
    async listen(opts: ListenOptions, onConnection) {
      const host =
        opts.host && opts.host !== '127.0.0.1' && opts.host !== '::1'
          ? opts.host
          : `node-${nextName++}`;
      if (listeners.has(host)) {
        throw new LinkManagerError('LINK_DIAL_FAILED', `memory name ${host} is taken`);
      }
      listeners.set(host, onConnection);
      const listener: TransportListener = {
        endpoints: [{ transport: 'mem', host, port: 0 }],
        async close() {
          listeners.delete(host);
        },
      };
      return listener;
    },
    async dial(endpoint: Endpoint, opts = {}) {
      if (opts.signal?.aborted) throw new LinkManagerError('LINK_DIAL_FAILED', 'dial aborted');
      const accept = listeners.get(endpoint.host);
      if (!accept) {
        throw new LinkManagerError('LINK_DIAL_FAILED', `nothing listens at mem ${endpoint.host}`);
      }
      const port = nextPort++;
      const a = new End(`mem://${endpoint.host}`, highWater);
      const b = new End(`mem://dialler-${port}`, highWater);
      a.peer = b;
      b.peer = a;
      for (const h of pipeHandlers) h(a, b);
      setImmediate(() => accept(b));
      return a;
    },
  };
  return {
    transport: () => transport,
    onPipe(handler) {
      pipeHandlers.push(handler);
    },
  };
}
