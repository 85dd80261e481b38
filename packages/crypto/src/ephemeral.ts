/**
 * How a handshake puts its ephemeral public key on the wire. The plain codec
 * sends the 32-byte Montgomery u-coordinate; the Elligator2 codec
 * (elligator2.ts) sends a representative indistinguishable from random
 * bytes. Noise (noise/) takes a codec so the link layer can hide its keys
 * while the end-to-end layer, already inside encryption, need not pay for it.
 */
import type { X25519KeyPair } from './x25519.js';
import { x25519Generate } from './x25519.js';

export interface WireKeyPair extends X25519KeyPair {
  /** The 32 bytes sent on the wire for `publicKey`. */
  readonly wire: Uint8Array;
}

export interface EphemeralCodec {
  /** Bytes on the wire per ephemeral key. */
  readonly wireLength: number;
  /** A fresh key pair together with its wire form. */
  generate(): WireKeyPair;
  /** The X25519 public key carried by `wire` (exactly `wireLength` bytes). */
  decode(wire: Uint8Array): Uint8Array;
}

/** Sends the public key as is (Noise's default). */
export const plainEphemeralCodec: EphemeralCodec = {
  wireLength: 32,
  generate() {
    const kp = x25519Generate();
    return { ...kp, wire: kp.publicKey };
  },
  decode: (wire) => wire,
};
