/**
 * One multiplexed stream of a session, as a Node Duplex, so apps can pipe
 * sockets through it. The stream holds at most one written chunk at a time
 * (Node's Writable buffers the rest up to writableHighWaterMark, and
 * write() returns false beyond it) and never more received bytes than the
 * window it granted; the session engine (engine.ts) moves bytes between
 * streams and records and does the flow-control accounting.
 */
import { Duplex } from 'node:stream';
import { SessionError, type StreamTarget, WireCode } from '@skymesh/protocol/stream';

/** What a stream needs from the session that carries it. */
export interface StreamHost {
  /** The stream has something to send (data, FIN, RST, window update). */
  markDirty(stream: SessionStream): void;
  /** Received bytes left the stream's queue (read, or dropped): session credit can go back. */
  consumed(bytes: number): void;
  /** The app destroyed the stream before both sides finished: reset it. */
  resetStream(stream: SessionStream, code: number): void;
  /** The session's flow-control state, for stall diagnosis. */
  debugState?(): Record<string, unknown>;
}

/** Options shared by every stream of a session. */
export interface StreamLimits {
  /** Bytes this end lets the peer send before a window update. */
  readonly recvWindow: number;
  /** Bytes the peer lets this end send before a window update. */
  readonly sendWindow: number;
  /** Node highWaterMark of both sides of the Duplex. */
  readonly highWaterMark: number;
}

/**
 * A bidirectional stream inside a session. Half-close with `end()` (sends
 * FIN; the peer's FIN ends the readable side); `destroy()` resets it (RST
 * CANCEL, or INTERNAL with an error); `reset(code)` with a chosen code.
 * A peer reset destroys it with SessionError STREAM_RESET or STREAM_REFUSED
 * (`details.resetCode` holds the wire code), a failed session with the
 * session's code. Listen for 'error'.
 */
export class SessionStream extends Duplex {
  /** Stream id in the session (the source numbers them 1, 2, 3, …). */
  readonly id: number;
  /** What the stream connects to at the destination. */
  readonly target: StreamTarget;

  // --- outgoing (engine reads these) ---
  /** OPEN not yet framed (source side only). */
  needOpen: boolean;
  /** The chunk being framed and how far. */
  chunk: Uint8Array | null = null;
  chunkOffset = 0;
  /** Bytes the peer still accepts on this stream. */
  sendCredit: number;
  /** end() was called: FIN goes out once the chunk is framed. */
  finPending = false;
  finSent = false;
  /** Window update owed to the peer. */
  windowOwed = 0;

  // --- incoming ---
  /** Bytes the peer may still send before our next window update. */
  recvCredit: number;
  finReceived = false;
  /** Removed from the session (both FINs, or a reset). */
  detached = false;

  private readonly host: StreamHost;
  private readonly recvWindow: number;
  private inbound: Uint8Array[] = [];
  private inboundHead = 0;
  private consumed = 0;
  private wantsData = false;
  private eofPushed = false;
  private writeCb: ((err?: Error | null) => void) | null = null;
  private finalCb: ((err?: Error | null) => void) | null = null;

