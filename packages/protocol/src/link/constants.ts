/**
 * Sizes and limits of the link layer's wire format (docs/drafts/links.md).
 * Every bound a reader enforces is here, so a peer's bytes can never make a
 * reader allocate or wait for more than these.
 */
import { CELL_SIZE } from '../constants.js';

/** Version byte inside the encrypted handshake payloads. */
export const LINK_VERSION = 1;

/** Noise prologue: binds the handshake to this protocol and version. */
export const LINK_PROLOGUE = 'skymesh-link-v1';

/** Bytes of an Elligator2 representative (the ephemeral key on the wire). */
export const HS_REPR_LEN = 32;
/** Bytes of the masked length field that follows each representative. */
export const HS_LEN_FIELD = 2;
/** Bytes before a handshake message's body: representative ‖ masked length. */
export const HS_HEADER_LEN = HS_REPR_LEN + HS_LEN_FIELD;

/** Poly1305 tag after every encrypted Noise field. */
export const HS_TAG_LEN = 16;
/** Initiator payload before padding: version[1] ‖ ed25519 key[32] ‖ time ms[8]. */
export const HS_PAYLOAD1_FIXED = 1 + 32 + 8;
/** Responder payload before padding: version[1]. */
export const HS_PAYLOAD2_FIXED = 1;
/** Largest random padding a sender puts in a handshake payload (uniform 0..this). */
export const HS_PAD_MAX = 1024;

/** Smallest message-1 body: encrypted static (32+16) ‖ encrypted payload (41+16). */
export const HS_MSG1_BODY_MIN = 32 + HS_TAG_LEN + HS_PAYLOAD1_FIXED + HS_TAG_LEN;
/** Smallest message-2 body: encrypted payload (1+16). */
export const HS_MSG2_BODY_MIN = HS_PAYLOAD2_FIXED + HS_TAG_LEN;
/**
 * Largest handshake body a reader accepts. Above what this version sends
 * (min + HS_PAD_MAX) so that a later version may pad more.
 */
export const HS_BODY_MAX = 2048;
/** Largest whole handshake message (header ‖ body). */
export const HS_MESSAGE_MAX = HS_HEADER_LEN + HS_BODY_MAX;

/** How far the initiator's clock may be from the responder's (ms). */
export const HS_MAX_CLOCK_SKEW_MS = 10 * 60_000;

/** Bytes of the masked frame length that precedes each frame's ciphertext. */
export const FRAME_LEN_FIELD = 2;
/** Poly1305 tag of each frame. */
export const FRAME_TAG_LEN = 16;
/** Largest frame ciphertext (tag included): what a 16-bit length field can say. */
export const FRAME_MAX_CIPHERTEXT = 0xffff;
/** Largest frame plaintext. */
export const FRAME_MAX_PLAINTEXT = FRAME_MAX_CIPHERTEXT - FRAME_TAG_LEN;
/** Smallest frame ciphertext: one record type byte and the tag. */
export const FRAME_MIN_CIPHERTEXT = 1 + FRAME_TAG_LEN;
/** Largest thing a link writes to a transport in one piece. */
export const LINK_MAX_WRITE = Math.max(FRAME_LEN_FIELD + FRAME_MAX_CIPHERTEXT, HS_MESSAGE_MAX);

/** Record types inside a frame's plaintext. */
export const RecordType = {
  /** The rest of the frame is padding (content ignored). */
  PADDING: 0,
  /** One cell of CELL_SIZE bytes follows. */
  CELL: 1,
  /** Keepalive request: 8 opaque bytes follow, echoed in a PONG. */
  PING: 2,
  /** Keepalive answer: the 8 bytes of the PING it answers. */
  PONG: 3,
  /** The sender is closing: 1 byte reason code follows. */
  CLOSE: 4,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** Bytes of a PING / PONG id. */
export const PING_ID_LEN = 8;
/** Bytes of a CELL record. */
export const CELL_RECORD_LEN = 1 + CELL_SIZE;

/** Reason codes carried by a CLOSE record. */
export const CloseCode = {
  NORMAL: 0,
  /** Closed in favour of another link between the same two nodes. */
  DUPLICATE: 1,
  /** The node is shutting down. */
  SHUTDOWN: 2,
  /** The peer broke the protocol (never sent in practice: such links are dropped). */
  PROTOCOL: 3,
  /** The link was idle too long. */
  IDLE: 4,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Most cells one frame can carry next to `reserve` bytes of other records. */
export function maxCellsPerFrame(reserve = 0): number {
  return Math.floor((FRAME_MAX_PLAINTEXT - reserve) / CELL_RECORD_LEN);
}
