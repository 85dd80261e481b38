/**
 * base64url without padding (RFC 4648 §5), for binary blobs inside JSON
 * (descriptor files, API bodies). Decoding is strict: one text per byte
 * string, so a signed blob has exactly one JSON form.
 */
import { ProtocolError } from '../errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LOOKUP = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/** Encodes bytes as unpadded base64url. */
export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + ALPHABET[(v >>> 6) & 63]!;
    out += ALPHABET[v & 63]!;
  }
  const left = bytes.length - i;
  if (left === 1) {
    const v = bytes[i]!;
    out += ALPHABET[v >>> 2]! + ALPHABET[(v & 3) << 4]!;
  } else if (left === 2) {
    const v = (bytes[i]! << 8) | bytes[i + 1]!;
    out += ALPHABET[v >>> 10]! + ALPHABET[(v >>> 4) & 63]! + ALPHABET[(v & 15) << 2]!;
  }
  return out;
}

/**
 * Decodes unpadded base64url, refusing `=`, other characters, an impossible
 * length and non-zero trailing bits. At most `maxBytes` output bytes, checked
 * before allocating.
 * @throws ProtocolError DECODE_BAD_VALUE | DECODE_TOO_LARGE
 */
export function fromBase64Url(text: string, maxBytes: number, field = 'base64url'): Uint8Array {
  if (typeof text !== 'string' || text.length % 4 === 1) {
    throw new ProtocolError('DECODE_BAD_VALUE', `${field}: not base64url`, { field });
  }
  const outLen = Math.floor((text.length * 3) / 4);
  if (outLen > maxBytes) {
    throw new ProtocolError(
      'DECODE_TOO_LARGE',
      `${field}: ${outLen} bytes exceed cap ${maxBytes}`,
      {
        field,
        length: outLen,
        max: maxBytes,
      },
    );
  }
  const out = new Uint8Array(outLen);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c]! : -1;
    if (v < 0) {
      throw new ProtocolError('DECODE_BAD_VALUE', `${field}: bad character at ${i}`, {
        field,
        offset: i,
      });
    }
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) {
    throw new ProtocolError('DECODE_BAD_VALUE', `${field}: non-zero trailing bits`, { field });
  }
  return out;
}
