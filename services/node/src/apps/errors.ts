/**
 * Errors of the node's local apps (SOCKS5 proxy, stream dialer, exits,
 * published services). Each carries the stream wire code it stands for in
 * `details.wireCode` when there is one, so the SOCKS5 server can turn any
 * failure into the right reply code. Documented in docs/drafts/apps.md.
 */
import { SkymeshError } from '@skymesh/crypto';

/** Stable codes, documented in docs/drafts/apps.md. */
export type AppErrorCode =
  /** Thrown when no exit in the directory allows the target host:port. */
  | 'APP_NO_EXIT'
  /** Thrown when a target is malformed (bad .mesh address, port out of range, name too long). */
  | 'APP_BAD_TARGET'
  /** Thrown when the destination answered a stream with a refusal; details: { wireCode }. */
  | 'APP_CONNECT_REFUSED'
  /** Thrown when no connect reply came within the connect timeout. */
  | 'APP_CONNECT_TIMEOUT'
  /** Thrown when the session or route failed before the connect reply; details: { cause }. */
  | 'APP_CONNECT_FAILED'
  /** Thrown when the dialer was closed or the open was aborted. */
  | 'APP_CLOSED'
  /** Thrown when a config value (publish map, SOCKS users, ports) is invalid. */
  | 'APP_BAD_CONFIG';

/** Thrown when an app-level stream cannot be opened or served; see AppErrorCode. */
export class AppError extends SkymeshError<AppErrorCode> {}
