/**
 * Errors of the route server service itself (limits, malformed requests,
 * mirror mode). Protocol failures keep their own codes (DECODE_*,
 * DESCRIPTOR_*, DIRECTORY_*); every code maps to one HTTP status here.
 */
import { SkymeshError } from '@skymesh/crypto';

export type RouteServerErrorCode =
  /** Thrown when a source IP or its prefix sent more requests than its rate allows. */
  | 'RS_RATE_LIMITED'
  /** Thrown when a source IP or its prefix already holds as many live nodes as allowed. */
  | 'RS_TOO_MANY_NODES'
  /** Thrown when a request body or message is not what the API takes. */
  | 'RS_MALFORMED'
  /** Thrown when a body or message exceeds its cap. */
  | 'RS_TOO_LARGE'
  /** Thrown for an unknown route or node. */
  | 'RS_NOT_FOUND'
  /** Thrown when a mirror is asked to accept descriptors or link reports. */
  | 'RS_READ_ONLY'
  /** Thrown when a mirror has not synced with its upstream yet, or the upstream misbehaves. */
  | 'RS_UNAVAILABLE'
  /** Thrown for anything unexpected (logged). */
  | 'RS_INTERNAL';

/** Thrown when the route server refuses a request for a service reason. */
export class RouteServerError extends SkymeshError<RouteServerErrorCode> {}

/** HTTP status of every code a caller can get back. */
export const HTTP_STATUS: Record<string, number> = {
  RS_RATE_LIMITED: 429,
  RS_TOO_MANY_NODES: 429,
  RS_MALFORMED: 400,
  RS_TOO_LARGE: 413,
  RS_NOT_FOUND: 404,
  RS_READ_ONLY: 405,
  RS_UNAVAILABLE: 503,
  RS_INTERNAL: 500,
  DESCRIPTOR_BAD_SIGNATURE: 401,
  DESCRIPTOR_EXPIRED: 422,
  DESCRIPTOR_NOT_YET_VALID: 422,
  DESCRIPTOR_TOO_LARGE: 413,
  DESCRIPTOR_FIELD_TOO_LARGE: 400,
  DIRECTORY_BAD_SIGNATURE: 401,
  DIRECTORY_DESCRIPTOR_REPLAYED: 409,
  DIRECTORY_REPORT_REPLAYED: 409,
  DIRECTORY_REPORT_STALE: 422,
  DIRECTORY_UNKNOWN_NODE: 422,
  DIRECTORY_DIFF_UNAVAILABLE: 410,
  DIRECTORY_BAD_QUERY: 400,
  DIRECTORY_NO_ROUTE: 404,
  DIRECTORY_TOO_LARGE: 413,
};

/** The status for a code: its entry, 400 for other DECODE_/ENCODE_ codes, else 500. */
export function statusOf(code: string): number {
  return HTTP_STATUS[code] ?? (/^(DECODE|ENCODE)_/.test(code) ? 400 : 500);
}
