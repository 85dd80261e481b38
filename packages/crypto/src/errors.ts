/**
 * Errors shared by every Skymesh package. Each failure has a stable `code`
 * (SCREAMING_SNAKE_CASE) that callers and tests match on; messages are for
 * people and may change. `details` carries serialisable context.
 */
export class SkymeshError<C extends string = string> extends Error {
  readonly code: C;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: C, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.details = details;
    this.name = new.target.name;
  }

  toJSON(): { code: C; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: { ...this.details } };
  }
}

/** Codes thrown by @skymesh/crypto. Documented in docs/errors.md. */
export type CryptoErrorCode =
  | 'CRYPTO_BAD_LENGTH'
  | 'CRYPTO_AEAD_AUTH_FAILED'
  | 'CRYPTO_DH_LOW_ORDER'
  | 'CRYPTO_BAD_SIGNATURE_KEY'
  | 'CRYPTO_NOT_REPRESENTABLE'
  | 'CRYPTO_BAD_OVERLAP'
  | 'ADDRESS_BAD_LENGTH'
  | 'ADDRESS_BAD_CHARACTER'
  | 'ADDRESS_BAD_CHECKSUM'
  | 'ADDRESS_BAD_VERSION'
  | 'ADDRESS_BAD_KEY'
  | 'NOISE_BAD_STATE'
  | 'NOISE_BAD_MESSAGE'
  | 'NOISE_DECRYPT_FAILED'
  | 'NOISE_NONCE_EXHAUSTED'
  | 'NOISE_MISSING_KEY'
  | 'NOISE_UNSUPPORTED';

/** Thrown when a cryptographic operation gets bad input or fails a check. */
export class CryptoError extends SkymeshError<CryptoErrorCode> {}

/** Throws CRYPTO_BAD_LENGTH unless `bytes` is a Uint8Array of exactly `len` bytes. */
export function assertLength(bytes: Uint8Array, len: number, field: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== len) {
    throw new CryptoError(
      'CRYPTO_BAD_LENGTH',
      `${field} must be ${len} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`,
      { field, expected: len, actual: bytes instanceof Uint8Array ? bytes.length : null },
    );
  }
}
