/**
 * A node's or account's long-term identity: one Ed25519 key pair. Its
 * X25519 key for Diffie-Hellman is derived from it (docs/protocol.md §Keys),
 * so one public key is at once the address, the signature key and the
 * DH key, and nothing else has to be published or bound.
 */
import { encodeAddress } from './address.js';
import { ed25519PublicKey, ed25519SeedToX25519, ed25519Sign } from './ed25519.js';
import { assertLength } from './errors.js';
import { backend } from './select.js';
import { x25519PublicKey } from './x25519.js';

export class Identity {
  /** 32-byte Ed25519 seed: the only secret to store. */
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  /** X25519 secret and public key derived from the seed. */
  readonly dhSecretKey: Uint8Array;
  readonly dhPublicKey: Uint8Array;
  readonly address: string;

  private constructor(seed: Uint8Array) {
    this.seed = seed;
    this.publicKey = ed25519PublicKey(seed);
    this.dhSecretKey = ed25519SeedToX25519(seed);
    this.dhPublicKey = x25519PublicKey(this.dhSecretKey);
    this.address = encodeAddress(this.publicKey);
  }

  static generate(): Identity {
    return new Identity(backend().randomBytes(32));
  }

  static fromSeed(seed: Uint8Array): Identity {
    assertLength(seed, 32, 'seed');
    return new Identity(seed.slice());
  }

  sign(message: Uint8Array): Uint8Array {
    return ed25519Sign(this.seed, message);
  }
}
