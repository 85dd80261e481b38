/**
 * The session engine: what source and destination share once a handshake
 * has given them keys. It multiplexes streams into sealed records over the
 * route currently attached, numbers the records that carry frames, keeps
 * them until the peer acks them (a bounded retransmit buffer) and, when a
 * new route is attached after failover, re-seals and resends whatever the
 * peer has not acknowledged, under the new epoch's keys. Flow control is per
 * stream (credit windows); the retransmit buffer bounds the whole session.
 * client.ts and server.ts run the handshakes and decide when to attach.
 */

import { SkymeshError } from '@skymesh/crypto';
import {
  DATA_FRAME_OVERHEAD,
  decodeFrames,
  decodeRecordPlaintext,
  decodeRouteMessage,
  type EpochCiphers,
  encodeFrameInto,
  epochCiphers,
  type Frame,
  frameLength,
  RECORD_HEADER_LEN,
  RECORD_OVERHEAD,
  type RouteMessage,
  SESSION_STREAM_ID,
  SessionError,
  type SessionErrorCode,
  type SessionKeys,
  type SessionParams,
  type SessionRole,
  type StreamTarget,
  sealRecordMessage,
  setRecordHeader,
  WireCode,
  wipeSessionKeys,
} from '@skymesh/protocol/stream';
import type { RouteChannel } from '../contracts.js';
import { SessionStream, type StreamHost } from './stream.js';

/** Counters for metrics; a snapshot, safe to serialise. */
export interface SessionStats {
  /** Current epoch (0 for the first route, +1 per resume attempt that succeeded or not). */
  epoch: number;
  /** Routes attached after the first (successful resumes). */
  resumes: number;
  streamsOpen: number;
  streamsTotal: number;
  /** Stream payload bytes framed for sending (not counting retransmission). */
  bytesSent: number;
  bytesReceived: number;
  recordsSent: number;
  recordsReceived: number;
  /** Records sent again on a new route. */
  retransmitted: number;
  /** Records the peer has not acknowledged yet, and their frame bytes. */
  unackedRecords: number;
  unackedBytes: number;
}

/** What the engine is told at creation. */
export interface EngineOptions {
  readonly role: SessionRole;
  /** This end's receive window per stream (bytes). */
  readonly initialWindow: number;
  /** This end's receive window for all streams together (bytes). */
  readonly sessionWindow: number;
  /** Streams this end accepts from the peer at once (destination) or opens (source). */
  readonly maxStreams: number;
  /** Cap on unacknowledged frame bytes (the retransmit buffer). */
  readonly maxUnackedBytes: number;
  /** Node highWaterMark of each stream. */
  readonly highWaterMark: number;
  /** Delay before a bare ack; 0 acks on the next turn of the event loop. */
  readonly ackDelayMs: number;
  /** Destination: a new stream arrived. Throwing resets it. */
  readonly onStream?: ((stream: SessionStream, target: StreamTarget) => void) | undefined;
  /** The attached route closed under us (not after end()). */
  readonly onDetach: (reason: string) => void;
  /** The session is over: null for a clean close, else why. Called once. */
  readonly onEnd: (err: SessionError | null) => void;
}

type EngineState = 'new' | 'attached' | 'detached' | 'ended';

const BLANK_HEADER = new Uint8Array(RECORD_HEADER_LEN);
// Spare record buffers kept per session (~60 KiB at 1.9 KB each): enough for
// the records one bare ack (ACK_EVERY_RECORDS) frees.
const RECORD_POOL = 32;
const MAX_CREDIT = 0xffffffff;
const MAX_STREAM_ID = 0xffffffff;
// Sequenced records received that make a bare ack go out without waiting
// for ackDelayMs.
const ACK_EVERY_RECORDS = 32;
// Records kept for retransmission at most, whatever their size (tiny
// control-only records would otherwise be bounded by bytes alone).
const MAX_UNACKED_RECORDS = 4096;
// Smallest DATA frame worth cutting when a record is nearly full.
const MIN_DATA_SPLIT = 64;

