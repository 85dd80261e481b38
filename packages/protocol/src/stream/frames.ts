/**
 * Frames of the session layer: what a decrypted RECORD carries. A record's
 * plaintext is
 *
 *   seq u64 | ack u64 | frame*
 *
 * `seq` numbers records that carry frames (1, 2, 3, … per direction, for the
 * whole session, across routes); a record with no frames is a bare ack and
 * has seq 0. `ack` is the highest seq received in order from the peer.
 * Frames (type byte first, integers big-endian):
 *
 *   DATA    0x01 | streamId u32 | length u16 (≥ 1) | bytes
 *   OPEN    0x02 | streamId u32 | port u16 | nameLength u8 | name (UTF-8)
 *   FIN     0x03 | streamId u32
 *   RST     0x04 | streamId u32 | code u16
 *   WINDOW  0x05 | streamId u32 | delta u32 (≥ 1)   (streamId 0: the session window)
 *   CLOSE   0x06 | code u16
 *
 * docs/drafts/sessions.md gives the rules (who may send what, windows).
 */
import { Reader } from '../codec/reader.js';
import { Writer } from '../codec/writer.js';
import { ProtocolError } from '../errors.js';
import { SessionError } from './errors.js';
import { RECORD_HEADER_LEN } from './messages.js';

/** Frame type bytes. */
export const FrameType = {
  DATA: 0x01,
  OPEN: 0x02,
  FIN: 0x03,
  RST: 0x04,
  WINDOW: 0x05,
  CLOSE: 0x06,
} as const;

/** Bytes a DATA frame adds to its data. */
export const DATA_FRAME_OVERHEAD = 1 + 4 + 2;
/** Longest stream target name in UTF-8 bytes. */
export const MAX_TARGET_NAME = 255;
/** The stream id of session-level WINDOW frames. */
export const SESSION_STREAM_ID = 0;
/** Largest stream id (ids start at 1). */
export const MAX_STREAM_ID = 0xffffffff;

/**
 * What a stream connects to at the destination: a published service (name
 * and/or port) or, at an exit, a host and port. Opaque to the session layer.
 */
export interface StreamTarget {
  /** Service name or host, at most 255 UTF-8 bytes; may be empty. */
  readonly name: string;
  /** Port 0..65535. */
  readonly port: number;
}

/**
 * Checks a target can be encoded in OPEN: a well-formed string of at most
 * 255 UTF-8 bytes and an integer port 0..65535.
 * @throws SessionError SESSION_BAD_TARGET
 */
export function checkStreamTarget(target: StreamTarget): void {
  try {
    if (typeof target !== 'object' || target === null) throw new TypeError('not an object');
    new Writer({ maxSize: 3 + MAX_TARGET_NAME })
      .u16(target.port, 'port')
      .utf8(1, target.name, MAX_TARGET_NAME, 'name');
  } catch {
    throw new SessionError(
      'SESSION_BAD_TARGET',
      'a target needs a well-formed name of at most 255 UTF-8 bytes and a port 0..65535',
    );
  }
}

/** One decoded frame. `data` is a subarray of the record plaintext. */
export type Frame =
  | { readonly type: 'data'; readonly streamId: number; readonly data: Uint8Array }
  | { readonly type: 'open'; readonly streamId: number; readonly target: StreamTarget }
  | { readonly type: 'fin'; readonly streamId: number }
  | { readonly type: 'rst'; readonly streamId: number; readonly code: number }
  | { readonly type: 'window'; readonly streamId: number; readonly delta: number }
  | { readonly type: 'close'; readonly code: number };

const encoder = new TextEncoder();

/** Encoded size of `f` in bytes (OPEN names measured as UTF-8). */
export function frameLength(f: Frame): number {
  switch (f.type) {
    case 'data':
      return DATA_FRAME_OVERHEAD + f.data.length;
    case 'open':
      return 1 + 4 + 2 + 1 + encoder.encode(f.target.name).length;
    case 'fin':
      return 5;
    case 'rst':
      return 7;
    case 'window':
      return 9;
    case 'close':
      return 3;
  }
}

