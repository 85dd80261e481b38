/**
 * Errors the router reports to its callers (buildRoute, RouteChannel.send).
 * Wire-level failures of single cells are never thrown: they are dropped and
 * counted in RouterStats.drops.
 */
import { SkymeshError } from '@skymesh/crypto';

/** Stable codes, documented in docs/drafts/routes.md. */
export type RouteErrorCode =
  /** Thrown when a path is empty, longer than MAX_HOPS or holds a bad key. */
  | 'ROUTE_BAD_PATH'
  /** Thrown when there is no link to the first hop. */
  | 'ROUTE_NO_LINK'
  /** Thrown when a hop reports a failure during setup; details: { hop, reason }. */
  | 'ROUTE_SETUP_FAILED'
  /** Thrown when no answer to the setup packet came in time. */
  | 'ROUTE_SETUP_TIMEOUT'
  /** Thrown when the route or the router closed before the route was up. */
  | 'ROUTE_CLOSED'
  /** Thrown when no route ID is free on the first link, or the router is at its route limit. */
  | 'ROUTE_RESOURCE_LIMIT'
  /** Thrown by RouteChannel.send for a payload larger than payloadSize. */
  | 'ROUTE_PAYLOAD_TOO_LARGE';

/** Thrown when building or using a route fails; see RouteErrorCode. */
export class RouteError extends SkymeshError<RouteErrorCode> {}
