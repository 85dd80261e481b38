/**
 * One established link: the CellLink the route layer uses. It batches
 * queued cells into encrypted frames (flushed on a microtask or when a batch
 * is full), keeps the send queue bounded (sendCell returns false when full,
 * onDrain fires when half of it is free), answers and sends keepalive pings
 * (RTT estimate, dead-peer detection), optionally sends padding, and closes
 * gracefully: each side sends what it queued, then a CLOSE record, and reads
 * until the other's CLOSE, so no cell in flight is lost.
 *
 * Anything wrong in the peer's bytes (bad tag, bad length, unknown record)
 * drops the connection at once.
 */
import { encodeAddress, randomBytes, toHex } from '@skymesh/crypto';
import { CELL_SIZE } from '@skymesh/protocol';
import {
  CELL_RECORD_LEN,
  CloseCode,
  FRAME_MAX_PLAINTEXT,
  FrameBuilder,
  FrameOpener,
  FrameSealer,
  LinkError,
  type LinkHandshakeResult,
  maxCellsPerFrame,
  PING_ID_LEN,
  parseRecords,
} from '@skymesh/protocol/link';
import { CellQueue } from '@skymesh/protocol/onion';
import type { CellLink, ChannelStatus } from '../contracts.js';
import type { Connection } from './transport.js';

/** Tunables of every link a manager makes. */
export interface LinkOptions {
  /** Cells a link queues before sendCell returns false. @default 512 */
  maxQueuedCells?: number;
  /** Most cells in one frame. @default 16 */
  cellsPerFrame?: number;
  /** A ping is sent this often (ms). @default 15000 */
  keepaliveMs?: number;
  /** A link that received nothing for this long is closed as dead (ms). @default 45000 */
  deadAfterMs?: number;
  /** How long a closing link waits for the peer's CLOSE (ms). @default 3000 */
  closeTimeoutMs?: number;
  /** Random padding added to each frame: 0..maxFramePadding bytes. @default 0 */
  maxFramePadding?: number;
  /** When > 0, a link idle for this long sends a padding-only frame (ms). @default 0 (off) */
  idlePaddingMs?: number;
  /** Largest idle padding frame plaintext (bytes). @default 512 */
  maxIdlePadding?: number;
}

export type ResolvedLinkOptions = Required<LinkOptions>;

/** Defaults filled in, and bounds checked. */
export function resolveLinkOptions(o: LinkOptions = {}): ResolvedLinkOptions {
  const r: ResolvedLinkOptions = {
    maxQueuedCells: o.maxQueuedCells ?? 512,
    cellsPerFrame: Math.min(o.cellsPerFrame ?? 16, maxCellsPerFrame(64)),
    keepaliveMs: o.keepaliveMs ?? 15_000,
    deadAfterMs: o.deadAfterMs ?? 45_000,
    closeTimeoutMs: o.closeTimeoutMs ?? 3000,
    maxFramePadding: Math.min(o.maxFramePadding ?? 0, 1024),
    idlePaddingMs: o.idlePaddingMs ?? 0,
    maxIdlePadding: Math.min(o.maxIdlePadding ?? 512, 4096),
  };
  if (r.maxQueuedCells < 1 || r.cellsPerFrame < 1)
    throw new RangeError('link queue sizes must be ≥ 1');
  return r;
}

/** Counters of one link. */
export interface LinkStats {
  cellsIn: number;
  cellsOut: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Cells waiting to be framed. */
  queued: number;
  /** Bytes accepted by the transport but not yet sent. */
  transportBuffered: number;
  /** Smoothed round-trip time of keepalive pings (ms), once one was answered. */
  rttMs: number | undefined;
}

/** Close reasons a link reports besides the ones callers pass to close(). */
export type LinkCloseReason =
  | 'closed'
  | 'peer-closed'
  | 'duplicate'
  | 'shutdown'
  | 'timeout'
  | 'transport-closed'
  | LinkError['code'];

const CODE_OF_REASON: Record<string, number> = {
  duplicate: CloseCode.DUPLICATE,
  shutdown: CloseCode.SHUTDOWN,
  timeout: CloseCode.IDLE,
};
const REASON_OF_CODE: Record<number, string> = {
  [CloseCode.DUPLICATE]: 'duplicate',
  [CloseCode.SHUTDOWN]: 'peer-closed',
};

const MAX_CONTROLS = 16;
const MAX_PENDING_PINGS = 16;

