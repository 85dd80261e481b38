/**
 * Errors of the link wire format. A reader throws one of these for any
 * malformed, oversized or unauthentic input; the node then drops the
 * connection (silently during a handshake, so a prober learns nothing).
 */
import { ProtocolError } from '../errors.js';

/** Stable codes, documented in docs/drafts/links.md. */
export type LinkErrorCode =
  /** A handshake message's length field is out of range. */
  | 'LINK_HANDSHAKE_LENGTH'
  /** A handshake message failed to decrypt or authenticate (wrong key, tampered, random bytes). */
  | 'LINK_HANDSHAKE_AUTH'
  /** A decrypted handshake payload is malformed (version, sizes). */
  | 'LINK_HANDSHAKE_PAYLOAD'
  /** The initiator's Ed25519 key does not match its Noise static key. */
  | 'LINK_IDENTITY_MISMATCH'
  /** The initiator's timestamp is outside the accepted clock window. */
  | 'LINK_HANDSHAKE_STALE'
  /** A frame's length field is out of range. */
  | 'LINK_FRAME_LENGTH'
  /** A frame failed to authenticate (tampered, reordered, wrong key). */
  | 'LINK_FRAME_AUTH'
  /** A decrypted frame holds an unknown or truncated record. */
  | 'LINK_FRAME_RECORD';

/** Thrown when link bytes from a peer are invalid. */
export class LinkError extends ProtocolError<LinkErrorCode> {}