/**
 * Appends `f` to `w`.
 * @throws ProtocolError ENCODE_BAD_VALUE | ENCODE_TOO_LARGE for out-of-range fields
 *   (stream id 0, empty data, zero delta, name over 255 bytes, …).
 */
export function encodeFrame(w: Writer, f: Frame): void {
  if (f.type === 'close') {
    w.u8(FrameType.CLOSE).u16(f.code, 'code');
    return;
  }
  if (f.streamId < (f.type === 'window' ? 0 : 1)) {
    w.u32(-1, 'streamId'); // throws ENCODE_BAD_VALUE with the field named
  }
  switch (f.type) {
    case 'data':
      if (f.data.length < 1) w.u16(-1, 'data.length');
      w.u8(FrameType.DATA).u32(f.streamId, 'streamId').varBytes(2, f.data, 0xffff, 'data');
      return;
    case 'open':
      w.u8(FrameType.OPEN)
        .u32(f.streamId, 'streamId')
        .u16(f.target.port, 'port')
        .utf8(1, f.target.name, MAX_TARGET_NAME, 'name');
      return;
    case 'fin':
      w.u8(FrameType.FIN).u32(f.streamId, 'streamId');
      return;
    case 'rst':
      w.u8(FrameType.RST).u32(f.streamId, 'streamId').u16(f.code, 'code');
      return;
    case 'window':
      if (f.delta < 1) w.u32(-1, 'delta');
      w.u8(FrameType.WINDOW).u32(f.streamId, 'streamId').u32(f.delta, 'delta');
      return;
  }
}

/**
 * Writes `f` into `out` at offset `at` and returns the offset after it: how
 * a sender packs frames into a record buffer it reuses. DATA frames (the
 * bulk path) are written directly; the others go through encodeFrame.
 * @throws ProtocolError ENCODE_BAD_VALUE as encodeFrame, ENCODE_TOO_LARGE
 *   when the frame does not fit in `out` from `at`.
 */
export function encodeFrameInto(out: Uint8Array, at: number, f: Frame): number {
  if (f.type !== 'data' || f.data.length < 1 || f.data.length > 0xffff) {
    // Rare frames, and every invalid DATA frame (encodeFrame names the field).
    const w = new Writer({ maxSize: out.length - at });
    encodeFrame(w, f);
    const bytes = w.finish();
    out.set(bytes, at);
    return at + bytes.length;
  }
  const id = f.streamId;
  if (!Number.isInteger(id) || id < 1 || id > 0xffffffff) {
    new Writer().u32(-1, 'streamId'); // throws ENCODE_BAD_VALUE with the field named
  }
  const n = f.data.length;
  const end = at + DATA_FRAME_OVERHEAD + n;
  if (end > out.length) {
    throw new ProtocolError('ENCODE_TOO_LARGE', `data: message would exceed ${out.length} bytes`, {
      field: 'data',
      size: end,
      max: out.length,
    });
  }
  out[at] = FrameType.DATA;
  out[at + 1] = id >>> 24;
  out[at + 2] = (id >>> 16) & 0xff;
  out[at + 3] = (id >>> 8) & 0xff;
  out[at + 4] = id & 0xff;
  out[at + 5] = n >>> 8;
  out[at + 6] = n & 0xff;
  out.set(f.data, at + DATA_FRAME_OVERHEAD);
  return end;
}

/** Encodes frames into one record body (no header). */
export function encodeFrames(frames: readonly Frame[]): Uint8Array {
  let size = 0;
  for (const f of frames) size += frameLength(f);
  const w = new Writer({ maxSize: size, initialSize: size });
  for (const f of frames) encodeFrame(w, f);
  return w.finish();
}

function streamIdOf(r: Reader): number {
  const id = r.u32('streamId');
  if (id === 0) r.badValue('streamId', 'stream id 0 is reserved', r.offset - 4);
  return id;
}

/**
 * Decodes a record body into frames, in order. Data is not copied.
 * @throws ProtocolError DECODE_* for an unknown type, a truncated frame, a
 *   zero stream id, empty data, a zero delta or a name that is not UTF-8.
 */
