/**
 * Errors of the node's link layer (transports, link manager). Byte-format
 * errors from peers are LinkError (@skymesh/protocol/link) and never reach
 * callers: a bad peer only makes its link close.
 */
import { SkymeshError } from '@skymesh/crypto';

export type LinkManagerErrorCode =
  /** No connection could be opened to the endpoint (refused, unreachable, aborted). */
  | 'LINK_DIAL_FAILED'
  /** The endpoint names a transport this manager does not have. */
  | 'LINK_NO_TRANSPORT'
  /** The dialled node did not complete the handshake (wrong key, not a Skymesh node, timeout). */
  | 'LINK_HANDSHAKE_FAILED'
  /** The manager is closed. */
  | 'LINK_MANAGER_CLOSED'
  /** A node tried to link to itself. */
  | 'LINK_SELF'
  /** The peer key is not a valid Ed25519 public key (32 bytes, a point of large order). */
  | 'LINK_BAD_PEER_KEY'
  /** A self-signed TLS certificate could not be created (no openssl). */
  | 'LINK_TLS_UNAVAILABLE';

/** Thrown by the link manager and transports. */
export class LinkManagerError extends SkymeshError<LinkManagerErrorCode> {}
