/**
 * The destination's end of sessions: answers HELLOs with its address key
 * (Noise NK responder), keeps each session while its route lives and for a
 * grace period after it dies, and lets the source resume it on a new route
 * with a RESUME that must carry the session's MAC and a newer epoch (so a
 * forged or replayed RESUME is refused and the session stays as it was).
 * Each misbehaving session is ended on its own; the others carry on.
 */
import { type Identity, toHex } from '@skymesh/crypto';
import {
  encodeRouteMessage,
  MAX_EPOCH_SKIP,
  RECORD_OVERHEAD,
  type RouteMessage,
  respondToSession,
  resumeMac,
  SESSION_VERSION,
  SessionError,
  type StreamTarget,
  verifyResumeMac,
  WireCode,
} from '@skymesh/protocol/stream';
import type { RouteChannel } from '../contracts.js';
import { SessionEngine, type SessionStats } from './engine.js';
import { resolveTuning, type SessionTuning } from './options.js';
import { awaitFirstMessage, sendFirst } from './route-wait.js';
import type { SessionStream } from './stream.js';

/** Options of createSessionServer. */
export interface SessionServerOptions extends SessionTuning {
  /** The destination's identity: its dhSecretKey answers the handshake. */
  identity: Identity;
  /**
   * A stream arrived. Attach an 'error' listener: a reset or failed session
   * destroys the stream with a SessionError. Throwing resets the stream.
   */
  onStream(stream: SessionStream, target: StreamTarget): void;
  /** Sessions at once (attached or detached); more HELLOs are refused. @default 1024 */
  maxSessions?: number;
  /** How long a session whose route died waits for a RESUME. @default 30000 */
  graceMs?: number;
  /** A session ended (null: clean close). */
  onSessionEnd?: (err: SessionError | null) => void;
}

/** Counters for metrics. */
export interface SessionServerStats {
  sessions: number;
  detached: number;
  handshakes: number;
  handshakesFailed: number;
  resumes: number;
  resumesRefused: number;
  /** Sessions ended by a protocol violation of the peer. */
  sessionsFailed: number;
  sessionsExpired: number;
}

/** The destination's session endpoint. */
export interface SessionServer {
  /** Takes an incoming route: its first payload must be HELLO or RESUME. */
  acceptRoute(ch: RouteChannel): void;
  stats(): SessionServerStats;
  /** Per-session counters, keyed by hex session id. */
  sessionStats(): Map<string, SessionStats>;
  /** Ends every session. */
  close(): void;
}

type ResumeMessage = Extract<RouteMessage, { type: 'resume' }>;

interface Entry {
  readonly engine: SessionEngine;
  /** Newest epoch accepted; a RESUME must name a larger one. */
  epoch: number;
  grace: NodeJS.Timeout | null;
}

