/**
 * An in-memory RouteChannel pair: two connected ends with a bounded queue
 * each way, for tests and benchmarks of the session layer without onion
 * routing below it. Delivery is asynchronous (setImmediate batches) and in
 * order; `send()` returns false once `queueLimit` payloads wait, and the
 * sender's drain handler runs when the queue empties. `kill()` is a route
 * dying: both ends close at once and queued payloads are lost.
 */
import type { ChannelStatus, RouteChannel } from '../contracts.js';

/** Options of createMemoryRoutePair. */
export interface MemoryRouteOptions {
  /** Largest payload per send(). @default 1900 */
  payloadSize?: number;
  /** Payloads that may wait in each direction before send() returns false. @default 64 */
  queueLimit?: number;
}

/** Both ends of an in-memory route, and a way to kill it. */
export interface MemoryRoutePair {
  /** The source's end. */
  readonly a: RouteChannel;
  /** The destination's end. */
  readonly b: RouteChannel;
  /** Closes both ends abruptly (reason 'killed'); undelivered payloads are dropped. */
  kill(): void;
  /** Payloads delivered so far, each direction (a→b, b→a). */
  readonly delivered: { ab: number; ba: number };
}

class MemoryEnd implements RouteChannel {
  readonly payloadSize: number;
  status: ChannelStatus = 'open';
  peer!: MemoryEnd;
  private readonly queueLimit: number;
  private readonly queue: Uint8Array[] = [];
  private scheduled = false;
  private wantsDrain = false;
  private payloadHandler: (p: Uint8Array) => void = () => {};
  private drainHandler: () => void = () => {};
  private closeHandler: (reason: string) => void = () => {};
  private closeAfterFlush: string | null = null;

  constructor(
    payloadSize: number,
    queueLimit: number,
    private readonly count: (n: number) => void,
  ) {
    this.payloadSize = payloadSize;
    this.queueLimit = queueLimit;
  }

  send(payload: Uint8Array): boolean {
    if (this.status !== 'open') return false;
    if (payload.length > this.payloadSize) {
      throw new RangeError(`payload of ${payload.length} bytes exceeds ${this.payloadSize}`);
    }
    if (this.queue.length >= this.queueLimit) {
      this.wantsDrain = true;
      return false;
    }
    this.queue.push(payload.slice());
    this.schedule();
    return true;
  }

  onPayload(handler: (payload: Uint8Array) => void): void {
    this.payloadHandler = handler;
  }

  onDrain(handler: () => void): void {
    this.drainHandler = handler;
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandler = handler;
  }

  /** Graceful: queued payloads are still delivered, then both ends close. */
  close(reason = 'closed'): void {
    if (this.status !== 'open') return;
    this.status = 'closing';
    this.closeAfterFlush = reason;
    this.schedule();
  }

  /** Ends this side now, dropping its queue. */
  terminate(reason: string): void {
    if (this.status === 'closed') return;
    this.status = 'closed';
    this.queue.length = 0;
    this.closeHandler(reason);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.deliver());
  }

  private deliver(): void {
    this.scheduled = false;
    if (this.status === 'closed') return;
    const batch = this.queue.splice(0, this.queue.length);
    this.count(batch.length);
    for (const p of batch) {
      if (this.peer.status === 'closed') break;
      this.peer.payloadHandler(p);
    }
    if (this.closeAfterFlush !== null) {
      const reason = this.closeAfterFlush;
      this.terminate(reason);
      this.peer.terminate(reason);
      return;
    }
    if (this.wantsDrain && this.status === 'open') {
      this.wantsDrain = false;
      this.drainHandler();
    }
  }
}

/** Makes a connected pair of in-memory RouteChannels. */
export function createMemoryRoutePair(options: MemoryRouteOptions = {}): MemoryRoutePair {
  const payloadSize = options.payloadSize ?? 1900;
  const queueLimit = options.queueLimit ?? 64;
  const delivered = { ab: 0, ba: 0 };
  const a = new MemoryEnd(payloadSize, queueLimit, (n) => {
    delivered.ab += n;
  });
  const b = new MemoryEnd(payloadSize, queueLimit, (n) => {
    delivered.ba += n;
  });
  a.peer = b;
  b.peer = a;
  return {
    a,
    b,
    delivered,
    kill() {
      a.terminate('killed');
      b.terminate('killed');
    },
  };
}
