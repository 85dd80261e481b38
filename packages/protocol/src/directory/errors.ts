/**
 * Errors of the directory layer: link reports, snapshots, diffs and route
 * finding. The route server returns these codes to callers as they are;
 * docs/route-server.md lists them with their HTTP statuses.
 */
import { ProtocolError } from '../errors.js';

/** Every code the directory library throws, besides the base DECODE_* / DESCRIPTOR_* codes. */
export const DIRECTORY_ERROR_CODES = [
  /** Thrown when a link report, snapshot or diff signature does not verify. */
  'DIRECTORY_BAD_SIGNATURE',
  /** Thrown when a snapshot or diff is signed by another key than the expected server's. */
  'DIRECTORY_WRONG_SERVER',
  /** Thrown when a snapshot or diff carries a descriptor whose own signature does not verify. */
  'DIRECTORY_BAD_DESCRIPTOR',
  /** Thrown when a link report is older than its time to live or issued in the future. */
  'DIRECTORY_REPORT_STALE',
  /** Thrown when a link report's sequence is not above the one held for its node. */
  'DIRECTORY_REPORT_REPLAYED',
  /** Thrown when a descriptor is older than (or differs at the same issue time from) the one held. */
  'DIRECTORY_DESCRIPTOR_REPLAYED',
  /** Thrown when a link report comes from a node with no live descriptor. */
  'DIRECTORY_UNKNOWN_NODE',
  /** Thrown when a diff is asked since a version the server no longer (or not yet) covers. */
  'DIRECTORY_DIFF_UNAVAILABLE',
  /** Thrown when a diff does not start at the local version, or names nodes it does not hold. */
  'DIRECTORY_DIFF_MISMATCH',
  /** Thrown when a snapshot or diff would take the local copy back to an older version. */
  'DIRECTORY_ROLLBACK',
  /** Thrown when a snapshot is older than the caller accepts. */
  'DIRECTORY_STALE',
  /** Thrown when a snapshot, diff or report exceeds its size or count cap. */
  'DIRECTORY_TOO_LARGE',
  /** Thrown when a route query is malformed (hop bounds, k, destination). */
  'DIRECTORY_BAD_QUERY',
  /** Thrown when no path satisfies a route query. */
  'DIRECTORY_NO_ROUTE',
  /** Thrown when a node refuses a route answer whose paths break the diversity policy while its copy has a path that keeps it. */
  'DIRECTORY_NOT_DIVERSE',
] as const;

/** Codes of the directory layer. */
export type DirectoryErrorCode = (typeof DIRECTORY_ERROR_CODES)[number];

/** Thrown when directory input is invalid or a query cannot be answered; see DirectoryErrorCode. */
export class DirectoryError extends ProtocolError<DirectoryErrorCode> {}
