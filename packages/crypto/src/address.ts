/**
 * Skymesh addresses: the node's Ed25519 public key as one lowercase DNS
 * label, so `<address>.mesh` works in URLs and SOCKS hostnames.
 *
 *   address = base32( pubkey[32] ‖ checksum[3] ‖ version[1] )   → 58 characters
 *   checksum = SHA-256("skymesh address" ‖ version ‖ pubkey)[0..3]
 *
 * base32 is RFC 4648's alphabet in lowercase, without padding; 36 bytes give
 * 288 bits, so the 58th character carries 2 bits and its 3 low bits must be
 * zero (one text per address). A 24-bit checksum lets a random typo through
 * with probability 2^-24.
 */
import { concatBytes, utf8 } from './bytes.js';
import { ed25519PublicToX25519 } from './ed25519.js';
import { CryptoError } from './errors.js';
import { sha256 } from './hash.js';

export const ADDRESS_VERSION = 1;
export const ADDRESS_LENGTH = 58;
export const MESH_TLD = '.mesh';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const LOOKUP = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;
const CHECKSUM_PREFIX = utf8('skymesh address');

function checksum(pub: Uint8Array, version: number): Uint8Array {
  return sha256(concatBytes(CHECKSUM_PREFIX, Uint8Array.of(version), pub)).subarray(0, 3);
}

function base32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/** The address of an Ed25519 public key. */
export function encodeAddress(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) {
    throw new CryptoError('ADDRESS_BAD_LENGTH', 'an address encodes a 32-byte public key');
  }
  return base32(
    concatBytes(publicKey, checksum(publicKey, ADDRESS_VERSION), Uint8Array.of(ADDRESS_VERSION)),
  );
}

/**
 * Parses an address (optionally ending in `.mesh`; surrounding case is
 * folded) and returns the Ed25519 public key.
 * @throws CryptoError ADDRESS_BAD_LENGTH | ADDRESS_BAD_CHARACTER | ADDRESS_BAD_CHECKSUM |
 *   ADDRESS_BAD_VERSION | ADDRESS_BAD_KEY
 */
export function parseAddress(text: string): Uint8Array {
  let s = typeof text === 'string' ? text.toLowerCase() : '';
  if (s.endsWith(MESH_TLD)) s = s.slice(0, -MESH_TLD.length);
  if (s.length !== ADDRESS_LENGTH) {
    throw new CryptoError(
      'ADDRESS_BAD_LENGTH',
      `an address has ${ADDRESS_LENGTH} characters, got ${s.length}`,
      { length: s.length },
    );
  }
  const out = new Uint8Array(36);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const v = code < 128 ? LOOKUP[code]! : -1;
    if (v < 0) {
      throw new CryptoError(
        'ADDRESS_BAD_CHARACTER',
        `bad character ${JSON.stringify(s[i])} at ${i}`,
        {
          position: i,
        },
      );
    }
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      out[o++] = (acc >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) {
    throw new CryptoError('ADDRESS_BAD_CHECKSUM', 'address has non-zero trailing bits');
  }
  const pub = out.subarray(0, 32);
  const version = out[35]!;
  const sum = checksum(pub, version);
  if (sum[0] !== out[32] || sum[1] !== out[33] || sum[2] !== out[34]) {
    throw new CryptoError('ADDRESS_BAD_CHECKSUM', 'address checksum does not match (mistyped?)');
  }
  if (version !== ADDRESS_VERSION) {
    throw new CryptoError('ADDRESS_BAD_VERSION', `unknown address version ${version}`, { version });
  }
  try {
    ed25519PublicToX25519(pub);
  } catch {
    throw new CryptoError('ADDRESS_BAD_KEY', 'address does not hold a valid Ed25519 public key');
  }
  return pub.slice();
}

/** True when `text` parses as an address. */
export function isAddress(text: string): boolean {
  try {
    parseAddress(text);
    return true;
  } catch {
    return false;
  }
}
