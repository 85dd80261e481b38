/**
 * Growable writer for every Skymesh binary codec, the mirror of Reader:
 * unsigned big-endian integers, length-prefixed fields. A `maxSize` bounds
 * the whole message, so an encoder fed oversized input fails with
 * ENCODE_TOO_LARGE instead of building something no peer will accept.
 */
import { ProtocolError } from '../errors.js';
import type { LengthPrefix } from './reader.js';

/** Options of a Writer. */
export interface WriterOptions {
  /** Bytes allocated up front. @default 64 (or maxSize when smaller) */
  initialSize?: number;
  /** Largest message this writer may produce. @default 16 MiB */
  maxSize?: number;
}

const DEFAULT_MAX = 16 * 1024 * 1024;
const encoder = new TextEncoder();
const PREFIX_MAX: Record<LengthPrefix, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff };
const U64_MAX = 0xffff_ffff_ffff_ffffn;
// A lone surrogate would be replaced by U+FFFD on encoding, so the string
// would not survive a round trip: refuse it instead.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class Writer {
  readonly maxSize: number;
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(options: WriterOptions = {}) {
    this.maxSize = options.maxSize ?? DEFAULT_MAX;
    const initial = Math.min(options.initialSize ?? 64, this.maxSize);
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** Writes one byte (0..255). @throws ProtocolError ENCODE_BAD_VALUE | ENCODE_TOO_LARGE */
  u8(v: number, field = 'u8'): this {
    this.checkInt(v, 0xff, field);
    this.ensure(1, field);
    this.buf[this.pos++] = v;
    return this;
  }

  /** Writes a big-endian u16. @throws ProtocolError ENCODE_BAD_VALUE | ENCODE_TOO_LARGE */
  u16(v: number, field = 'u16'): this {
    this.checkInt(v, 0xffff, field);
    this.ensure(2, field);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }

  /** Writes a big-endian u32. @throws ProtocolError ENCODE_BAD_VALUE | ENCODE_TOO_LARGE */
  u32(v: number, field = 'u32'): this {
    this.checkInt(v, 0xffffffff, field);
    this.ensure(4, field);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }

  /** Writes a big-endian u64 from a bigint. @throws ProtocolError ENCODE_BAD_VALUE | ENCODE_TOO_LARGE */
  u64(v: bigint, field = 'u64'): this {
    if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) {
      throw new ProtocolError('ENCODE_BAD_VALUE', `${field} must be a u64 bigint`, { field });
    }
    this.ensure(8, field);
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
    return this;
  }

  /** Writes a safe non-negative integer as a big-endian u64 (Reader.u64Number reads it). */
  u64Number(v: number, field = 'u64'): this {
    this.checkInt(v, Number.MAX_SAFE_INTEGER, field);
    this.ensure(8, field);
    this.view.setUint32(this.pos, Math.floor(v / 0x1_0000_0000));
    this.view.setUint32(this.pos + 4, v >>> 0);
    this.pos += 8;
    return this;
  }

  /** Writes raw bytes. @throws ProtocolError ENCODE_TOO_LARGE */
  bytes(b: Uint8Array, field = 'bytes'): this {
    this.ensure(b.length, field);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Writes exactly `n` bytes from `b`, refusing any other length. @throws ProtocolError ENCODE_BAD_VALUE | ENCODE_TOO_LARGE */
  fixed(b: Uint8Array, n: number, field = 'bytes'): this {
    if (!(b instanceof Uint8Array) || b.length !== n) {
      throw new ProtocolError('ENCODE_BAD_VALUE', `${field} must be ${n} bytes`, {
        field,
        expected: n,
      });
    }
    return this.bytes(b, field);
  }

  /**
   * Writes `b` with a `lenBytes` length prefix; refuses more than `max` bytes.
   * @throws ProtocolError ENCODE_TOO_LARGE
   */
  varBytes(lenBytes: LengthPrefix, b: Uint8Array, max: number, field = 'varBytes'): this {
    const cap = Math.min(max, PREFIX_MAX[lenBytes] ?? 0);
    if (b.length > cap) {
      throw new ProtocolError(
        'ENCODE_TOO_LARGE',
        `${field} length ${b.length} exceeds cap ${cap}`,
        {
          field,
          length: b.length,
          max: cap,
        },
      );
    }
    if (lenBytes === 1) this.u8(b.length, field);
    else if (lenBytes === 2) this.u16(b.length, field);
    else this.u32(b.length, field);
    return this.bytes(b, field);
  }

  /**
   * Writes a length-prefixed UTF-8 string of at most `maxBytes` encoded bytes.
   * @throws ProtocolError ENCODE_TOO_LARGE | ENCODE_BAD_VALUE (lone surrogate)
   */
  utf8(lenBytes: LengthPrefix, s: string, maxBytes: number, field = 'utf8'): this {
    if (typeof s !== 'string' || LONE_SURROGATE.test(s)) {
      throw new ProtocolError('ENCODE_BAD_VALUE', `${field} must be a well-formed string`, {
        field,
      });
    }
    return this.varBytes(lenBytes, encoder.encode(s), maxBytes, field);
  }

  /**
   * The message written so far. The result is a view of the writer's buffer:
   * stop writing once it is taken.
   */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private checkInt(v: number, max: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new ProtocolError('ENCODE_BAD_VALUE', `${field} must be an integer in 0..${max}`, {
        field,
        max,
      });
    }
  }

  private ensure(n: number, field: string): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    if (need > this.maxSize) {
      throw new ProtocolError(
        'ENCODE_TOO_LARGE',
        `${field}: message would exceed ${this.maxSize} bytes`,
        { field, size: need, max: this.maxSize },
      );
    }
    let size = Math.max(this.buf.length * 2, 64);
    while (size < need) size *= 2;
    const next = new Uint8Array(Math.min(size, this.maxSize));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}
