/**
 * The source's end of a session: builds a route (through the callback it
 * is given), runs the Noise NK handshake to the destination's address key,
 * then carries streams. When the route dies it builds another and resumes:
 * RESUME names the session, takes a newer epoch and proves knowledge of the
 * session's resume key, and the source resends what the destination has not
 * acknowledged right behind it; the destination's RESUME_OK proves the same
 * back and says what it already had. Applications see nothing but a pause.
 */
import {
  checkStreamTarget,
  encodeRouteMessage,
  initiateSession,
  MAX_EPOCH_SKIP,
  RECORD_OVERHEAD,
  type RouteMessage,
  resumeMac,
  SESSION_VERSION,
  SessionError,
  type StreamTarget,
  verifyResumeMac,
  WireCode,
} from '@skymesh/protocol/stream';
import type { RouteChannel } from '../contracts.js';
import { SessionEngine, type SessionStats } from './engine.js';
import { resolveTuning, type SessionTuning, toSessionError } from './options.js';
import { awaitFirstMessage, sendFirst } from './route-wait.js';
import type { SessionStream } from './stream.js';

/** Options of createSessionClient. */
export interface SessionClientOptions extends SessionTuning {
  /** The destination's Ed25519 public key (its address key). */
  destination: Uint8Array;
  /** Builds a fresh route to the destination. Called at start and on every failover. */
  openRoute: () => Promise<RouteChannel>;
  /** Routes tried in a row (at start, and per failover) before giving up, 1..64. @default 5 */
  maxRouteAttempts?: number;
  /** Pause before retrying a route, times the attempt number. @default 50 */
  retryDelayMs?: number;
  /** How long close() waits for the peer to acknowledge CLOSE. @default 2000 */
  closeTimeoutMs?: number;
}

export type SessionClientState = 'connecting' | 'open' | 'resuming' | 'closed';

/** A session from the source's side. */
export interface SessionClient {
  /** Resolves once the handshake is done; rejects with a SessionError if it cannot be. */
  readonly ready: Promise<void>;
  /** Resolves when the session ends: null for close(), else the error that ended it. */
  readonly closed: Promise<SessionError | null>;
  readonly state: SessionClientState;
  /**
   * Opens a stream to `target` (usable at once; data waits for the handshake).
   * @throws SessionError SESSION_TOO_MANY_STREAMS | SESSION_CLOSED | SESSION_BAD_TARGET
   */
  openStream(target: StreamTarget): SessionStream;
  /** Ends the session cleanly (open streams are destroyed without error). */
  close(): Promise<void>;
  stats(): SessionStats;
}

