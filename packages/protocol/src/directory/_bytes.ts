/** Small byte helpers shared by the directory modules (internal). */

const encoder = new TextEncoder();

/** Lexicographic order of two byte strings (shorter first on a common prefix). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** `domain ‖ 0x00 ‖ body`: what every directory signature covers. */
export function signedMessage(domain: string, body: Uint8Array): Uint8Array {
  const d = encoder.encode(`${domain}\0`);
  const msg = new Uint8Array(d.length + body.length);
  msg.set(d);
  msg.set(body, d.length);
  return msg;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex of a key: the directory's map key for a node (faster than an address). */
export function keyHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

/** Bytes of a lowercase hex key made by keyHex. */
export function hexKey(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
