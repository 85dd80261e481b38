/**
 * Route payloads of the end-to-end session layer: what the source and the
 * destination put in each payload of a RouteChannel. Every payload starts
 * with a one-byte type:
 *
 *   HELLO     0x01 | Noise NK message 1 (e ‖ sealed SessionParams)
 *   WELCOME   0x02 | Noise NK message 2 (e ‖ sealed SessionParams)
 *   RESUME    0x03 | sessionId(16) | epoch u32 | ack u64 | mac(32)
 *   RESUME_OK 0x04 | epoch u32 | ack u64 | mac(32)
 *   REFUSED   0x05 | code u16
 *   RECORD    0x06 | ChaCha20-Poly1305(epoch key, counter) of RecordPlaintext
 *
 * Integers are big-endian (the shared codec). The type byte is not hidden:
 * payloads already travel inside onion and link encryption.
 * docs/drafts/sessions.md explains each field.
 */
import { Reader } from '../codec/reader.js';
import { Writer } from '../codec/writer.js';
import { ProtocolError } from '../errors.js';

/** Version spoken in SessionParams; a peer with another version is refused. */
export const SESSION_VERSION = 1;
/** Bytes of a session id (derived from the handshake, secret to both ends). */
export const SESSION_ID_LEN = 16;
/** Bytes of the MAC on RESUME and RESUME_OK. */
export const RESUME_MAC_LEN = 32;
/** Bytes of the AEAD tag on every sealed record. */
export const RECORD_TAG_LEN = 16;
/** Bytes of a record's plaintext header (seq u64, ack u64). */
export const RECORD_HEADER_LEN = 16;
/** Bytes a record adds around its frames: type byte, header, tag. */
export const RECORD_OVERHEAD = 1 + RECORD_HEADER_LEN + RECORD_TAG_LEN;
/** Largest route payload the session layer decodes (Noise's limit). */
export const MAX_ROUTE_PAYLOAD = 65535;

/** The type byte of each route payload. */
export const MessageType = {
  HELLO: 0x01,
  WELCOME: 0x02,
  RESUME: 0x03,
  RESUME_OK: 0x04,
  REFUSED: 0x05,
  RECORD: 0x06,
} as const;

/** One decoded route payload. Byte fields are subarrays of the input. */
export type RouteMessage =
  | { readonly type: 'hello'; readonly noise: Uint8Array }
  | { readonly type: 'welcome'; readonly noise: Uint8Array }
  | {
      readonly type: 'resume';
      readonly sessionId: Uint8Array;
      readonly epoch: number;
      readonly ack: number;
      readonly mac: Uint8Array;
    }
  | {
      readonly type: 'resume-ok';
      readonly epoch: number;
      readonly ack: number;
      readonly mac: Uint8Array;
    }
  | { readonly type: 'refused'; readonly code: number }
  | { readonly type: 'record'; readonly sealed: Uint8Array };

/** Encodes one route payload. @throws ProtocolError ENCODE_* for out-of-range fields. */
export function encodeRouteMessage(m: RouteMessage): Uint8Array {
  const w = new Writer({ maxSize: MAX_ROUTE_PAYLOAD, initialSize: 64 });
  switch (m.type) {
    case 'hello':
      return w.u8(MessageType.HELLO).bytes(m.noise, 'noise').finish();
    case 'welcome':
      return w.u8(MessageType.WELCOME).bytes(m.noise, 'noise').finish();
    case 'resume':
      return w
        .u8(MessageType.RESUME)
        .fixed(m.sessionId, SESSION_ID_LEN, 'sessionId')
        .u32(m.epoch, 'epoch')
        .u64Number(m.ack, 'ack')
        .fixed(m.mac, RESUME_MAC_LEN, 'mac')
        .finish();
    case 'resume-ok':
      return w
        .u8(MessageType.RESUME_OK)
        .u32(m.epoch, 'epoch')
        .u64Number(m.ack, 'ack')
        .fixed(m.mac, RESUME_MAC_LEN, 'mac')
        .finish();
    case 'refused':
      return w.u8(MessageType.REFUSED).u16(m.code, 'code').finish();
    case 'record': {
      // The hot path: one allocation, no Writer.
      const out = new Uint8Array(1 + m.sealed.length);
      out[0] = MessageType.RECORD;
      out.set(m.sealed, 1);
      return out;
    }
  }
}

