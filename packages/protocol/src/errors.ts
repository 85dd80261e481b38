/**
 * Errors thrown by @skymesh/protocol. Every failure has a stable `code`
 * (SCREAMING_SNAKE_CASE) that callers and tests match on; messages are for
 * people. `details` carries serialisable context (field name, byte offset).
 *
 * Extending: a layer with its own failures declares its own code union and
 * subclasses `ProtocolError` with it, so `instanceof ProtocolError` still
 * catches everything the package throws and the fuzz harness accepts it:
 *
 *   export type LinkErrorCode = 'LINK_BAD_CELL' | 'LINK_REPLAY';
 *   export class LinkError extends ProtocolError<LinkErrorCode> {}
 *
 * Decoders of every layer may also throw the base DECODE_* codes below (they
 * come from the shared Reader).
 */
import { SkymeshError } from '@skymesh/crypto';

/** The codes of the protocol base (codec and descriptor), each documented where listed. */
export const PROTOCOL_ERROR_CODES = [
  /** Thrown when the input ends before a field it announces (or a fixed field) is complete. */
  'DECODE_TRUNCATED',
  /** Thrown when bytes are left over after the last field of a message. */
  'DECODE_TRAILING_BYTES',
  /** Thrown when a length prefix or count exceeds its cap (checked before allocating). */
  'DECODE_TOO_LARGE',
  /** Thrown when a field holds an invalid value: unknown enum, reserved flag bits, out of range, bad UTF-8, non-canonical form. */
  'DECODE_BAD_VALUE',
  /** Thrown when a message carries a version this code does not speak. */
  'DECODE_BAD_VERSION',
  /** Thrown by encoders when a message or field would exceed its size cap. */
  'ENCODE_TOO_LARGE',
  /** Thrown by encoders when a value cannot be encoded (integer out of range, lone surrogate, bad length). */
  'ENCODE_BAD_VALUE',
  /** Thrown when a descriptor's Ed25519 signature does not verify under its own key. */
  'DESCRIPTOR_BAD_SIGNATURE',
  /** Thrown when a descriptor's expiry time has passed (beyond the allowed clock skew). */
  'DESCRIPTOR_EXPIRED',
  /** Thrown when a descriptor's issue time is in the future (beyond the allowed clock skew). */
  'DESCRIPTOR_NOT_YET_VALID',
  /** Thrown when one descriptor list or string exceeds its cap. */
  'DESCRIPTOR_FIELD_TOO_LARGE',
  /** Thrown when a whole descriptor encoding exceeds MAX_DESCRIPTOR_SIZE. */
  'DESCRIPTOR_TOO_LARGE',
] as const;

/** Codes thrown by the protocol base. Documented in docs/errors.md. */
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

/**
 * Base class of every error @skymesh/protocol throws. The type parameter is
 * the code union of the throwing layer; see the module comment.
 */
export class ProtocolError<C extends string = ProtocolErrorCode> extends SkymeshError<C> {}

/** True when `err` is a ProtocolError (or subclass) whose code is `code`. */
export function isProtocolError(err: unknown, code?: string): err is ProtocolError<string> {
  return err instanceof ProtocolError && (code === undefined || err.code === code);
}
