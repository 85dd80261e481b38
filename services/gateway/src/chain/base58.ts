/**
 * Skycoin addresses: base58 (Bitcoin alphabet) of 25 bytes = RIPEMD-160 hash
 * [20] ‖ version [1] ‖ checksum [4], where the checksum is the first four
 * bytes of SHA-256(hash ‖ version). Unlike Bitcoin the version byte follows
 * the hash. (Facts from the Skycoin docs, as summarised in docs/drafts/gateway.md.)
 */
import { concatBytes, equalBytes, sha256 } from '@skymesh/crypto';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));

/** Decodes base58; undefined for a character outside the alphabet. */
export function base58Decode(text: string): Uint8Array | undefined {
  let n = 0n;
  for (const c of text) {
    const v = INDEX.get(c);
    if (v === undefined) return undefined;
    n = n * 58n + BigInt(v);
  }
  const out: number[] = [];
  while (n > 0n) {
    out.unshift(Number(n % 256n));
    n /= 256n;
  }
  for (const c of text) {
    if (c !== '1') break;
    out.unshift(0);
  }
  return Uint8Array.from(out);
}

/** Encodes bytes as base58. */
export function base58Encode(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)]! + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

/** The 25-byte address for a 20-byte hash and version 0. */
export function skycoinAddressFromHash(hash20: Uint8Array, version = 0): string {
  const body = concatBytes(hash20, Uint8Array.of(version));
  return base58Encode(concatBytes(body, sha256(body).subarray(0, 4)));
}

/** True for a version-0 Skycoin address with a valid checksum. */
export function isSkycoinAddress(address: string): boolean {
  if (address.length < 25 || address.length > 36) return false;
  const raw = base58Decode(address);
  if (raw?.length !== 25) return false;
  const body = raw.subarray(0, 21);
  if (body[20] !== 0) return false;
  return equalBytes(sha256(body).subarray(0, 4), raw.subarray(21));
}