/** Shortest Noise NK message: a 32-byte ephemeral key and a 16-byte tag. */
const MIN_NOISE_LEN = 32 + 16;

/**
 * Decodes one route payload (structure only: MACs and ciphertexts are
 * checked by the session). Byte fields are subarrays of `payload`.
 * @throws ProtocolError DECODE_TRUNCATED | DECODE_TRAILING_BYTES | DECODE_BAD_VALUE | DECODE_TOO_LARGE
 */
export function decodeRouteMessage(payload: Uint8Array): RouteMessage {
  const r = new Reader(payload);
  if (payload.length > MAX_ROUTE_PAYLOAD) r.badValue('payload', 'longer than 65535 bytes', 0);
  const type = r.u8('type');
  switch (type) {
    case MessageType.HELLO:
    case MessageType.WELCOME: {
      if (r.remaining < MIN_NOISE_LEN) r.badValue('noise', 'shorter than a Noise NK message');
      const noise = r.rest();
      return type === MessageType.HELLO ? { type: 'hello', noise } : { type: 'welcome', noise };
    }
    case MessageType.RESUME: {
      const sessionId = r.bytes(SESSION_ID_LEN, 'sessionId');
      const epoch = r.u32('epoch');
      const ack = r.u64Number('ack');
      const mac = r.bytes(RESUME_MAC_LEN, 'mac');
      r.end('resume');
      return { type: 'resume', sessionId, epoch, ack, mac };
    }
    case MessageType.RESUME_OK: {
      const epoch = r.u32('epoch');
      const ack = r.u64Number('ack');
      const mac = r.bytes(RESUME_MAC_LEN, 'mac');
      r.end('resume-ok');
      return { type: 'resume-ok', epoch, ack, mac };
    }
    case MessageType.REFUSED: {
      const code = r.u16('code');
      r.end('refused');
      return { type: 'refused', code };
    }
    case MessageType.RECORD: {
      if (r.remaining < RECORD_HEADER_LEN + RECORD_TAG_LEN) {
        r.badValue('record', 'shorter than a record header and tag');
      }
      return { type: 'record', sealed: r.rest() };
    }
    default:
      return r.badValue('type', `unknown route message type ${type}`, 0);
  }
}

/**
 * What each side announces inside its (encrypted) handshake message.
 * Windows are the side's own receive limits: what the peer may send it.
 */
export interface SessionParams {
  /** Protocol version (SESSION_VERSION). */
  readonly version: number;
  /** Bytes the peer may send on a new stream before the first window update. */
  readonly initialWindow: number;
  /** Bytes the peer may send on all streams together before a session window update. */
  readonly sessionWindow: number;
  /** Streams the peer may have open at once (0 from the source: it accepts none). */
  readonly maxStreams: number;
  /** Seconds the destination keeps a detached session for resume (0 from the source). */
  readonly graceSeconds: number;
}

/** Encoded size of SessionParams. */
export const SESSION_PARAMS_LEN = 1 + 4 + 4 + 2 + 2;

/**
 * Encodes SessionParams:
 * version u8 | initialWindow u32 | sessionWindow u32 | maxStreams u16 | graceSeconds u16.
 */
export function encodeSessionParams(p: SessionParams): Uint8Array {
  return new Writer({ maxSize: SESSION_PARAMS_LEN, initialSize: SESSION_PARAMS_LEN })
    .u8(p.version, 'version')
    .u32(p.initialWindow, 'initialWindow')
    .u32(p.sessionWindow, 'sessionWindow')
    .u16(p.maxStreams, 'maxStreams')
    .u16(p.graceSeconds, 'graceSeconds')
    .finish();
}

/**
 * Decodes SessionParams.
 * @throws ProtocolError DECODE_BAD_VERSION for another version; DECODE_* for bad structure.
 */
export function decodeSessionParams(bytes: Uint8Array): SessionParams {
  const r = new Reader(bytes);
  const version = r.u8('version');
  if (version !== SESSION_VERSION) {
    throw new ProtocolError('DECODE_BAD_VERSION', `session version ${version} not spoken`, {
      field: 'version',
      version,
    });
  }
  const initialWindow = r.u32('initialWindow');
  const sessionWindow = r.u32('sessionWindow');
  const maxStreams = r.u16('maxStreams');
  const graceSeconds = r.u16('graceSeconds');
  r.end('params');
  return { version, initialWindow, sessionWindow, maxStreams, graceSeconds };
}
