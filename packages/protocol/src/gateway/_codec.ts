/**
 * Minimal big-endian byte writer and reader for the gateway's canonical
 * encodings (what gets signed and hashed). Internal: the formats themselves
 * are documented in call.ts, receipt.ts and checkpoint.ts.
 */
import { GatewayError } from './errors.js';

/** Appends fixed-width big-endian fields to a growing buffer. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): number {
    if (this.len + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.len;
    this.len += n;
    return at;
  }

  u8(v: number): this {
    this.view.setUint8(this.reserve(1), v);
    return this;
  }

  u16(v: number): this {
    this.view.setUint16(this.reserve(2), v);
    return this;
  }

  u64(v: bigint): this {
    this.view.setBigUint64(this.reserve(8), BigInt.asUintN(64, v));
    return this;
  }

  bytes(b: Uint8Array): this {
    this.buf.set(b, this.reserve(b.length));
    return this;
  }

  /** A byte string prefixed by its u16 length. */
  vbytes(b: Uint8Array): this {
    return this.u16(b.length).bytes(b);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Reads what ByteWriter wrote; any overrun is GW_MALFORMED. */
export class ByteReader {
  private off = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private take(n: number): number {
    if (this.off + n > this.buf.length) {
      throw new GatewayError('GW_MALFORMED', 'truncated message', { at: this.off });
    }
    const at = this.off;
    this.off += n;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.take(1));
  }

  u16(): number {
    return this.view.getUint16(this.take(2));
  }

  u64(): bigint {
    return this.view.getBigUint64(this.take(8));
  }

  bytes(n: number): Uint8Array {
    const at = this.take(n);
    return this.buf.slice(at, at + n);
  }

  vbytes(): Uint8Array {
    return this.bytes(this.u16());
  }

  /** Offset of the next unread byte. */
  get offset(): number {
    return this.off;
  }

  /** @throws GatewayError GW_MALFORMED if bytes remain. */
  end(): void {
    if (this.off !== this.buf.length) {
      throw new GatewayError('GW_MALFORMED', 'trailing bytes', { at: this.off });
    }
  }
}

const DOMAIN_ENCODER = new TextEncoder();

/** A domain-separation tag: ASCII text and a NUL, so no tag is a prefix of another. */
export function domainTag(name: string): Uint8Array {
  return DOMAIN_ENCODER.encode(`${name}\0`);
}
