/**
 * Errors of the onion route layer. Processing functions throw these for
 * packets that must be dropped; the router counts them by code and never
 * answers a MAC or replay failure (silence gives a prober nothing).
 */
import { ProtocolError } from '../errors.js';

/** Stable codes, documented in docs/drafts/routes.md. */
export type OnionErrorCode =
  /** A cell or setup packet has the wrong size or an unknown command. */
  | 'ONION_BAD_CELL'
  /** A setup packet's MAC γ did not verify (tampered, wrong hop, garbage). */
  | 'ONION_BAD_MAC'
  /** A setup packet's ephemeral key is a low-order point. */
  | 'ONION_BAD_KEY'
  /** A setup packet's replay tag was seen before within the window. */
  | 'ONION_REPLAY'
  /** The replay cache is full; the packet is refused rather than remembered. */
  | 'ONION_REPLAY_CACHE_FULL'
  /** A setup packet's timestamp is outside the accepted window. */
  | 'ONION_STALE'
  /** A decrypted slot holds an unknown kind or non-zero reserved bytes. */
  | 'ONION_BAD_SLOT'
  /** A path handed to the packet builder is empty, too long or holds a bad key. */
  | 'ONION_BAD_PATH'
  /** A payload is larger than ROUTE_PAYLOAD_SIZE or a voucher larger than VOUCHER_SIZE. */
  | 'ONION_TOO_LARGE';

/** Thrown when onion input is invalid; see OnionErrorCode. */
export class OnionError extends ProtocolError<OnionErrorCode> {}