function asSessionError(err: unknown): SessionError {
  if (err instanceof SessionError) return err;
  const cause = err instanceof SkymeshError ? err.code : String(err);
  return new SessionError('SESSION_BAD_MESSAGE', 'peer sent an undecodable message', { cause });
}

function violation(code: SessionErrorCode, message: string, details?: Record<string, unknown>) {
  return new SessionError(code, message, details);
}

/** One session's multiplexer and reliability layer. See the module comment. */
export class SessionEngine implements StreamHost {
  private readonly opts: EngineOptions;
  private state: EngineState = 'new';
  private keys: SessionKeys | null = null;
  private peer: SessionParams | null = null;
  private channel: RouteChannel | null = null;
  private ciphers: EpochCiphers | null = null;
  /** Largest record body (frames) in bytes, fixed by the first route. */
  maxRecordBody = 0;
  epoch = 0;

  // Reliability: records 1..sendSeq sent; peerAck of them acknowledged; the
  // plaintexts of peerAck+1..sendSeq kept in `retx` (header re-stamped with
  // the current ack at each send); nextResend is the next one to (re)send on
  // the current route.
  private sendSeq = 0;
  private peerAck = 0;
  private nextResend = 1;
  /** Unacked records from index retxHead on (acked ones are cut off in batches). */
  private retx: (Uint8Array | undefined)[] = [];
  private retxHead = 0;
  private retxBytes = 0;
  /** Highest record received in order. */
  recvSeq = 0;
  private ackDue = false;
  private ackTimer: NodeJS.Immediate | NodeJS.Timeout | null = null;
  private ackTimerUrgent = false;
  /** Sequenced records received since we last sent an ack. */
  private unackedIn = 0;
  /** Checks the answer to our RESUME, expected as the route's first payload. */
  private pendingReply: ((msg: RouteMessage) => number) | null = null;
  /** A sealed payload the route refused (queue full): sent first on drain. */
  private outbox: Uint8Array | null = null;
  /**
   * Where records are sealed before send(): every RouteChannel copies the
   * payload into its cell (or its queue) before send() returns, so one
   * buffer serves every record; only a refused payload is copied out.
   */
  private sealScratch: Uint8Array | null = null;

  // Session-level flow control: credit for all streams together.
  private sendSessionCredit = 0;
  private recvSessionCredit: number;
  private sessionConsumed = 0;
  private sessionWindowOwed = 0;

  private readonly streams = new Map<number, SessionStream>();
  private readonly dirty = new Set<SessionStream>();
  private pendingResets: { id: number; code: number }[] = [];
  private highestStreamId = 0;
  private closePending: number | null = null;
  private closeSeq = 0;
  private closeWaiter: (() => void) | null = null;
  private closing: Promise<void> | null = null;

  private flushing = false;
  private flushAgain = false;
  private flushScheduled = false;
  /** Write callbacks of the records being built (reused by every flush; flushes never nest). */
  private readonly doneCallbacks: ((err?: Error | null) => void)[] = [];
  /**
   * Full-size record buffers of acknowledged records, reused for new ones
   * (nothing refers to a record once the peer acked it): the bulk path
   * allocates no array per record. At most RECORD_POOL of them.
   */
  private readonly recordPool: ArrayBuffer[] = [];
  /** The record being packed by buildBody, and where its next frame goes. */
  private body: Uint8Array = BLANK_HEADER;
  private bodyPos = 0;
  /** The dirty streams of one packing pass (reused). */
  private readonly passStreams: SessionStream[] = [];
  // Made once: scheduling them is per record on the bulk path.
  private readonly flushTask = (): void => {
    this.flushScheduled = false;
    this.flush();
  };
  private readonly ackTask = (): void => {
    this.ackTimer = null;
    if (this.ackDue) this.flush();
  };