  constructor(
    host: StreamHost,
    id: number,
    target: StreamTarget,
    limits: StreamLimits,
    opener: boolean,
  ) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: limits.highWaterMark,
      writableHighWaterMark: limits.highWaterMark,
    });
    this.host = host;
    this.id = id;
    this.target = target;
    this.needOpen = opener;
    this.sendCredit = limits.sendWindow;
    this.recvCredit = limits.recvWindow;
    this.recvWindow = limits.recvWindow;
  }

  /** True when the engine has a frame to build for this stream. */
  get hasWork(): boolean {
    return (
      this.needOpen ||
      this.windowOwed > 0 ||
      (this.chunk !== null && this.sendCredit > 0) ||
      (this.finPending && !this.finSent && this.chunk === null)
    );
  }

  /** Flow-control state, for stall diagnosis (SessionEngine.debugState). */
  debugState(): Record<string, unknown> {
    let inbound = 0;
    for (let i = this.inboundHead; i < this.inbound.length; i++) inbound += this.inbound[i]!.length;
    return {
      id: this.id,
      sendCredit: this.sendCredit,
      recvCredit: this.recvCredit,
      chunkLeft: this.chunk === null ? null : this.chunk.length - this.chunkOffset,
      windowOwed: this.windowOwed,
      consumed: this.consumed,
      inbound,
      wantsData: this.wantsData,
      readableLength: this.readableLength,
      writableLength: this.writableLength,
      needOpen: this.needOpen,
      finPending: this.finPending,
    };
  }

  /** The carrying session's state (sequence numbers, credits, every stream), for stall diagnosis. */
  debugSession(): Record<string, unknown> | undefined {
    return this.host.debugState?.();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (chunk.length === 0) {
      cb();
      return;
    }
    this.chunk = chunk;
    this.chunkOffset = 0;
    this.writeCb = cb;
    this.host.markDirty(this);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.finPending = true;
    this.finalCb = cb;
    this.host.markDirty(this);
  }

  override _read(): void {
    this.wantsData = true;
    this.pump();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.detached) this.host.resetStream(this, err ? WireCode.INTERNAL : WireCode.CANCEL);
    this.chunk = null;
    this.writeCb = null;
    this.finalCb = null;
    // Bytes nobody will read still hold session credit: give it back.
    let unread = 0;
    for (let i = this.inboundHead; i < this.inbound.length; i++) unread += this.inbound[i]!.length;
    this.inbound = [];
    this.inboundHead = 0;
    if (unread > 0) this.host.consumed(unread);
    cb(err);
  }

  /**
   * Resets the stream with a wire `code` (WireCode: e.g. REFUSED,
   * CONNECTION_REFUSED, HOST_UNREACHABLE — what an exit or a service tells
   * the source) and destroys it here without an error. The peer's stream is
   * destroyed with STREAM_RESET (or STREAM_REFUSED for REFUSED) and
   * `details.resetCode = code`. A stream already finished sends nothing.
   * @throws RangeError for a code outside 0..65535.
   */
  reset(code: number): void {
    if (!Number.isInteger(code) || code < 0 || code > 0xffff) {
      throw new RangeError('reset code must be an integer in 0..65535');
    }
    if (!this.detached) this.host.resetStream(this, code);
    this.destroy();
  }

  /**
   * Takes up to `max` bytes of the current chunk for a DATA frame (the
   * engine has checked credit). When that finishes the chunk, its write
   * callback goes into `done`, for the engine to call once its record is out.
   */
  takeData(max: number, done: ((err?: Error | null) => void)[]): Uint8Array {
    const chunk = this.chunk!;
    const n = Math.min(max, chunk.length - this.chunkOffset);
    const data = chunk.subarray(this.chunkOffset, this.chunkOffset + n);
    this.chunkOffset += n;
    this.sendCredit -= n;
    if (this.chunkOffset < chunk.length) return data;
    const cb = this.writeCb;
    this.chunk = null;
    this.writeCb = null;
    if (cb !== null) done.push(cb);
    return data;
  }

  /** Marks the FIN framed; returns end()'s callback for the engine to call. */
  takeFin(): ((err?: Error | null) => void) | null {
    this.finSent = true;
    const cb = this.finalCb;
    this.finalCb = null;
    return cb;
  }

  /** Data arrived (the engine checked the window). */
  receive(data: Uint8Array): void {
    this.recvCredit -= data.length;
    this.inbound.push(data);
    this.pump();
  }

  /** The peer's FIN arrived. */
  receiveFin(): void {
    this.finReceived = true;
    this.pump();
  }

  /** Ends the stream with `err` (a reset, or the session's failure); no RST is sent. */
  fail(err: Error | null): void {
    this.detached = true;
    if (err) this.destroy(err);
    else this.destroy();
  }

  /** The peer reset the stream. */
  receiveReset(code: number): void {
    this.fail(
      new SessionError(
        code === WireCode.REFUSED ? 'STREAM_REFUSED' : 'STREAM_RESET',
        code === WireCode.REFUSED
          ? 'the destination refused the stream'
          : 'the peer reset the stream',
        { streamId: this.id, resetCode: code },
      ),
    );
  }

  // Moves queued bytes into Node's buffer while the reader wants them; bytes
  // that leave our queue are consumed, so their credit goes back to the peer.
  private pump(): void {
    if (this.destroyed) return;
    while (this.wantsData && this.inboundHead < this.inbound.length) {
      const data = this.inbound[this.inboundHead]!;
      this.inbound[this.inboundHead++] = EMPTY;
      this.consumed += data.length;
      this.host.consumed(data.length);
      this.wantsData = this.push(data);
    }
    if (this.inboundHead === this.inbound.length && this.inboundHead > 0) {
      this.inbound = [];
      this.inboundHead = 0;
    }
    if (this.finReceived) {
      if (this.inbound.length === 0 && !this.eofPushed) {
        this.eofPushed = true;
        this.push(null);
      }
      return;
    }
    // Grant credit back in batches of half a window, not per chunk.
    if (this.consumed > 0 && this.consumed >= this.recvWindow / 2) {
      this.recvCredit += this.consumed;
      this.windowOwed += this.consumed;
      this.consumed = 0;
      this.host.markDirty(this);
    }
  }
}

const EMPTY = new Uint8Array(0);