const closedEarly = () =>
  new SessionError('SESSION_CLOSED', 'the session was closed before it was established');

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Starts a session to `destination`. See SessionClient. */
export function createSessionClient(options: SessionClientOptions): SessionClient {
  const tuning = resolveTuning(options);
  const maxAttempts = options.maxRouteAttempts ?? 5;
  // Each attempt takes a new epoch; the key chain skips at most MAX_EPOCH_SKIP.
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > MAX_EPOCH_SKIP) {
    throw new RangeError(`maxRouteAttempts must be an integer in 1..${MAX_EPOCH_SKIP}`);
  }
  const retryDelayMs = options.retryDelayMs ?? 50;
  const closeTimeoutMs = options.closeTimeoutMs ?? 2000;
  let graceMs = 0;
  // Epochs are never reused, even for resume attempts that went nowhere.
  let lastEpoch = 0;

  let resolveClosed!: (err: SessionError | null) => void;
  const closed = new Promise<SessionError | null>((r) => {
    resolveClosed = r;
  });

  const engine: SessionEngine = new SessionEngine({
    role: 'client',
    initialWindow: tuning.initialWindow,
    sessionWindow: tuning.sessionWindow,
    maxStreams: tuning.maxStreams,
    maxUnackedBytes: tuning.maxUnackedBytes,
    highWaterMark: tuning.highWaterMark,
    ackDelayMs: tuning.ackDelayMs,
    onDetach: () => {
      void resume();
    },
    onEnd: (err) => resolveClosed(err),
  });

  /**
   * Runs `attempt` on fresh routes until it succeeds, fails for good, or
   * `attempts` run out (or, after the first, `deadline` passes).
   */
  async function withRoutes(
    attempt: (ch: RouteChannel) => Promise<void>,
    deadline: number,
    attempts = maxAttempts,
  ): Promise<void> {
    let last: SessionError = new SessionError('SESSION_ROUTE_FAILED', 'no route could be built');
    for (let i = 1; i <= attempts && !engine.ended && (i === 1 || Date.now() <= deadline); i++) {
      if (i > 1) await delay(retryDelayMs * (i - 1));
      let ch: RouteChannel;
      try {
        ch = await options.openRoute();
      } catch (err) {
        last = new SessionError('SESSION_ROUTE_FAILED', 'openRoute failed', {
          cause: err instanceof Error ? err.message : String(err),
        });
        continue;
      }
      if (engine.ended) {
        ch.close('session closed');
        break;
      }
      const minBody = engine.maxRecordBody || 64;
      if (ch.payloadSize - RECORD_OVERHEAD < minBody) {
        ch.close('payload too small');
        last = new SessionError('SESSION_PAYLOAD_TOO_SMALL', 'route payloads too small', {
          payloadSize: ch.payloadSize,
        });
        continue;
      }
      try {
        await attempt(ch);
        // close() may have ended the session while the route was answering.
        if (engine.ended) ch.close('session closed');
        return;
      } catch (err) {
        ch.close('failed');
        const e = toSessionError(err, last);
        // Only a dead or silent route is worth another try.
        if (e.code !== 'SESSION_ROUTE_FAILED' && e.code !== 'SESSION_HANDSHAKE_TIMEOUT') throw e;
        last = e;
      }
    }
    throw engine.ended ? closedEarly() : last;
  }

  /** Sends `first` on `ch` and hands the reply to `onReply` (synchronously, see route-wait.ts). */
  function exchange(ch: RouteChannel, first: Uint8Array, onReply: (m: RouteMessage) => void) {
    return new Promise<void>((resolve, reject) => {
      awaitFirstMessage(
        ch,
        tuning.handshakeTimeoutMs,
        (msg) => {
          try {
            onReply(msg);
            resolve();
          } catch (err) {
            reject(err);
          }
        },
        reject,
      );
      if (!sendFirst(ch, first)) {
        reject(new SessionError('SESSION_ROUTE_FAILED', 'route refused the first message'));
      }
    });
  }

  function refused(msg: RouteMessage): never {
    if (msg.type === 'refused') {
      const code =
        msg.code === WireCode.BUSY
          ? 'SESSION_BUSY'
          : msg.code === WireCode.BAD_HANDSHAKE
            ? 'SESSION_BAD_HANDSHAKE'
            : 'SESSION_RESUME_REFUSED';
      throw new SessionError(code, 'the destination refused', { refusedCode: msg.code });
    }
    throw new SessionError('SESSION_BAD_HANDSHAKE', `unexpected ${msg.type} from the destination`);
  }

  async function connect(): Promise<void> {
    await withRoutes(async (ch) => {
      const init = initiateSession(options.destination, {
        version: SESSION_VERSION,
        initialWindow: tuning.initialWindow,
        sessionWindow: tuning.sessionWindow,
        maxStreams: 0,
        graceSeconds: 0,
      });
      await exchange(ch, init.hello, (msg) => {
        if (msg.type !== 'welcome') refused(msg);
        const { keys, peer } = init.finish(msg.noise);
        graceMs = peer.graceSeconds * 1000;
        engine.establish(keys, peer);
        engine.attach(ch, 0, 0);
      });
    }, Number.POSITIVE_INFINITY);
    if (engine.ended) throw closedEarly();
  }

  // Failover state: resume attempts since the destination last confirmed
  // one with RESUME_OK, and when the session lost its confirmed route.
  let unconfirmed = 0;
  let detachedSince: number | null = null;

  /**
   * Moves the session to a new route: sends RESUME and, without waiting for
   * RESUME_OK, resends everything unacknowledged under the new epoch's keys
   * (the destination reads RESUME first, then the records). RESUME_OK, when
   * it comes, is checked and tells what need not be resent; REFUSED ends the
   * session; silence closes the route, and the next attempt follows.
   */
  async function resume(): Promise<void> {
    const keys = engine.sessionKeys;
    if (keys === null || engine.ended) return;
    detachedSince ??= Date.now();
    try {
      await withRoutes(
        async (ch) => {
          unconfirmed++;
          const epoch = Math.max(lastEpoch, engine.epoch) + 1;
          lastEpoch = epoch;
          const ack = engine.recvSeq;
          const resumeMsg = encodeRouteMessage({
            type: 'resume',
            sessionId: keys.sessionId,
            epoch,
            ack,
            mac: resumeMac(keys, 'resume', epoch, ack),
          });
          if (!sendFirst(ch, resumeMsg)) {
            throw new SessionError('SESSION_ROUTE_FAILED', 'route refused RESUME');
          }
          const silence = setTimeout(
            () => ch.close('no answer to RESUME'),
            tuning.handshakeTimeoutMs,
          );
          silence.unref?.();
          engine.attach(ch, epoch, 0, (msg) => {
            clearTimeout(silence);
            if (msg.type !== 'resume-ok') refused(msg);
            if (
              msg.epoch !== epoch ||
              !verifyResumeMac(keys, 'resume-ok', msg.epoch, msg.ack, msg.mac)
            ) {
              throw new SessionError('SESSION_RESUME_REFUSED', 'RESUME_OK did not authenticate');
            }
            unconfirmed = 0;
            detachedSince = null;
            return msg.ack;
          });
        },
        detachedSince + graceMs,
        maxAttempts - unconfirmed,
      );
    } catch (err) {
      engine.end(toSessionError(err, new SessionError('SESSION_ROUTE_FAILED', 'resume failed')));
    }
  }

  const ready = connect().catch((err: unknown) => {
    const e = toSessionError(
      err,
      new SessionError('SESSION_ROUTE_FAILED', 'could not establish the session'),
    );
    engine.end(e);
    throw e;
  });
  // The caller may never await `ready`; failures also reach `closed`.
  ready.catch(() => {});

  return {
    ready,
    closed,
    get state(): SessionClientState {
      if (engine.ended) return 'closed';
      if (engine.attached) return 'open';
      return engine.sessionKeys === null ? 'connecting' : 'resuming';
    },
    openStream(target) {
      checkStreamTarget(target);
      return engine.openStream(target);
    },
    close() {
      return engine.close(closeTimeoutMs);
    },
    stats: () => engine.stats(),
  };
}
