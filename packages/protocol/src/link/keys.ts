/**
 * Per-direction keys of an established link. Noise's split() gives one
 * 32-byte key per direction; each is expanded (HKDF-SHA256) into a frame
 * key and a separate key whose ChaCha20 keystream masks the frame lengths,
 * so no length field is ever sent in the clear and no key serves two uses.
 */
import { CHACHA_NONCE_LEN, chacha20poly1305Seal, hkdf, utf8 } from '@skymesh/crypto';

const FRAME_INFO = utf8('skymesh-link frame key');
const MASK_INFO = utf8('skymesh-link length mask key');

/** The two keys one direction of a link uses. */
export interface DirectionKeys {
  /** ChaCha20-Poly1305 key of the frames. */
  readonly frameKey: Uint8Array;
  /** ChaCha20 key of the length-mask keystream. */
  readonly maskKey: Uint8Array;
}

/** Expands one Noise split key into that direction's frame and mask keys. */
export function deriveDirectionKeys(splitKey: Uint8Array): DirectionKeys {
  return {
    frameKey: hkdf('sha256', splitKey, undefined, FRAME_INFO, 32),
    maskKey: hkdf('sha256', splitKey, undefined, MASK_INFO, 32),
  };
}

/** Writes the Noise-style nonce (4 zero bytes ‖ little-endian 64-bit counter) into `out`. */
export function writeNonce(out: Uint8Array, counter: number): Uint8Array {
  out.fill(0, 0, 4);
  let lo = counter >>> 0;
  let hi = Math.floor(counter / 0x1_0000_0000);
  for (let i = 4; i < 8; i++, lo >>>= 8) out[i] = lo & 0xff;
  for (let i = 8; i < CHACHA_NONCE_LEN; i++, hi >>>= 8) out[i] = hi & 0xff;
  return out;
}

const KEYSTREAM_BLOCK = 1024;
const ZEROS = new Uint8Array(KEYSTREAM_BLOCK);

/**
 * A ChaCha20 keystream, produced 1 KiB at a time: sealing zeros with the
 * AEAD yields keystream ‖ tag, and the tag is dropped. One AEAD call masks
 * 512 frame lengths, so hiding lengths costs nearly nothing per frame.
 */
export class Keystream {
  private readonly key: Uint8Array;
  private readonly nonce = new Uint8Array(CHACHA_NONCE_LEN);
  private block = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;

  constructor(key: Uint8Array) {
    this.key = key;
  }

  /** XORs the next `n` keystream bytes into `out[offset..offset+n]`. */
  xorInto(out: Uint8Array, offset: number, n: number): void {
    for (let i = 0; i < n; i++) {
      if (this.pos === this.buf.length) {
        this.buf = chacha20poly1305Seal(
          this.key,
          writeNonce(this.nonce, this.block++),
          ZEROS,
        ).subarray(0, KEYSTREAM_BLOCK);
        this.pos = 0;
      }
      out[offset + i]! ^= this.buf[this.pos++]!;
    }
  }
}
