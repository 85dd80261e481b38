/**
 * Bounds-checked reader for every Skymesh binary codec. All integers are
 * unsigned big-endian; variable-length fields carry a 1-, 2- or 4-byte
 * length prefix whose cap is checked before any byte is taken, so an
 * untrusted length can never make a decoder read past its input or allocate.
 * Byte fields are returned as subarrays of the input (no copy): callers that
 * keep them beyond the input's lifetime copy them.
 */
import { ProtocolError } from '../errors.js';

/** Size in bytes of a length prefix. */
export type LengthPrefix = 1 | 2 | 4;

// One fatal decoder for the whole package: invalid UTF-8 is an error, never U+FFFD.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class Reader {
  private readonly input: Uint8Array;
  private readonly view: DataView;
  private pos = 0;

  constructor(input: Uint8Array) {
    this.input = input;
    this.view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.pos;
  }

  /** Bytes not yet consumed. */
  get remaining(): number {
    return this.input.length - this.pos;
  }

  /** Reads one byte. @throws ProtocolError DECODE_TRUNCATED */
  u8(field = 'u8'): number {
    if (this.pos >= this.input.length) this.truncated(field, 1);
    return this.input[this.pos++]!;
  }

  /** Reads a big-endian u16. @throws ProtocolError DECODE_TRUNCATED */
  u16(field = 'u16'): number {
    if (this.input.length - this.pos < 2) this.truncated(field, 2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  /** Reads a big-endian u32. @throws ProtocolError DECODE_TRUNCATED */
  u32(field = 'u32'): number {
    if (this.input.length - this.pos < 4) this.truncated(field, 4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** Reads a big-endian u64 as a bigint. @throws ProtocolError DECODE_TRUNCATED */
  u64(field = 'u64'): bigint {
    if (this.input.length - this.pos < 8) this.truncated(field, 8);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  /**
   * Reads a big-endian u64 that must fit a JS safe integer (≤ 2^53 − 1), for
   * times, counters and sequence numbers handled as numbers.
   * @throws ProtocolError DECODE_TRUNCATED | DECODE_BAD_VALUE
   */
  u64Number(field = 'u64'): number {
    if (this.input.length - this.pos < 8) this.truncated(field, 8);
    const hi = this.view.getUint32(this.pos);
    if (hi > 0x1fffff) this.badValue(field, 'exceeds 2^53 - 1', this.pos);
    const v = hi * 0x1_0000_0000 + this.view.getUint32(this.pos + 4);
    this.pos += 8;
    return v;
  }

  /**
   * Takes `n` bytes as a subarray of the input (no copy).
   * @throws ProtocolError DECODE_TRUNCATED | DECODE_BAD_VALUE (n negative or not an integer)
   */
  bytes(n: number, field = 'bytes'): Uint8Array {
    this.checkCount(n, field);
    if (this.input.length - this.pos < n) this.truncated(field, n);
    const out = this.input.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /**
   * Reads a length prefix of `lenBytes`, checks it against `max`, then takes
   * that many bytes (subarray, no copy).
   * @throws ProtocolError DECODE_TRUNCATED | DECODE_TOO_LARGE
   */
  varBytes(lenBytes: LengthPrefix, max: number, field = 'varBytes'): Uint8Array {
    const at = this.pos;
    const n = this.length(lenBytes, field);
    if (n > max) {
      throw new ProtocolError('DECODE_TOO_LARGE', `${field} length ${n} exceeds cap ${max}`, {
        field,
        offset: at,
        length: n,
        max,
      });
    }
    return this.bytes(n, field);
  }

  /**
   * Reads a length-prefixed UTF-8 string of at most `maxBytes` encoded bytes.
   * @throws ProtocolError DECODE_TRUNCATED | DECODE_TOO_LARGE | DECODE_BAD_VALUE (invalid UTF-8)
   */
  utf8(lenBytes: LengthPrefix, maxBytes: number, field = 'utf8'): string {
    const at = this.pos;
    const raw = this.varBytes(lenBytes, maxBytes, field);
    try {
      return utf8Decoder.decode(raw);
    } catch {
      return this.badValue(field, 'invalid UTF-8', at);
    }
  }

  /** Takes everything left (subarray, no copy). */
  rest(): Uint8Array {
    const out = this.input.subarray(this.pos);
    this.pos = this.input.length;
    return out;
  }

  /** Skips `n` bytes. @throws ProtocolError DECODE_TRUNCATED | DECODE_BAD_VALUE (bad n) */
  skip(n: number, field = 'skip'): void {
    this.checkCount(n, field);
    if (this.input.length - this.pos < n) this.truncated(field, n);
    this.pos += n;
  }

  /** Asserts the whole input was consumed. @throws ProtocolError DECODE_TRAILING_BYTES */
  end(field = 'message'): void {
    if (this.pos !== this.input.length) {
      throw new ProtocolError(
        'DECODE_TRAILING_BYTES',
        `${field}: ${this.input.length - this.pos} bytes left after the last field`,
        { field, offset: this.pos, remaining: this.input.length - this.pos },
      );
    }
  }

  /**
   * Throws DECODE_BAD_VALUE for `field`, at `offset` (default: the current
   * position). For decoders' own checks (enums, flags, ranges), so every
   * codec reports bad values the same way.
   */
  badValue(field: string, reason: string, offset = this.pos): never {
    throw new ProtocolError('DECODE_BAD_VALUE', `${field}: ${reason}`, { field, offset });
  }

  private length(lenBytes: LengthPrefix, field: string): number {
    switch (lenBytes) {
      case 1:
        return this.u8(field);
      case 2:
        return this.u16(field);
      case 4:
        return this.u32(field);
      default:
        throw new ProtocolError('DECODE_BAD_VALUE', `bad length prefix size ${String(lenBytes)}`, {
          field,
        });
    }
  }

  // A length computed from untrusted fields (say `len - 16`) can go negative
  // or fractional; taking it would move the position backwards.
  private checkCount(n: number, field: string): void {
    if (!Number.isInteger(n) || n < 0) this.badValue(field, `invalid length ${n}`);
  }

  private truncated(field: string, needed: number): never {
    throw new ProtocolError(
      'DECODE_TRUNCATED',
      `${field}: needs ${needed} bytes at offset ${this.pos}, ${this.input.length - this.pos} left`,
      { field, offset: this.pos, needed, remaining: this.input.length - this.pos },
    );
  }
}