/** Creates a destination endpoint. See SessionServer. */
export function createSessionServer(options: SessionServerOptions): SessionServer {
  const tuning = resolveTuning(options);
  const maxSessions = options.maxSessions ?? 1024;
  const graceMs = options.graceMs ?? 30_000;
  const staticKey = {
    secretKey: options.identity.dhSecretKey,
    publicKey: options.identity.dhPublicKey,
  };
  const sessions = new Map<string, Entry>();
  const counters = {
    handshakes: 0,
    handshakesFailed: 0,
    resumes: 0,
    resumesRefused: 0,
    sessionsFailed: 0,
    sessionsExpired: 0,
  };

  function refuse(ch: RouteChannel, code: number): void {
    sendFirst(ch, encodeRouteMessage({ type: 'refused', code }));
    ch.close('refused');
  }

  function hello(ch: RouteChannel, noise: Uint8Array): void {
    if (sessions.size >= maxSessions) {
      counters.handshakesFailed++;
      refuse(ch, WireCode.BUSY);
      return;
    }
    if (ch.payloadSize - RECORD_OVERHEAD < 64) {
      counters.handshakesFailed++;
      ch.close('payload too small');
      return;
    }
    let response: ReturnType<typeof respondToSession>;
    try {
      response = respondToSession(staticKey, noise, {
        version: SESSION_VERSION,
        initialWindow: tuning.initialWindow,
        sessionWindow: tuning.sessionWindow,
        maxStreams: tuning.maxStreams,
        graceSeconds: Math.min(0xffff, Math.ceil(graceMs / 1000)),
      });
    } catch {
      // Saying so reveals nothing: the address key is public, and no session exists.
      counters.handshakesFailed++;
      refuse(ch, WireCode.BAD_HANDSHAKE);
      return;
    }
    const { keys, peer } = response.session;
    const id = toHex(keys.sessionId);
    const entry: Entry = {
      epoch: 0,
      grace: null,
      engine: new SessionEngine({
        role: 'server',
        initialWindow: tuning.initialWindow,
        sessionWindow: tuning.sessionWindow,
        maxStreams: tuning.maxStreams,
        maxUnackedBytes: tuning.maxUnackedBytes,
        highWaterMark: tuning.highWaterMark,
        ackDelayMs: tuning.ackDelayMs,
        onStream: options.onStream,
        onDetach: () => {
          entry.grace = setTimeout(() => {
            counters.sessionsExpired++;
            entry.engine.end(
              new SessionError('SESSION_EXPIRED', 'no resume within the grace period'),
            );
          }, graceMs);
          entry.grace.unref?.();
        },
        onEnd: (err) => {
          if (entry.grace !== null) clearTimeout(entry.grace);
          sessions.delete(id);
          if (err !== null && err.code !== 'SESSION_EXPIRED' && err.code !== 'SESSION_CLOSED') {
            counters.sessionsFailed++;
          }
          options.onSessionEnd?.(err);
        },
      }),
    };
    sessions.set(id, entry);
    counters.handshakes++;
    entry.engine.establish(keys, peer);
    if (!sendFirst(ch, response.welcome)) {
      entry.engine.end(null);
      ch.close('route refused WELCOME');
      return;
    }
    entry.engine.attach(ch, 0, 0);
  }

  /** Why a RESUME is refused, or null when it is good. */
  function refusal(entry: Entry | undefined, msg: ResumeMessage): number | null {
    const keys = entry?.engine.sessionKeys;
    if (entry === undefined || keys == null) return WireCode.UNKNOWN_SESSION;
    if (!verifyResumeMac(keys, 'resume', msg.epoch, msg.ack, msg.mac)) return WireCode.BAD_RESUME;
    // Checked after the MAC: only the source can make a valid one, and each is used once.
    if (msg.epoch <= entry.epoch) return WireCode.REPLAYED_RESUME;
    if (msg.epoch - entry.epoch > MAX_EPOCH_SKIP) return WireCode.BAD_RESUME;
    if (msg.ack > entry.engine.lastSent) return WireCode.BAD_RESUME;
    return null;
  }

  function resume(ch: RouteChannel, msg: ResumeMessage): void {
    const entry = sessions.get(toHex(msg.sessionId));
    const code = refusal(entry, msg);
    if (code !== null || entry === undefined) {
      counters.resumesRefused++;
      refuse(ch, code ?? WireCode.UNKNOWN_SESSION);
      return;
    }
    const keys = entry.engine.sessionKeys!;
    entry.epoch = msg.epoch;
    const ok = encodeRouteMessage({
      type: 'resume-ok',
      epoch: msg.epoch,
      ack: entry.engine.recvSeq,
      mac: resumeMac(keys, 'resume-ok', msg.epoch, entry.engine.recvSeq),
    });
    if (!sendFirst(ch, ok)) {
      // The session stays as it was (its grace timer, if detached, still runs).
      ch.close('route refused RESUME_OK');
      return;
    }
    if (entry.grace !== null) clearTimeout(entry.grace);
    entry.grace = null;
    counters.resumes++;
    entry.engine.attach(ch, msg.epoch, msg.ack);
  }

  return {
    acceptRoute(ch) {
      awaitFirstMessage(
        ch,
        tuning.handshakeTimeoutMs,
        (msg) => {
          if (msg.type === 'hello') hello(ch, msg.noise);
          else if (msg.type === 'resume') resume(ch, msg);
          else {
            counters.handshakesFailed++;
            ch.close('SESSION_BAD_HANDSHAKE');
          }
        },
        (err) => {
          if (err.code !== 'SESSION_ROUTE_FAILED') counters.handshakesFailed++;
          ch.close(err.code);
        },
      );
    },
    stats() {
      let detached = 0;
      for (const e of sessions.values()) if (!e.engine.attached) detached++;
      return { sessions: sessions.size, detached, ...counters };
    },
    sessionStats() {
      const out = new Map<string, SessionStats>();
      for (const [id, e] of sessions) out.set(id, e.engine.stats());
      return out;
    },
    close() {
      for (const e of [...sessions.values()]) void e.engine.close(0);
    },
  };
}