type Control = { kind: 'ping' | 'pong'; id: Uint8Array };

/** An authenticated, encrypted link over one Connection. Made by the link manager. */
export class SecureLink implements CellLink {
  readonly peerKey: Uint8Array;
  readonly peerAddress: string;
  /** True when this side dialled. */
  readonly initiator: boolean;
  /** The remote end as the transport names it (logs only). */
  readonly remote: string;
  /** Ed25519 key of the side that dialled (decides which of two duplicate links survives). */
  readonly initiatorKey: Uint8Array;

  private state: ChannelStatus = 'open';
  private readonly conn: Connection;
  private readonly opts: ResolvedLinkOptions;
  private readonly sealer: FrameSealer;
  private readonly opener: FrameOpener;
  /** Cells waiting for a frame; a bounded FIFO that also bounds the slab memory they pin. */
  private readonly queue: CellQueue;
  private controls: Control[] = [];
  private readonly pings = new Map<
    string,
    { sent: number; resolve?: (rtt: number) => void; reject?: (err: Error) => void }
  >();
  private transportBlocked = false;
  private flushScheduled = false;
  private wantDrain = false;
  /** sendCell calls refused for a full queue, and transport writes refused (debugState). */
  private refusals = 0;
  private transportRefusals = 0;
  private closeRequested = false;
  private closeSent = false;
  private peerClosed = false;
  private closeReason = 'closed';
  private timer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private lastRecv = performance.now();
  private lastSend = performance.now();
  private srtt: number | undefined;
  private readonly counters = {
    cellsIn: 0,
    cellsOut: 0,
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
  private cellHandler: (cell: Uint8Array) => void = () => {};
  private drainHandler: () => void = () => {};
  private readonly closeHandlers: ((reason: string) => void)[] = [];
  private readonly onHandlerError: (err: unknown) => void;

  constructor(
    conn: Connection,
    hs: LinkHandshakeResult,
    init: {
      initiator: boolean;
      localKey: Uint8Array;
      options: ResolvedLinkOptions;
      /** Told about exceptions thrown by the handlers set on this link. */
      onHandlerError?: (err: unknown) => void;
    },
  ) {
    this.onHandlerError = init.onHandlerError ?? (() => {});
    this.conn = conn;
    this.opts = init.options;
    this.queue = new CellQueue(this.opts.maxQueuedCells);
    this.peerKey = hs.peerKey;
    this.peerAddress = encodeAddress(hs.peerKey);
    this.initiator = init.initiator;
    this.initiatorKey = init.initiator ? init.localKey : hs.peerKey;
    this.remote = conn.remote;
    this.sealer = new FrameSealer(hs.send);
    this.opener = new FrameOpener(hs.recv);
    conn.onDrain(() => {
      this.transportBlocked = false;
      this.flush();
    });
    conn.onClose(() => this.finish(this.closeRequested ? this.closeReason : 'transport-closed'));
    const period = Math.max(
      1,
      Math.min(this.opts.keepaliveMs, this.opts.idlePaddingMs || Number.POSITIVE_INFINITY),
    );
    this.timer = setInterval(() => this.tick(), period);
    this.timer.unref();
    // Bytes that came with the end of the handshake wait a turn, so whoever
    // receives this link can set onCell first; chunks arriving meanwhile
    // queue behind them (read first, they would misalign the length mask
    // and the frame counter: the opener then waits for a garbage length).
    if (hs.rest.length > 0) {
      const early = [hs.rest];
      conn.onData((b) => early.push(b));
      setImmediate(() => {
        conn.onData((b) => this.receive(b));
        for (const b of early) this.receive(b);
      });
    } else conn.onData((b) => this.receive(b));
  }

  get status(): ChannelStatus {
    return this.state;
  }

  /** Smoothed RTT (ms) from keepalive pings, undefined before the first answer. */
  get rttMs(): number | undefined {
    return this.srtt;
  }

  sendCell(cell: Uint8Array): boolean {
    if (cell.length !== CELL_SIZE) throw new RangeError(`a cell is ${CELL_SIZE} bytes`);
    if (this.state !== 'open' || this.closeRequested) return false;
    if (this.queue.length >= this.opts.maxQueuedCells) {
      this.wantDrain = true;
      this.refusals++;
      return false;
    }
    this.queue.push(cell);
    if (this.queue.length >= this.opts.cellsPerFrame && !this.transportBlocked) this.flush();
    else this.scheduleFlush();
    return true;
  }

  onCell(handler: (cell: Uint8Array) => void): void {
    this.cellHandler = handler;
  }

  onDrain(handler: () => void): void {
    this.drainHandler = handler;
  }

  onClose(handler: (reason: string) => void): void {
    if (this.state === 'closed') queueMicrotask(() => handler(this.closeReason));
    else this.closeHandlers.push(handler);
  }

  /**
   * Sends what is queued, then CLOSE; the link is closed once the peer
   * answers with its CLOSE (or after closeTimeoutMs).
   */
  close(reason = 'closed'): void {
    if (this.state === 'closed' || this.closeRequested) return;
    this.closeRequested = true;
    this.closeReason = reason;
    this.state = 'closing';
    this.closeTimer = setTimeout(() => this.abort(this.closeReason), this.opts.closeTimeoutMs);
    this.closeTimer.unref();
    this.flush();
  }

  /** Drops the link at once, without a goodbye. */
  abort(reason: string): void {
    if (this.state === 'closed') return;
    this.closeRequested = true;
    this.closeReason = reason;
    this.conn.destroy();
    this.finish(reason);
  }

  /** Measures one round trip (ms). Rejects if the link closes first. */
  ping(): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.state !== 'open' || this.pings.size >= MAX_PENDING_PINGS) {
        reject(new Error('link not open or too many pings in flight'));
        return;
      }
      const id = this.sendPing();
      const entry = id === undefined ? undefined : this.pings.get(id);
      if (!entry) {
        reject(new Error('too many control records queued'));
        return;
      }
      entry.resolve = resolve;
      entry.reject = reject;
    });
  }

  stats(): LinkStats {
    return {
      ...this.counters,
      queued: this.queue.length,
      transportBuffered: this.conn.buffered,
      rttMs: this.srtt,
    };
  }

  /**
   * Where this link's bytes sit and why it may be waiting, for stall
   * diagnosis (bench/debug dumps). A snapshot; not for metrics.
   */
  debugState(): Record<string, unknown> {
    return {
      peer: this.peerAddress.slice(0, 12),
      state: this.state,
      queued: this.queue.length,
      queuedPinnedBytes: this.queue.pinnedBytes,
      controls: this.controls.length,
      transportBlocked: this.transportBlocked,
      transportBuffered: this.conn.buffered,
      wantDrain: this.wantDrain,
      refusals: this.refusals,
      transportRefusals: this.transportRefusals,
      flushScheduled: this.flushScheduled,
      closeRequested: this.closeRequested,
      openerHolds: this.opener.buffered,
      msSinceRecv: Math.round(performance.now() - this.lastRecv),
      msSinceSend: Math.round(performance.now() - this.lastSend),
      ...this.counters,
    };
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.state === 'closed') return;
    while (!this.transportBlocked && (this.queue.length > 0 || this.controls.length > 0)) {
      const cells = Math.min(this.queue.length, this.opts.cellsPerFrame);
      const pad = this.opts.maxFramePadding > 0 ? randomInt(this.opts.maxFramePadding + 1) : 0;
      const size = Math.min(
        FRAME_MAX_PLAINTEXT,
        this.controls.length * (1 + PING_ID_LEN) + cells * CELL_RECORD_LEN + pad,
      );
      const b = new FrameBuilder(size);
      for (const c of this.controls) {
        if (c.kind === 'ping') b.addPing(c.id);
        else b.addPong(c.id);
      }
      this.controls = [];
      for (let i = 0; i < cells; i++) b.addCell(this.queue.shift()!);
      this.counters.cellsOut += cells;
      b.addPadding(b.room);
      this.writeFrame(b);
    }
    if (
      this.closeRequested &&
      !this.closeSent &&
      this.queue.length === 0 &&
      !this.transportBlocked
    ) {
      this.closeSent = true;
      this.writeFrame(
        new FrameBuilder(2).addClose(CODE_OF_REASON[this.closeReason] ?? CloseCode.NORMAL),
      );
      if (this.peerClosed) this.conn.close();
    }
    if (
      this.wantDrain &&
      this.queue.length <= this.opts.maxQueuedCells / 2 &&
      this.state === 'open'
    ) {
      this.wantDrain = false;
      this.safely(this.drainHandler);
    }
  }

  private writeFrame(built: FrameBuilder): void {
    const frame = built.sealWith(this.sealer);
    this.counters.framesOut++;
    this.counters.bytesOut += frame.length;
    this.lastSend = performance.now();
    if (!this.conn.write(frame)) {
      this.transportBlocked = true;
      this.transportRefusals++;
    }
  }

  /** Queues a PING; returns its key, or undefined when the control queue is full. */
  private sendPing(): string | undefined {
    if (this.controls.length >= MAX_CONTROLS) return undefined;
    const id = randomBytes(PING_ID_LEN);
    const key = toHex(id);
    if (this.pings.size >= MAX_PENDING_PINGS) {
      // Unanswered keepalive pings are forgotten oldest first.
      for (const [k, v] of this.pings) {
        if (!v.resolve) {
          this.pings.delete(k);
          break;
        }
      }
    }
    this.pings.set(key, { sent: performance.now() });
    this.pushControl({ kind: 'ping', id });
    return key;
  }

  private pushControl(c: Control): void {
    if (this.controls.length >= MAX_CONTROLS) return;
    this.controls.push(c);
    this.scheduleFlush();
  }

  private receive(bytes: Uint8Array): void {
    if (this.state === 'closed') return;
    this.lastRecv = performance.now();
    this.counters.bytesIn += bytes.length;
    try {
      for (const plaintext of this.opener.push(bytes)) {
        this.counters.framesIn++;
        for (const r of parseRecords(plaintext)) {
          // A handler may have closed the link: stop delivering then.
          if ((this.state as ChannelStatus) === 'closed') return;
          switch (r.type) {
            case 'cell':
              this.counters.cellsIn++;
              this.safely(() => this.cellHandler(r.cell));
              break;
            case 'ping':
              this.pushControl({ kind: 'pong', id: r.id.slice() });
              break;
            case 'pong':
              this.onPong(r.id);
              break;
            case 'close':
              this.onPeerClose(r.code);
              break;
          }
        }
      }
    } catch (err) {
      if (err instanceof LinkError) this.abort(err.code);
      else throw err;
    }
  }

  private onPong(id: Uint8Array): void {
    const key = toHex(id);
    const p = this.pings.get(key);
    if (!p) return;
    this.pings.delete(key);
    const rtt = performance.now() - p.sent;
    this.srtt = this.srtt === undefined ? rtt : this.srtt + (rtt - this.srtt) / 8;
    p.resolve?.(rtt);
  }

  private onPeerClose(code: number): void {
    this.peerClosed = true;
    if (this.closeSent) {
      this.conn.close();
      return;
    }
    if (!this.closeRequested) {
      this.closeRequested = true;
      this.closeReason = REASON_OF_CODE[code] ?? 'peer-closed';
      this.state = 'closing';
      this.closeTimer = setTimeout(() => this.abort(this.closeReason), this.opts.closeTimeoutMs);
      this.closeTimer.unref();
    }
    this.flush();
  }

  private tick(): void {
    const now = performance.now();
    if (now - this.lastRecv > this.opts.deadAfterMs) {
      this.abort('timeout');
      return;
    }
    if (this.state !== 'open') return;
    if (this.opts.idlePaddingMs > 0 && now - this.lastSend >= this.opts.idlePaddingMs) {
      if (!this.transportBlocked) {
        const n = 1 + randomInt(this.opts.maxIdlePadding);
        this.writeFrame(new FrameBuilder(n).addPadding(n));
      }
    }
    if (now - this.lastPing >= this.opts.keepaliveMs) {
      this.lastPing = now;
      this.sendPing();
    }
  }

  private lastPing = performance.now();

  private finish(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    clearInterval(this.timer);
    clearTimeout(this.closeTimer);
    this.queue.clear();
    this.controls = [];
    for (const p of this.pings.values()) p.reject?.(new Error('link closed'));
    this.pings.clear();
    const handlers = this.closeHandlers.splice(0);
    for (const h of handlers) this.safely(() => h(reason));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // A handler's bug must not corrupt the link's state or stop the node.
      this.onHandlerError(err);
    }
  }
}

const pool: { bytes: Uint8Array; pos: number } = { bytes: new Uint8Array(0), pos: 0 };

/** A uniform integer in [0, n) from the CSPRNG, drawn from a small pool. n ≤ 65536. */
export function randomInt(n: number): number {
  if (n <= 1) return 0;
  if (pool.pos + 2 > pool.bytes.length) {
    pool.bytes = randomBytes(1024);
    pool.pos = 0;
  }
  const v = (pool.bytes[pool.pos]! << 8) | pool.bytes[pool.pos + 1]!;
  pool.pos += 2;
  return v % n;
}
