/**
 * Records: what a frame's plaintext holds, one after another.
 *
 *   CELL    = 0x01 ‖ cell[CELL_SIZE]
 *   PING    = 0x02 ‖ id[8]
 *   PONG    = 0x03 ‖ id[8]          (the id of the PING it answers)
 *   CLOSE   = 0x04 ‖ code[1]
 *   PADDING = 0x00 ‖ anything       (runs to the end of the frame)
 *
 * Several cells share one frame so the AEAD and transport cost is paid per
 * batch. Padding is a record, so a frame can be padded to any length, and a
 * frame of only padding is the idle cover traffic.
 */
import { CELL_SIZE } from '../constants.js';
import {
  CELL_RECORD_LEN,
  FRAME_LEN_FIELD,
  FRAME_MAX_PLAINTEXT,
  FRAME_TAG_LEN,
  PING_ID_LEN,
  RecordType,
} from './constants.js';
import { LinkError } from './errors.js';
import type { FrameSealer } from './frame.js';

/** One decoded record (padding is skipped, never returned). */
export type LinkRecord =
  | { readonly type: 'cell'; readonly cell: Uint8Array }
  | { readonly type: 'ping'; readonly id: Uint8Array }
  | { readonly type: 'pong'; readonly id: Uint8Array }
  | { readonly type: 'close'; readonly code: number };

/**
 * Builds one frame plaintext. Capacity is fixed at construction, so a
 * builder never grows; callers check `room` before adding. The plaintext
 * is written where the frame will carry it (behind room for the length,
 * before room for the tag), so `sealWith` seals it without a copy.
 */
export class FrameBuilder {
  /** length field ‖ plaintext (capacity) ‖ tag. */
  private readonly frame: Uint8Array;
  /** The plaintext part of `frame`. */
  private readonly buf: Uint8Array;
  private len = 0;

  /** @param capacity plaintext bytes available (≤ FRAME_MAX_PLAINTEXT). */
  constructor(capacity: number = FRAME_MAX_PLAINTEXT) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > FRAME_MAX_PLAINTEXT) {
      throw new RangeError(`capacity must be 1..${FRAME_MAX_PLAINTEXT}`);
    }
    this.frame = new Uint8Array(FRAME_LEN_FIELD + capacity + FRAME_TAG_LEN);
    this.buf = this.frame.subarray(FRAME_LEN_FIELD, FRAME_LEN_FIELD + capacity);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  /** Bytes still free. */
  get room(): number {
    return this.buf.length - this.len;
  }

  /** @throws RangeError when the cell is not CELL_SIZE bytes or does not fit. */
  addCell(cell: Uint8Array): this {
    if (cell.length !== CELL_SIZE) throw new RangeError(`a cell is ${CELL_SIZE} bytes`);
    this.reserve(CELL_RECORD_LEN);
    this.buf[this.len] = RecordType.CELL;
    this.buf.set(cell, this.len + 1);
    this.len += CELL_RECORD_LEN;
    return this;
  }

  addPing(id: Uint8Array): this {
    return this.addId(RecordType.PING, id);
  }

  addPong(id: Uint8Array): this {
    return this.addId(RecordType.PONG, id);
  }

  addClose(code: number): this {
    if (!Number.isInteger(code) || code < 0 || code > 255) throw new RangeError('code is a byte');
    this.reserve(2);
    this.buf[this.len++] = RecordType.CLOSE;
    this.buf[this.len++] = code;
    return this;
  }

  /**
   * Adds a padding record of exactly `n` bytes (type byte included; n = 0
   * adds nothing). Padding runs to the end, so nothing may follow it.
   */
  addPadding(n: number): this {
    if (n === 0) return this;
    this.reserve(n);
    // The buffer is fresh (zeros), so only the type byte is written.
    this.buf[this.len] = RecordType.PADDING;
    this.len += n;
    return this;
  }

  /** The plaintext built so far (a view; the builder must not be used after). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /**
   * Seals what was built as the next frame of `sealer`, in place, and
   * returns the frame (a view; the builder must not be used after).
   * @throws RangeError when nothing was added.
   */
  sealWith(sealer: FrameSealer): Uint8Array {
    return sealer.sealInPlace(this.frame, this.len);
  }

  private addId(type: number, id: Uint8Array): this {
    if (id.length !== PING_ID_LEN) throw new RangeError(`a ping id is ${PING_ID_LEN} bytes`);
    this.reserve(1 + PING_ID_LEN);
    this.buf[this.len] = type;
    this.buf.set(id, this.len + 1);
    this.len += 1 + PING_ID_LEN;
    return this;
  }

  private reserve(n: number): void {
    if (n > this.room) throw new RangeError('record does not fit in the frame');
  }
}

/**
 * The records of one frame plaintext, in order. Cells and ids are views into
 * `plaintext` (bytes the opener owns: this frame's own, never reused).
 * @throws LinkError LINK_FRAME_RECORD on an unknown type or a truncated record.
 */
export function parseRecords(plaintext: Uint8Array): LinkRecord[] {
  const out: LinkRecord[] = [];
  let off = 0;
  while (off < plaintext.length) {
    const type = plaintext[off]!;
    switch (type) {
      case RecordType.PADDING:
        return out;
      case RecordType.CELL:
        need(plaintext, off, CELL_RECORD_LEN);
        out.push({ type: 'cell', cell: plaintext.subarray(off + 1, off + CELL_RECORD_LEN) });
        off += CELL_RECORD_LEN;
        break;
      case RecordType.PING:
      case RecordType.PONG: {
        need(plaintext, off, 1 + PING_ID_LEN);
        const id = plaintext.subarray(off + 1, off + 1 + PING_ID_LEN);
        out.push(type === RecordType.PING ? { type: 'ping', id } : { type: 'pong', id });
        off += 1 + PING_ID_LEN;
        break;
      }
      case RecordType.CLOSE:
        need(plaintext, off, 2);
        out.push({ type: 'close', code: plaintext[off + 1]! });
        off += 2;
        break;
      default:
        throw new LinkError('LINK_FRAME_RECORD', 'unknown record type', { type, offset: off });
    }
  }
  return out;
}

function need(plaintext: Uint8Array, off: number, len: number): void {
  if (plaintext.length - off < len) {
    throw new LinkError('LINK_FRAME_RECORD', 'truncated record', { offset: off });
  }
}
