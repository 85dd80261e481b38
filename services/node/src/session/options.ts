/**
 * Tunables shared by both ends of a session, with their defaults, so the
 * source and the destination document and validate them in one place.
 */
import { SessionError } from '@skymesh/protocol/stream';

/** Options both createSessionClient and createSessionServer take. */
export interface SessionTuning {
  /** Receive window per stream, bytes (what the peer may send before a window update). @default 262144 */
  initialWindow?: number;
  /** Receive window for all streams of a session together, bytes. @default 1048576 */
  sessionWindow?: number;
  /** Streams at once in one session. @default 256 */
  maxStreams?: number;
  /** Unacknowledged bytes kept for retransmission (per session); sending pauses beyond. @default 1048576 */
  maxUnackedBytes?: number;
  /** highWaterMark of each stream's readable and writable side. @default 16384 */
  highWaterMark?: number;
  /**
   * Longest wait before a bare ack when no record carries one (a reply
   * usually does, saving a cell); 32 records waiting, or 0 here, ack on the
   * next event-loop turn. @default 10
   */
  ackDelayMs?: number;
  /** Time a fresh route has to answer (handshake, resume). @default 10000 */
  handshakeTimeoutMs?: number;
}

export type ResolvedTuning = Required<SessionTuning>;

const LIMITS: Record<keyof SessionTuning, [min: number, max: number, def: number]> = {
  initialWindow: [1024, 0x7fffffff, 256 * 1024],
  sessionWindow: [16 * 1024, 0x7fffffff, 1024 * 1024],
  maxStreams: [1, 0xffff, 256],
  maxUnackedBytes: [16 * 1024, 0x7fffffff, 1024 * 1024],
  highWaterMark: [1024, 0x7fffffff, 16 * 1024],
  ackDelayMs: [0, 60_000, 10],
  handshakeTimeoutMs: [1, 600_000, 10_000],
};

/**
 * Fills in defaults and checks ranges.
 * @throws RangeError naming the bad option.
 */
export function resolveTuning(t: SessionTuning): ResolvedTuning {
  const out = {} as ResolvedTuning;
  for (const key of Object.keys(LIMITS) as (keyof SessionTuning)[]) {
    const [min, max, def] = LIMITS[key];
    const v = t[key] ?? def;
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`${key} must be an integer in ${min}..${max}`);
    }
    out[key] = v;
  }
  return out;
}

/** The session error a failure is reported as (anything else becomes `fallback`). */
export function toSessionError(err: unknown, fallback: SessionError): SessionError {
  return err instanceof SessionError ? err : fallback;
}
