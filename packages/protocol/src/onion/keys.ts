/**
 * Per-hop key schedule and the two stream primitives every layer is built
 * from. Each hop shares one X25519 secret with the source; HKDF-SHA256 turns
 * it into independent keys, so no key serves two purposes.
 *
 * The stream primitives are IETF ChaCha20 from @skymesh/crypto (the native
 * backend on Node), starting at block 1 — the keystream ChaCha20-Poly1305
 * encrypts with (block 0 is its Poly1305 key), so these layers are byte for
 * byte what sealing with the AEAD and dropping the tag gave before, without
 * paying for the tag. `chacha20Xor` writes into a caller's array, so the
 * data path layers cells without allocating.
 */
import { chacha20Xor, hkdf, utf8 } from '@skymesh/crypto';
import { TOKEN_SIZE } from './constants.js';

/** Everything one hop and the source derive from their shared secret. */
export interface HopKeys {
  /** Stream key for the routing-information block β. */
  readonly rho: Uint8Array;
  /** MAC key for γ. */
  readonly mu: Uint8Array;
  /** AEAD key of this hop's forward data layer (source → destination). */
  readonly forward: Uint8Array;
  /** Key of this hop's backward layer (stream layer at relays, AEAD at the end). */
  readonly backward: Uint8Array;
  /** Replay-cache tag of the setup packet at this hop. */
  readonly replayTag: Uint8Array;
  /** Token this hop shares with its successor (teardown and flow control). */
  readonly nextToken: Uint8Array;
}

const KEY_INFO = utf8('skymesh route v1 hop keys');
const KEYS_LEN = 32 * 4 + 16 + TOKEN_SIZE;

/**
 * Derives a hop's keys from the X25519 secret it shares with the source.
 * `alpha` (the ephemeral key on the wire) salts the derivation, binding the
 * keys to this one packet.
 */
export function deriveHopKeys(shared: Uint8Array, alpha: Uint8Array): HopKeys {
  const okm = hkdf('sha256', shared, alpha, KEY_INFO, KEYS_LEN);
  return {
    rho: okm.slice(0, 32),
    mu: okm.slice(32, 64),
    forward: okm.slice(64, 96),
    backward: okm.slice(96, 128),
    replayTag: okm.slice(128, 144),
    nextToken: okm.slice(144, 144 + TOKEN_SIZE),
  };
}

/** Nonce domains, so the same key never meets the same nonce for two purposes. */
export const NonceDomain = {
  SETUP: 0,
  FORWARD: 1,
  BACKWARD: 2,
} as const;

/**
 * A 12-byte nonce: domain (u8) ‖ 3 zero bytes ‖ counter (u64, big-endian).
 * Counters are safe integers; a route never gets near 2^53 cells.
 */
export function layerNonce(domain: number, counter: number): Uint8Array {
  return writeLayerNonce(new Uint8Array(12), domain, counter);
}

/** Writes layerNonce(domain, counter) into `n` (12 bytes) and returns it. */
export function writeLayerNonce(n: Uint8Array, domain: number, counter: number): Uint8Array {
  n[0] = domain;
  n[1] = 0;
  n[2] = 0;
  n[3] = 0;
  const hi = Math.floor(counter / 0x1_0000_0000);
  const lo = counter >>> 0;
  n[4] = hi >>> 24;
  n[5] = (hi >>> 16) & 0xff;
  n[6] = (hi >>> 8) & 0xff;
  n[7] = hi & 0xff;
  n[8] = lo >>> 24;
  n[9] = (lo >>> 16) & 0xff;
  n[10] = (lo >>> 8) & 0xff;
  n[11] = lo & 0xff;
  return n;
}

/** ChaCha20 block the layer keystreams start at (block 0 keys the AEAD's Poly1305). */
const STREAM_BLOCK = 1;

/** The first `length` bytes of ChaCha20's keystream for (key, nonce), from block 1. */
export function keystream(key: Uint8Array, nonce: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  chacha20Xor(out, key, nonce, STREAM_BLOCK, out);
  return out;
}

/** `data` ⊕ keystream(key, nonce): encrypts and decrypts alike (length-preserving). */
export function streamXor(key: Uint8Array, nonce: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  chacha20Xor(out, key, nonce, STREAM_BLOCK, data);
  return out;
}

/** streamXor into `out` (data.length bytes; may be `data` itself). */
export function streamXorInto(
  out: Uint8Array,
  key: Uint8Array,
  nonce: Uint8Array,
  data: Uint8Array,
): void {
  chacha20Xor(out, key, nonce, STREAM_BLOCK, data);
}