  private readonly counters: Omit<
    SessionStats,
    'epoch' | 'streamsOpen' | 'unackedRecords' | 'unackedBytes'
  > = {
    resumes: 0,
    streamsTotal: 0,
    bytesSent: 0,
    bytesReceived: 0,
    recordsSent: 0,
    recordsReceived: 0,
    retransmitted: 0,
  };

  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.recvSessionCredit = opts.sessionWindow;
  }

  /** True once end() ran. */
  get ended(): boolean {
    return this.state === 'ended';
  }

  /** True while a route is attached. */
  get attached(): boolean {
    return this.state === 'attached';
  }

  /** The keys of the session (after establish). */
  get sessionKeys(): SessionKeys | null {
    return this.keys;
  }

  /** Highest record sequence number sent so far. */
  get lastSent(): number {
    return this.sendSeq;
  }

  stats(): SessionStats {
    return {
      ...this.counters,
      epoch: this.epoch,
      streamsOpen: this.streams.size,
      unackedRecords: this.retx.length - this.retxHead,
      unackedBytes: this.retxBytes,
    };
  }

  /**
   * Sequence numbers, credits, the outbox and every stream's flow-control
   * state, for stall diagnosis (bench/debug dumps). A snapshot; not for metrics.
   */
  debugState(): Record<string, unknown> {
    return {
      state: this.state,
      epoch: this.epoch,
      sendSeq: this.sendSeq,
      peerAck: this.peerAck,
      nextResend: this.nextResend,
      recvSeq: this.recvSeq,
      retx: this.retx.length - this.retxHead,
      retxBytes: this.retxBytes,
      outbox: this.outbox !== null,
      ackDue: this.ackDue,
      ackTimer: this.ackTimer !== null,
      unackedIn: this.unackedIn,
      flushing: this.flushing,
      flushScheduled: this.flushScheduled,
      sendSessionCredit: this.sendSessionCredit,
      recvSessionCredit: this.recvSessionCredit,
      sessionConsumed: this.sessionConsumed,
      sessionWindowOwed: this.sessionWindowOwed,
      dirty: this.dirty.size,
      channel: this.channel?.status ?? null,
      streams: [...this.streams.values()].map((s) => s.debugState()),
    };
  }

  /** Gives the engine the handshake's result. Streams opened earlier get the peer's window now. */
  establish(keys: SessionKeys, peer: SessionParams): void {
    if (this.state === 'ended') {
      wipeSessionKeys(keys);
      return;
    }
    this.keys = keys;
    this.peer = peer;
    this.sendSessionCredit = peer.sessionWindow;
    for (const s of this.streams.values()) {
      s.sendCredit = Math.min(MAX_CREDIT, s.sendCredit + peer.initialWindow);
      if (s.hasWork) this.markDirty(s);
    }
  }

  /**
   * Starts (or resumes) sending on `channel` with `epoch`'s keys. `ack` is
   * the peer's last in-order record (from RESUME / RESUME_OK; 0 at first):
   * everything after it is sent again. A previously attached route is closed.
   *
   * With `reply`, the first payload on the route is not a record but the
   * answer to our RESUME: `reply` checks it and returns the peer's ack (or
   * throws a SessionError, which ends the session). The source uses this to
   * resend at once instead of waiting a round trip for RESUME_OK.
   * @throws SessionError SESSION_BAD_ACK when `ack` is beyond what was sent.
   */
  attach(
    channel: RouteChannel,
    epoch: number,
    ack: number,
    reply: ((msg: RouteMessage) => number) | null = null,
  ): void {
    if (this.state === 'ended' || this.keys === null) return;
    const old = this.channel;
    if (old !== null && old !== channel) {
      this.dropChannel();
      old.close('superseded');
    }
    this.applyAck(ack);
    if (this.state !== 'new') this.counters.resumes++;
    if (this.maxRecordBody === 0) {
      this.maxRecordBody = channel.payloadSize - RECORD_OVERHEAD;
      this.sealScratch = new Uint8Array(channel.payloadSize);
    }
    this.epoch = epoch;
    this.ciphers = epochCiphers(this.keys, epoch, this.opts.role);
    this.channel = channel;
    this.state = 'attached';
    this.outbox = null;
    this.nextResend = this.peerAck + 1;
    this.pendingReply = reply;
    // RESUME / RESUME_OK carried our ack already.
    this.ackDue = false;
    channel.onPayload((p) => {
      if (this.channel === channel) this.receive(p);
    });
    channel.onDrain(() => {
      if (this.channel === channel) this.flush();
    });
    channel.onClose((reason) => {
      if (this.channel !== channel) return;
      this.dropChannel();
      this.state = 'detached';
      this.opts.onDetach(reason);
    });
    this.flush();
  }

  /** Opens a stream (source side). @throws SessionError SESSION_TOO_MANY_STREAMS */
  openStream(target: StreamTarget): SessionStream {
    const limit = Math.min(this.opts.maxStreams, this.peer?.maxStreams ?? this.opts.maxStreams);
    if (this.state === 'ended') {
      throw new SessionError('SESSION_CLOSED', 'the session is closed');
    }
    if (this.streams.size >= limit || this.highestStreamId >= MAX_STREAM_ID) {
      throw new SessionError('SESSION_TOO_MANY_STREAMS', 'the session has its maximum of streams', {
        limit,
      });
    }
    const id = ++this.highestStreamId;
    const stream = this.newStream(id, target, true);
    this.markDirty(stream);
    return stream;
  }

  /**
   * Ends the session cleanly: open streams are destroyed without error, a
   * CLOSE frame tells the peer, and the route closes once the peer acked it
   * (or after `timeoutMs`).
   */
  close(timeoutMs: number): Promise<void> {
    if (this.state === 'ended') return Promise.resolve();
    if (this.closing !== null) return this.closing;
    for (const s of [...this.streams.values()]) this.forget(s).fail(null);
    this.pendingResets = [];
    if (this.state !== 'attached') {
      this.end(null);
      return Promise.resolve();
    }
    this.closePending = WireCode.NONE;
    this.closing = new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish(), timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.closeWaiter = null;
        this.end(null);
        resolve();
      };
      this.closeWaiter = finish;
      this.flush();
    });
    return this.closing;
  }

  /**
   * Ends the session now: the route closes, streams still open are destroyed
   * with `err` (none for a clean end), keys are wiped. Idempotent.
   */
  end(err: SessionError | null): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    const ch = this.channel;
    this.dropChannel();
    if (ch !== null) ch.close(err?.code ?? 'closed');
    this.cancelAck();
    for (const s of [...this.streams.values()]) this.forget(s).fail(err);
    this.dirty.clear();
    this.retx = [];
    this.retxHead = 0;
    this.retxBytes = 0;
    this.recordPool.length = 0;
    if (this.keys !== null) wipeSessionKeys(this.keys);
    this.closeWaiter?.();
    this.opts.onEnd(err);
  }

  // --- StreamHost ---

  markDirty(stream: SessionStream): void {
    if (stream.detached) return;
    this.dirty.add(stream);
    this.scheduleFlush();
  }

  consumed(bytes: number): void {
    this.sessionConsumed += bytes;
    // Credit goes back in batches of half the window, as for streams.
    if (this.sessionConsumed >= this.opts.sessionWindow / 2) {
      this.recvSessionCredit += this.sessionConsumed;
      this.sessionWindowOwed += this.sessionConsumed;
      this.sessionConsumed = 0;
      this.scheduleFlush();
    }
  }

  resetStream(stream: SessionStream, code: number): void {
    if (stream.detached) return;
    this.forget(stream);
    // A stream whose OPEN never left needs no RST: the peer never saw it.
    if (!stream.needOpen) {
      this.pendingResets.push({ id: stream.id, code });
      this.scheduleFlush();
    }
  }

  // --- receiving ---

  private receive(payload: Uint8Array): void {
    try {
      const msg = decodeRouteMessage(payload);
      const reply = this.pendingReply;
      if (reply !== null) {
        this.pendingReply = null;
        // Records up to the peer's ack need not be resent (those already
        // resent are dropped there as duplicates).
        this.applyAck(reply(msg));
        return;
      }
      if (msg.type !== 'record') {
        throw violation('SESSION_BAD_MESSAGE', `unexpected ${msg.type} on an open session`);
      }
      // Payloads are ours (fresh per cell), so the record opens in place.
      const rec = decodeRecordPlaintext(this.ciphers!.recv.openInPlace(msg.sealed));
      this.counters.recordsReceived++;
      this.applyAck(rec.ack);
      if (this.state === 'ended' || rec.seq === 0 || rec.seq <= this.recvSeq) return;
      if (rec.seq !== this.recvSeq + 1) {
        throw violation('SESSION_SEQUENCE_GAP', 'record sequence skipped ahead', {
          expected: this.recvSeq + 1,
          got: rec.seq,
        });
      }
      const frames = decodeFrames(rec.body);
      this.recvSeq = rec.seq;
      for (const f of frames) {
        this.handleFrame(f);
        if (this.ended) return;
      }
      this.ackDue = true;
      this.scheduleAck();
    } catch (err) {
      this.end(asSessionError(err));
    }
  }

  /** The stream a frame names, or null for one already finished (frames in flight). */
  private streamFor(id: number): SessionStream | null {
    const s = this.streams.get(id);
    if (s !== undefined) return s;
    if (id <= this.highestStreamId) return null;
    throw violation('SESSION_UNKNOWN_STREAM', 'frame for a stream never opened', { streamId: id });
  }

  private handleFrame(f: Frame): void {
    switch (f.type) {
      case 'data': {
        if (f.data.length > this.recvSessionCredit) {
          throw violation('SESSION_WINDOW_VIOLATION', 'peer exceeded the session window', {
            window: this.recvSessionCredit,
            got: f.data.length,
          });
        }
        this.recvSessionCredit -= f.data.length;
        const s = this.streamFor(f.streamId);
        if (s === null) {
          // In flight to a stream already gone: nobody will read it, so its
          // session credit goes straight back.
          this.consumed(f.data.length);
          return;
        }
        if (s.finReceived) {
          throw violation('SESSION_UNKNOWN_STREAM', 'data after FIN', { streamId: f.streamId });
        }
        if (f.data.length > s.recvCredit) {
          throw violation('SESSION_WINDOW_VIOLATION', 'peer exceeded the stream window', {
            streamId: f.streamId,
            window: s.recvCredit,
            got: f.data.length,
          });
        }
        this.counters.bytesReceived += f.data.length;
        runApp(() => s.receive(f.data));
        return;
      }
      case 'open':
        this.acceptOpen(f.streamId, f.target);
        return;
      case 'fin': {
        const s = this.streamFor(f.streamId);
        if (s === null) return;
        if (s.finReceived) {
          throw violation('SESSION_UNKNOWN_STREAM', 'second FIN', { streamId: f.streamId });
        }
        if (s.finSent) this.forget(s);
        runApp(() => s.receiveFin());
        return;
      }
      case 'rst': {
        const s = this.streamFor(f.streamId);
        if (s === null) return;
        this.forget(s).receiveReset(f.code);
        return;
      }
      case 'window': {
        if (f.streamId === SESSION_STREAM_ID) {
          if (this.sendSessionCredit + f.delta > MAX_CREDIT) {
            throw violation('SESSION_WINDOW_OVERFLOW', 'session window beyond 2^32-1');
          }
          this.sendSessionCredit += f.delta;
          this.scheduleFlush();
          return;
        }
        const s = this.streamFor(f.streamId);
        if (s === null) return;
        if (s.sendCredit + f.delta > MAX_CREDIT) {
          throw violation('SESSION_WINDOW_OVERFLOW', 'window update beyond 2^32-1', {
            streamId: f.streamId,
          });
        }
        s.sendCredit += f.delta;
        if (s.hasWork) this.markDirty(s);
        return;
      }
      case 'close': {
        const err =
          f.code === WireCode.NONE
            ? new SessionError('SESSION_CLOSED', 'the peer closed the session')
            : new SessionError('SESSION_CLOSED', 'the peer closed the session with an error', {
                closeCode: f.code,
              });
        // Ack the CLOSE so the peer's close() can finish, then end.
        this.ackDue = true;
        this.flush();
        this.end(this.streams.size > 0 ? err : null);
        return;
      }
    }
  }

  private acceptOpen(id: number, target: StreamTarget): void {
    if (this.opts.role !== 'server' || id <= this.highestStreamId) {
      throw violation('SESSION_BAD_STREAM_ID', 'OPEN with a stream id not above the last', {
        streamId: id,
      });
    }
    this.highestStreamId = id;
    const onStream = this.opts.onStream;
    if (this.streams.size >= this.opts.maxStreams || onStream === undefined) {
      // Refusals are owed even while our records are blocked; a peer that
      // keeps opening beyond its limit regardless is cut off.
      if (this.pendingResets.length >= 4 * this.opts.maxStreams + 16) {
        throw violation('SESSION_TOO_MANY_STREAMS', 'peer keeps opening streams beyond the limit');
      }
      this.pendingResets.push({ id, code: WireCode.REFUSED });
      this.scheduleFlush();
      return;
    }
    const stream = this.newStream(id, target, false);
    try {
      onStream(stream, target);
    } catch {
      this.resetStream(stream, WireCode.REFUSED);
      stream.destroy();
    }
  }

  private newStream(id: number, target: StreamTarget, opener: boolean): SessionStream {
    const stream = new SessionStream(
      this,
      id,
      target,
      {
        recvWindow: this.opts.initialWindow,
        sendWindow: this.peer?.initialWindow ?? 0,
        highWaterMark: this.opts.highWaterMark,
      },
      opener,
    );
    this.streams.set(id, stream);
    this.counters.streamsTotal++;
    return stream;
  }

  /** Removes a stream from the session (both FINs, a reset, or the end). */
  private forget(s: SessionStream): SessionStream {
    this.streams.delete(s.id);
    this.dirty.delete(s);
    s.detached = true;
    return s;
  }

  /**
   * Drops acknowledged records from the retransmit buffer.
   * @throws SessionError SESSION_BAD_ACK for an ack of records never sent.
   */
  private applyAck(ack: number): void {
    if (ack > this.sendSeq) {
      throw violation('SESSION_BAD_ACK', 'ack beyond the last record sent', {
        ack,
        sent: this.sendSeq,
      });
    }
    if (ack <= this.peerAck) return;
    const end = this.retxHead + ack - this.peerAck;
    const full = RECORD_HEADER_LEN + this.maxRecordBody;
    for (let i = this.retxHead; i < end; i++) {
      const rec = this.retx[i]!;
      this.retxBytes -= rec.length - RECORD_HEADER_LEN;
      this.retx[i] = undefined;
      // Only full-size buffers (small records were copied out of theirs).
      if (rec.buffer.byteLength === full && this.recordPool.length < RECORD_POOL) {
        this.recordPool.push(rec.buffer as ArrayBuffer);
      }
    }
    this.retxHead = end;
    // Cut the acked front off once it is most of the array, not per ack.
    if (end === this.retx.length) {
      this.retx.length = 0;
      this.retxHead = 0;
    } else if (end >= 1024 && end * 2 >= this.retx.length) {
      this.retx = this.retx.slice(end);
      this.retxHead = 0;
    }
    this.peerAck = ack;
    if (this.nextResend <= ack) this.nextResend = ack + 1;
    if (this.closeWaiter !== null && this.closeSeq > 0 && ack >= this.closeSeq) {
      this.closeWaiter();
      return;
    }
    this.scheduleFlush();
  }

  private cancelAck(): void {
    const t = this.ackTimer;
    if (t === null) return;
    // Each kind with its own function: clearImmediate on a Timeout (or the
    // reverse) would unlink it from the wrong list and corrupt Node's queues.
    if (this.ackTimerUrgent) clearImmediate(t as NodeJS.Immediate);
    else clearTimeout(t as NodeJS.Timeout);
    this.ackTimer = null;
  }

  /**
   * Arranges a bare ack unless a record carries one first: after ackDelayMs
   * (so a reply can carry it, saving a cell), or on the next turn once
   * ACK_EVERY_RECORDS are waiting (so the peer's retransmit buffer keeps
   * moving during bulk transfers).
   */
  private scheduleAck(): void {
    this.unackedIn++;
    const urgent = this.opts.ackDelayMs === 0 || this.unackedIn >= ACK_EVERY_RECORDS;
    if (this.ackTimer !== null) {
      if (!urgent || this.ackTimerUrgent) return;
      this.cancelAck();
    }
    this.ackTimerUrgent = urgent;
    this.ackTimer = urgent
      ? setImmediate(this.ackTask)
      : setTimeout(this.ackTask, this.opts.ackDelayMs);
  }

  // --- sending ---

  private scheduleFlush(): void {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(this.flushTask);
  }

  /** Sends all it can: the refused payload, resends, new records, a bare ack. */
  private flush(): void {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    const callbacks = this.doneCallbacks;
    try {
      do {
        this.flushAgain = false;
        this.flushOnce(callbacks);
        // Write callbacks may make Node call _write again at once: that only
        // marks the stream dirty and asks for another pass.
        for (let i = 0; i < callbacks.length; i++) runApp(callbacks[i]!);
        callbacks.length = 0;
      } while (this.flushAgain && this.state === 'attached');
    } catch (err) {
      callbacks.length = 0;
      this.end(asSessionError(err));
    } finally {
      this.flushing = false;
    }
  }

  private flushOnce(callbacks: ((err?: Error | null) => void)[]): void {
    for (;;) {
      const ch = this.channel;
      if (ch === null || this.state !== 'attached') return;
      if (this.outbox !== null) {
        if (!ch.send(this.outbox)) return;
        this.outbox = null;
      }
      if (this.nextResend <= this.sendSeq) {
        const seq = this.nextResend++;
        this.counters.retransmitted++;
        this.transmit(ch, seq, this.retx[this.retxHead + seq - this.peerAck - 1]!);
        continue;
      }
      const room =
        this.retxBytes < this.opts.maxUnackedBytes &&
        this.retx.length - this.retxHead < MAX_UNACKED_RECORDS;
      const built = room ? this.buildBody(callbacks) : null;
      if (built === null) {
        if (this.ackDue) this.transmit(ch, 0, new Uint8Array(RECORD_HEADER_LEN));
        return;
      }
      const seq = ++this.sendSeq;
      this.retx.push(built.record);
      this.retxBytes += built.record.length - RECORD_HEADER_LEN;
      this.nextResend = seq + 1;
      if (built.close) this.closeSeq = seq;
      this.transmit(ch, seq, built.record);
    }
  }

  /** Stamps `record` (header + frames) with its seq and our ack, seals and sends it. */
  private transmit(ch: RouteChannel, seq: number, record: Uint8Array): void {
    setRecordHeader(record, seq, this.recvSeq);
    const payload = sealRecordMessage(this.ciphers!.send, record, this.sealScratch ?? undefined);
    this.ackDue = false;
    this.unackedIn = 0;
    this.counters.recordsSent++;
    if (!ch.send(payload)) this.outbox = payload.slice();
  }

  /**
   * Packs frames into one record (behind a blank header): refusals and
   * resets first, then one pass after another over the streams with work
   * (round robin, at most one DATA frame per stream per pass), then CLOSE.
   * Null when there is nothing to send.
   */
  private buildBody(
    callbacks: ((err?: Error | null) => void)[],
  ): { record: Uint8Array; close: boolean } | null {
    const size = RECORD_HEADER_LEN + this.maxRecordBody;
    const spare = this.recordPool.pop();
    const buf = spare === undefined ? new Uint8Array(size) : new Uint8Array(spare);
    this.body = buf;
    this.bodyPos = RECORD_HEADER_LEN; // the header is stamped at each send

    if (this.sessionWindowOwed > 0 && this.fits(9)) {
      const delta = Math.min(this.sessionWindowOwed, MAX_CREDIT);
      this.put({ type: 'window', streamId: SESSION_STREAM_ID, delta });
      this.sessionWindowOwed -= delta;
    }
    while (this.pendingResets.length > 0 && this.fits(7)) {
      const r = this.pendingResets.shift()!;
      this.put({ type: 'rst', streamId: r.id, code: r.code });
    }
    const pass = this.passStreams;
    let progress = true;
    while (progress && this.dirty.size > 0 && this.fits(DATA_FRAME_OVERHEAD + 1)) {
      progress = false;
      // A snapshot: streams still with work go back into the set, after the others.
      pass.length = 0;
      for (const s of this.dirty) pass.push(s);
      for (let i = 0; i < pass.length; i++) {
        const s = pass[i]!;
        if (this.emitFor(s, callbacks)) progress = true;
        this.dirty.delete(s);
        if (s.hasWork && !s.detached) this.dirty.add(s);
        if (!this.fits(DATA_FRAME_OVERHEAD + 1)) break;
      }
      pass.length = 0;
    }
    let close = false;
    if (this.closePending !== null && this.pendingResets.length === 0 && this.fits(3)) {
      this.put({ type: 'close', code: this.closePending });
      this.closePending = null;
      close = true;
    }
    const len = this.bodyPos;
    this.body = BLANK_HEADER;
    if (len > RECORD_HEADER_LEN && len >= size / 2) return { record: buf.subarray(0, len), close };
    // Nothing to send, or a small record: copied, so the retransmit buffer
    // holds what it counts, and the buffer serves the next record.
    if (this.recordPool.length < RECORD_POOL) this.recordPool.push(buf.buffer);
    return len === RECORD_HEADER_LEN ? null : { record: buf.slice(0, len), close };
  }

  /** True when `n` more bytes fit in the record being packed. */
  private fits(n: number): boolean {
    return this.bodyPos + n <= this.body.length;
  }

  /** Appends a frame to the record being packed. */
  private put(f: Frame): void {
    this.bodyPos = encodeFrameInto(this.body, this.bodyPos, f);
  }

  /** Puts what fits of one stream's pending frames into the record being packed; true if anything went in. */
  private emitFor(s: SessionStream, callbacks: ((err?: Error | null) => void)[]): boolean {
    let any = false;
    if (s.windowOwed > 0 && this.fits(9)) {
      const delta = Math.min(s.windowOwed, MAX_CREDIT);
      this.put({ type: 'window', streamId: s.id, delta });
      s.windowOwed -= delta;
      any = true;
    }
    if (s.needOpen) {
      const f: Frame = { type: 'open', streamId: s.id, target: s.target };
      if (!this.fits(frameLength(f))) return any;
      this.put(f);
      s.needOpen = false;
      any = true;
    }
    const credit = Math.min(s.sendCredit, this.sendSessionCredit);
    if (s.chunk !== null && credit > 0) {
      const room = this.body.length - this.bodyPos - DATA_FRAME_OVERHEAD;
      const left = s.chunk.length - s.chunkOffset;
      const want = Math.min(left, credit, 0xffff);
      if (room >= want || room >= MIN_DATA_SPLIT) {
        const data = s.takeData(Math.min(want, room), callbacks);
        this.put({ type: 'data', streamId: s.id, data });
        this.sendSessionCredit -= data.length;
        this.counters.bytesSent += data.length;
        any = true;
      }
    }
    if (s.finPending && !s.finSent && s.chunk === null && this.fits(5)) {
      this.put({ type: 'fin', streamId: s.id });
      const cb = s.takeFin();
      if (cb) callbacks.push(cb);
      if (s.finReceived) this.forget(s);
      any = true;
    }
    return any;
  }

  private dropChannel(): void {
    this.channel = null;
    this.ciphers?.send.clear();
    this.ciphers?.recv.clear();
    this.ciphers = null;
    this.outbox = null;
  }
}

/**
 * Runs code that may call into the application (stream 'data' and 'drain'
 * listeners run synchronously). An exception there is the application's,
 * not the peer's: it must not end the session nor cut a record's frames
 * short, so it is rethrown on its own, as Node would for any listener.
 */
function runApp(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}