export function decodeFrames(body: Uint8Array): Frame[] {
  const r = new Reader(body);
  const frames: Frame[] = [];
  while (r.remaining > 0) {
    const type = r.u8('frameType');
    switch (type) {
      case FrameType.DATA: {
        const streamId = streamIdOf(r);
        const data = r.varBytes(2, 0xffff, 'data');
        if (data.length === 0) r.badValue('data', 'empty DATA frame');
        frames.push({ type: 'data', streamId, data });
        break;
      }
      case FrameType.OPEN: {
        const streamId = streamIdOf(r);
        const port = r.u16('port');
        const name = r.utf8(1, MAX_TARGET_NAME, 'name');
        frames.push({ type: 'open', streamId, target: { name, port } });
        break;
      }
      case FrameType.FIN:
        frames.push({ type: 'fin', streamId: streamIdOf(r) });
        break;
      case FrameType.RST: {
        const streamId = streamIdOf(r);
        frames.push({ type: 'rst', streamId, code: r.u16('code') });
        break;
      }
      case FrameType.WINDOW: {
        // Stream 0 is the session as a whole: its window covers all streams.
        const streamId = r.u32('streamId');
        const delta = r.u32('delta');
        if (delta === 0) r.badValue('delta', 'zero window update');
        frames.push({ type: 'window', streamId, delta });
        break;
      }
      case FrameType.CLOSE:
        frames.push({ type: 'close', code: r.u16('code') });
        break;
      default:
        r.badValue('frameType', `unknown frame type ${type}`, r.offset - 1);
    }
  }
  return frames;
}

/** A decrypted record: its sequence number, the peer's ack and its frames' bytes. */
export interface RecordPlaintext {
  /** 0 for a bare ack (no frames), else the record's sequence number. */
  readonly seq: number;
  /** Highest sequence number the sender has received in order. */
  readonly ack: number;
  /** Encoded frames (decodeFrames), a subarray of the input. */
  readonly body: Uint8Array;
}

/**
 * Writes `seq` and `ack` into the first 16 bytes of `record` (a record
 * plaintext whose frames follow), in place. Lets a sender build frames once
 * behind a blank header and re-stamp the ack each time it (re)sends.
 */
export function setRecordHeader(record: Uint8Array, seq: number, ack: number): void {
  if (record.length < RECORD_HEADER_LEN) throw new RangeError('record shorter than its header');
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError('seq must be a safe integer');
  if (!Number.isSafeInteger(ack) || ack < 0) throw new RangeError('ack must be a safe integer');
  // Byte by byte: no DataView per record on the bulk path.
  putU64(record, 0, seq);
  putU64(record, 8, ack);
}

/** Writes a safe non-negative integer as a big-endian u64 at `at`. */
function putU64(out: Uint8Array, at: number, v: number): void {
  const hi = Math.floor(v / 0x1_0000_0000);
  const lo = v >>> 0;
  out[at] = hi >>> 24;
  out[at + 1] = (hi >>> 16) & 0xff;
  out[at + 2] = (hi >>> 8) & 0xff;
  out[at + 3] = hi & 0xff;
  out[at + 4] = lo >>> 24;
  out[at + 5] = (lo >>> 16) & 0xff;
  out[at + 6] = (lo >>> 8) & 0xff;
  out[at + 7] = lo & 0xff;
}

/** Builds a record's plaintext: seq u64 | ack u64 | body. */
export function encodeRecordPlaintext(seq: number, ack: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_LEN + body.length);
  out.set(body, RECORD_HEADER_LEN);
  setRecordHeader(out, seq, ack);
  return out;
}

/**
 * Splits a record's plaintext. A record with frames must have seq ≥ 1; a
 * bare ack must have seq 0.
 * @throws ProtocolError DECODE_TRUNCATED | DECODE_BAD_VALUE
 */
export function decodeRecordPlaintext(pt: Uint8Array): RecordPlaintext {
  const r = new Reader(pt);
  const seq = r.u64Number('seq');
  const ack = r.u64Number('ack');
  const body = r.rest();
  if ((seq === 0) !== (body.length === 0)) {
    r.badValue(
      'seq',
      seq === 0 ? 'frames in an unsequenced record' : 'sequenced record without frames',
      0,
    );
  }
  return { seq, ack, body };
}
