/**
 * Frames: the encrypted unit of an established link.
 *
 *   frame = masked_len[2] ‖ ChaCha20-Poly1305(frameKey, nonce_n, plaintext)
 *   masked_len = len(ciphertext ‖ tag) XOR next 2 bytes of the mask keystream
 *   nonce_n = 0[4] ‖ LE64(n), n = 0, 1, 2 … per direction
 *
 * Nothing is in the clear: the length is masked with a keystream only the
 * two ends know and every other byte is AEAD output. A changed, dropped,
 * replayed or reordered frame fails the tag (the counter is implicit), and
 * the link is dropped. The plaintext is a sequence of records (records.ts).
 *
 * Transports may split or merge the bytes anyhow: FrameOpener reads a byte
 * stream and never holds more than one frame.
 */
import {
  CHACHA_NONCE_LEN,
  chacha20poly1305OpenInto,
  chacha20poly1305SealInto,
} from '@skymesh/crypto';
import {
  FRAME_LEN_FIELD,
  FRAME_MAX_CIPHERTEXT,
  FRAME_MAX_PLAINTEXT,
  FRAME_MIN_CIPHERTEXT,
  FRAME_TAG_LEN,
} from './constants.js';
import { LinkError } from './errors.js';
import { type DirectionKeys, Keystream, writeNonce } from './keys.js';

/** Encrypts plaintexts into frames for one direction of a link. */
export class FrameSealer {
  private readonly frameKey: Uint8Array;
  private readonly mask: Keystream;
  private readonly nonce = new Uint8Array(CHACHA_NONCE_LEN);
  private counter = 0;

  constructor(keys: DirectionKeys) {
    this.frameKey = keys.frameKey;
    this.mask = new Keystream(keys.maskKey);
  }

  /** Frames sealed so far. */
  get count(): number {
    return this.counter;
  }

  /**
   * The frame carrying `plaintext` (1..FRAME_MAX_PLAINTEXT bytes).
   * @throws RangeError when the plaintext is empty or too long.
   */
  seal(plaintext: Uint8Array): Uint8Array {
    if (plaintext.length < 1 || plaintext.length > FRAME_MAX_PLAINTEXT) {
      throw new RangeError(`frame plaintext must be 1..${FRAME_MAX_PLAINTEXT} bytes`);
    }
    const out = new Uint8Array(FRAME_LEN_FIELD + plaintext.length + FRAME_TAG_LEN);
    out.set(plaintext, FRAME_LEN_FIELD);
    return this.sealInPlace(out, plaintext.length);
  }

  /**
   * Seals a frame laid out in `buf` as room for the length ‖ plaintext of
   * `length` bytes ‖ room for the tag, in place, and returns the frame (a
   * view of `buf`). FrameBuilder lays its buffer out so (see `sealWith`).
   * @throws RangeError when the plaintext is empty or too long, or `buf` too short.
   */
  sealInPlace(buf: Uint8Array, length: number): Uint8Array {
    if (length < 1 || length > FRAME_MAX_PLAINTEXT) {
      throw new RangeError(`frame plaintext must be 1..${FRAME_MAX_PLAINTEXT} bytes`);
    }
    const sealedLen = length + FRAME_TAG_LEN;
    if (buf.length < FRAME_LEN_FIELD + sealedLen) throw new RangeError('frame buffer too short');
    chacha20poly1305SealInto(
      buf.subarray(FRAME_LEN_FIELD, FRAME_LEN_FIELD + sealedLen),
      this.frameKey,
      writeNonce(this.nonce, this.counter++),
      buf.subarray(FRAME_LEN_FIELD, FRAME_LEN_FIELD + length),
    );
    buf[0] = sealedLen >>> 8;
    buf[1] = sealedLen & 0xff;
    this.mask.xorInto(buf, 0, FRAME_LEN_FIELD);
    return buf.subarray(0, FRAME_LEN_FIELD + sealedLen);
  }
}

/**
 * Reads a byte stream of frames for one direction of a link and returns
 * their plaintexts. Holds at most one partial frame (≤ 64 KiB). A frame
 * that arrives whole in one chunk is decrypted in place: the chunk given
 * to push() belongs to the opener from then on (transports hand over
 * fresh arrays), and the plaintexts returned are views of it.
 */
export class FrameOpener {
  private readonly frameKey: Uint8Array;
  private readonly mask: Keystream;
  private readonly nonce = new Uint8Array(CHACHA_NONCE_LEN);
  private counter = 0;
  private readonly head = new Uint8Array(FRAME_LEN_FIELD);
  private headFill = 0;
  /** Ciphertext length of the frame being read, or -1 while reading its length. */
  private need = -1;
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private failed = false;

  constructor(keys: DirectionKeys) {
    this.frameKey = keys.frameKey;
    this.mask = new Keystream(keys.maskKey);
  }

  /** Frames opened so far. */
  get count(): number {
    return this.counter;
  }

  /** Bytes held of a frame not yet complete. */
  get buffered(): number {
    return this.need < 0 ? this.headFill : FRAME_LEN_FIELD + this.bodyFill;
  }

  /**
   * Consumes `chunk` and returns the plaintext of every frame it completes.
   * After a throw the opener stays failed (every later call throws too).
   * @throws LinkError LINK_FRAME_LENGTH | LINK_FRAME_AUTH
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed) throw new LinkError('LINK_FRAME_AUTH', 'link already failed');
    const out: Uint8Array[] = [];
    let off = 0;
    try {
      while (off < chunk.length) {
        if (this.need < 0) {
          const take = Math.min(FRAME_LEN_FIELD - this.headFill, chunk.length - off);
          this.head.set(chunk.subarray(off, off + take), this.headFill);
          this.headFill += take;
          off += take;
          if (this.headFill < FRAME_LEN_FIELD) break;
          this.mask.xorInto(this.head, 0, FRAME_LEN_FIELD);
          const len = (this.head[0]! << 8) | this.head[1]!;
          if (len < FRAME_MIN_CIPHERTEXT || len > FRAME_MAX_CIPHERTEXT) {
            throw new LinkError('LINK_FRAME_LENGTH', 'frame length out of range', { length: len });
          }
          this.need = len;
          this.headFill = 0;
          this.bodyFill = 0;
          // A whole frame inside the chunk is opened in place, without a copy.
          if (chunk.length - off >= len) {
            out.push(this.open(chunk.subarray(off, off + len)));
            off += len;
            this.need = -1;
            continue;
          }
          this.body = new Uint8Array(len);
        }
        const body = this.body!;
        const take = Math.min(this.need - this.bodyFill, chunk.length - off);
        body.set(chunk.subarray(off, off + take), this.bodyFill);
        this.bodyFill += take;
        off += take;
        if (this.bodyFill === this.need) {
          this.body = undefined;
          this.need = -1;
          out.push(this.open(body));
        }
      }
    } catch (err) {
      this.failed = true;
      this.body = undefined;
      throw err;
    }
    return out;
  }

  private open(sealed: Uint8Array): Uint8Array {
    const pt = sealed.subarray(0, sealed.length - FRAME_TAG_LEN);
    const nonce = writeNonce(this.nonce, this.counter++);
    if (!chacha20poly1305OpenInto(pt, this.frameKey, nonce, sealed)) {
      throw new LinkError('LINK_FRAME_AUTH', 'frame failed authentication', {
        frame: this.counter - 1,
      });
    }
    return pt;
  }
}

/** Bytes a frame of `plaintextLength` takes on the wire. */
export function frameWireLength(plaintextLength: number): number {
  return FRAME_LEN_FIELD + plaintextLength + FRAME_TAG_LEN;
}
