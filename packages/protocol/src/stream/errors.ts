/**
 * Error codes of the end-to-end session layer (handshake, resume, records,
 * stream frames). Both ends and any app speaking the protocol share them, so
 * they live here, beside the wire formats. Documented in
 * docs/drafts/sessions.md; callers and tests match on `code`.
 */
import { ProtocolError } from '../errors.js';

export type SessionErrorCode =
  /** A handshake message was malformed, failed to decrypt, or came at the wrong time. */
  | 'SESSION_BAD_HANDSHAKE'
  /** A route payload or record could not be decoded (bad type, length, field). */
  | 'SESSION_BAD_MESSAGE'
  /** A record failed authentication (tampered, wrong key, or out of order). */
  | 'SESSION_BAD_RECORD'
  /** A record's sequence number skipped ahead (the route is supposed to be ordered). */
  | 'SESSION_SEQUENCE_GAP'
  /** An ack acknowledged records that were never sent. */
  | 'SESSION_BAD_ACK'
  /** A frame named a stream that does not exist or is finished in that direction. */
  | 'SESSION_UNKNOWN_STREAM'
  /** The peer opened a stream id that is not the next one (reuse or jump). */
  | 'SESSION_BAD_STREAM_ID'
  /** The peer sent more stream data than the window it was granted. */
  | 'SESSION_WINDOW_VIOLATION'
  /** A window update would raise the window above the allowed maximum. */
  | 'SESSION_WINDOW_OVERFLOW'
  /** The session already has its maximum number of streams. */
  | 'SESSION_TOO_MANY_STREAMS'
  /** The destination refused to resume the session (unknown, forged, replayed). */
  | 'SESSION_RESUME_REFUSED'
  /** The session's route died and no new route could be built or resumed in time. */
  | 'SESSION_ROUTE_FAILED'
  /** The destination dropped a detached session after its grace period. */
  | 'SESSION_EXPIRED'
  /** The session was closed (locally or by the peer); its streams end with this code. */
  | 'SESSION_CLOSED'
  /** The handshake did not complete in time. */
  | 'SESSION_HANDSHAKE_TIMEOUT'
  /** The destination has as many sessions as it accepts. */
  | 'SESSION_BUSY'
  /** A route's payload size is too small to carry the session's records. */
  | 'SESSION_PAYLOAD_TOO_SMALL'
  /** A stream target (name/port) is invalid. */
  | 'SESSION_BAD_TARGET'
  /** The peer reset the stream (details.resetCode says why). */
  | 'STREAM_RESET'
  /** The destination refused a new stream (no such service, too many streams). */
  | 'STREAM_REFUSED';

/**
 * Thrown (or used to destroy streams) when the session layer fails; see
 * SessionErrorCode. Decoders here may also throw the base DECODE_* codes.
 */
export class SessionError extends ProtocolError<SessionErrorCode> {}

/**
 * Codes carried on the wire in RST frames, CLOSE frames and REFUSED messages
 * (u16). Stable numbers; unknown numbers are reported as-is.
 */
export const WireCode = {
  /** No error: a clean close. */
  NONE: 0,
  /** The application cancelled the stream (destroy() without an error). */
  CANCEL: 1,
  /** The application failed (destroy(err)). */
  INTERNAL: 2,
  /** The destination refused the stream (no service / too many streams). */
  REFUSED: 3,
  /** The session ended while the stream was open. */
  SESSION_CLOSED: 4,
  /** Exit or service: the target is not allowed by the exit policy (SOCKS5 reply 0x02). */
  NOT_ALLOWED: 5,
  /** Exit: the target's network is unreachable (SOCKS5 reply 0x03). */
  NETWORK_UNREACHABLE: 6,
  /** Exit: the target host is unreachable or its name does not resolve (SOCKS5 reply 0x04). */
  HOST_UNREACHABLE: 7,
  /** Exit or service: the target refused the TCP connection (SOCKS5 reply 0x05). */
  CONNECTION_REFUSED: 8,
  /** Exit or service: connecting to the target timed out (SOCKS5 reply 0x06). */
  TTL_EXPIRED: 9,
  /** Resume refused: session unknown (never existed or expired). */
  UNKNOWN_SESSION: 16,
  /** Resume refused: authentication failed. */
  BAD_RESUME: 17,
  /** Resume refused: epoch not newer than the last one (replay). */
  REPLAYED_RESUME: 18,
  /** Handshake refused: destination is at its session limit. */
  BUSY: 19,
  /** The peer broke the protocol. */
  PROTOCOL: 20,
  /** Handshake refused: HELLO did not decrypt (wrong destination key) or was malformed. */
  BAD_HANDSHAKE: 21,
} as const;
export type WireCode = (typeof WireCode)[keyof typeof WireCode];
