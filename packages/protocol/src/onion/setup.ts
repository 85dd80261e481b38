/**
 * The one-pass route setup packet (Sphinx-style, fixed size for 1..MAX_HOPS
 * hops). Layout, SETUP_PACKET_SIZE = 1968 bytes:
 *
 *   α  32    ephemeral X25519 public key for this hop
 *   γ  16    BLAKE2b-128 MAC, keyed by the hop's μ key, over α ‖ β
 *   β  1920  routing information: MAX_HOPS slots of SLOT_SIZE, encrypted
 *
 * A hop computes s = X25519(its DH secret, α), derives its keys, checks γ,
 * XORs (β ‖ 0^SLOT) with its ρ keystream, reads its slot from the first
 * SLOT_SIZE bytes and passes the remaining ROUTING_INFO_SIZE bytes on as the
 * next β. Because every hop shifts by one slot and appends keystream, β
 * always has the same length and looks random to each hop: the source
 * precomputes those appended bytes (the filler) so the MACs of later hops
 * cover them. No hop can tell how many hops precede or follow it.
 *
 * Each hop gets a fresh ephemeral key, carried (as the next α) inside the
 * previous hop's slot, rather than one key blinded at every hop: a hop then
 * does one X25519 instead of two, and the 32 bytes per slot fit the packet.
 *
 * Slot (SLOT_SIZE = 240 bytes), after decryption:
 *
 *   0    kind        u8   1 = relay, 2 = destination
 *   1    timestamp   u32  source clock, seconds since 1970 (freshness window)
 *   5    next key    32   successor's Ed25519 key (relay; zero at the destination)
 *   37   next α      32   successor's ephemeral key (relay)
 *   69   next γ      16   successor's MAC (relay)
 *   85   prev token  16   token shared with the predecessor (teardown, flow control)
 *   101  voucher     128  payment voucher for this hop (opaque; zero-padded)
 *   229  reserved    11   zero
 */
import {
  blake2b,
  ed25519PublicToX25519,
  equalBytes,
  randomBytes,
  x25519,
  x25519Generate,
} from '@skymesh/crypto';
import { MAX_HOPS } from '../constants.js';
import {
  ROUTING_INFO_SIZE,
  SETUP_MAC_SIZE,
  SETUP_PACKET_SIZE,
  SLOT_SIZE,
  SlotKind,
  TOKEN_SIZE,
  VOUCHER_SIZE,
} from './constants.js';
import { OnionError } from './errors.js';
import { deriveHopKeys, type HopKeys, keystream, layerNonce, NonceDomain } from './keys.js';
import type { ReplayCache } from './replay.js';

/** Default accepted difference between a setup packet's timestamp and the hop's clock. */
export const SETUP_MAX_SKEW_MS = 60_000;

const OFF_KIND = 0;
const OFF_TIME = 1;
const OFF_NEXT_KEY = 5;
const OFF_NEXT_ALPHA = 37;
const OFF_NEXT_GAMMA = 69;
const OFF_PREV_TOKEN = 85;
const OFF_VOUCHER = 101;
const OFF_RESERVED = OFF_VOUCHER + VOUCHER_SIZE;
const R = ROUTING_INFO_SIZE;
const SETUP_NONCE = layerNonce(NonceDomain.SETUP, 0);

/** One hop of a path as the source knows it. */
export interface SetupHop {
  /** The hop's Ed25519 public key (its address key). */
  readonly publicKey: Uint8Array;
  /** Opaque payment voucher for this hop, at most VOUCHER_SIZE bytes (zero-padded). */
  readonly voucher?: Uint8Array;
}

/** What the source keeps from building a setup packet. */
export interface BuiltSetup {
  /** The packet for the first hop, SETUP_PACKET_SIZE bytes. */
  readonly packet: Uint8Array;
  /** Keys shared with each hop, in path order (the last is the destination's). */
  readonly hops: readonly HopKeys[];
  /** Token the source shares with the first hop. */
  readonly firstToken: Uint8Array;
}

export interface CreateSetupOptions {
  /** Source clock in ms (written into every slot, seconds resolution). */
  readonly now: number;
}

function mac(mu: Uint8Array, alpha: Uint8Array, beta: Uint8Array): Uint8Array {
  const data = new Uint8Array(32 + R);
  data.set(alpha, 0);
  data.set(beta, 32);
  return blake2b(data, SETUP_MAC_SIZE, mu);
}

function writeU32(out: Uint8Array, off: number, v: number): void {
  out[off] = v >>> 24;
  out[off + 1] = (v >>> 16) & 0xff;
  out[off + 2] = (v >>> 8) & 0xff;
  out[off + 3] = v & 0xff;
}

function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/**
 * Builds the setup packet for `path` (1..MAX_HOPS hops, the last being the
 * destination) and returns it with the keys the source shares with each hop.
 * @throws OnionError ONION_BAD_PATH for an empty/too long path or a key that is
 *   not a valid Ed25519 point; ONION_TOO_LARGE for a voucher over VOUCHER_SIZE.
 * @example
 *   const { packet, hops } = createSetupPacket([{ publicKey: relay }, { publicKey: dest }], { now: Date.now() });
 */
export function createSetupPacket(
  path: readonly SetupHop[],
  options: CreateSetupOptions,
): BuiltSetup {
  const n = path.length;
  if (n < 1 || n > MAX_HOPS) {
    throw new OnionError('ONION_BAD_PATH', `a path has 1..${MAX_HOPS} hops, got ${n}`, {
      hops: n,
    });
  }
  const seconds = Math.floor(options.now / 1000) >>> 0;
  const alphas: Uint8Array[] = [];
  const keys: HopKeys[] = [];
  const streams: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const hop = path[i]!;
    if (hop.voucher && hop.voucher.length > VOUCHER_SIZE) {
      throw new OnionError('ONION_TOO_LARGE', `a voucher has at most ${VOUCHER_SIZE} bytes`, {
        hop: i,
      });
    }
    let dhPublic: Uint8Array;
    try {
      dhPublic = ed25519PublicToX25519(hop.publicKey);
    } catch {
      throw new OnionError('ONION_BAD_PATH', 'a hop key is not a valid Ed25519 public key', {
        hop: i,
      });
    }
    const eph = x25519Generate();
    const k = deriveHopKeys(x25519(eph.secretKey, dhPublic), eph.publicKey);
    alphas.push(eph.publicKey);
    keys.push(k);
    streams.push(keystream(k.rho, SETUP_NONCE, R + SLOT_SIZE));
  }

  // Filler: the bytes hops 1..n-1 append to β, as the destination will see them.
  let filler = new Uint8Array(0);
  for (let i = 0; i < n - 1; i++) {
    const grown = new Uint8Array(filler.length + SLOT_SIZE);
    grown.set(filler, 0);
    const rho = streams[i]!;
    const from = R - filler.length;
    for (let j = 0; j < grown.length; j++) grown[j]! ^= rho[from + j]!;
    filler = grown;
  }

  const firstToken = randomBytes(TOKEN_SIZE);
  const slot = (i: number): Uint8Array => {
    const s = new Uint8Array(SLOT_SIZE);
    s[OFF_KIND] = i === n - 1 ? SlotKind.DESTINATION : SlotKind.RELAY;
    writeU32(s, OFF_TIME, seconds);
    s.set(i === 0 ? firstToken : keys[i - 1]!.nextToken, OFF_PREV_TOKEN);
    const voucher = path[i]!.voucher;
    if (voucher) s.set(voucher, OFF_VOUCHER);
    return s;
  };

  // The destination's β: its slot, random padding, then the filler.
  let beta = new Uint8Array(R);
  const open = R - filler.length;
  beta.set(slot(n - 1), 0);
  beta.set(randomBytes(open - SLOT_SIZE), SLOT_SIZE);
  const lastRho = streams[n - 1]!;
  for (let j = 0; j < open; j++) beta[j]! ^= lastRho[j]!;
  beta.set(filler, open);
  let gamma = mac(keys[n - 1]!.mu, alphas[n - 1]!, beta);

  for (let i = n - 2; i >= 0; i--) {
    const s = slot(i);
    s.set(path[i + 1]!.publicKey, OFF_NEXT_KEY);
    s.set(alphas[i + 1]!, OFF_NEXT_ALPHA);
    s.set(gamma, OFF_NEXT_GAMMA);
    const next = new Uint8Array(R);
    next.set(s, 0);
    next.set(beta.subarray(0, R - SLOT_SIZE), SLOT_SIZE);
    const rho = streams[i]!;
    for (let j = 0; j < R; j++) next[j]! ^= rho[j]!;
    beta = next;
    gamma = mac(keys[i]!.mu, alphas[i]!, beta);
  }

  const packet = new Uint8Array(SETUP_PACKET_SIZE);
  packet.set(alphas[0]!, 0);
  packet.set(gamma, 32);
  packet.set(beta, 32 + SETUP_MAC_SIZE);
  return { packet, hops: keys, firstToken };
}

/** What a hop learns from its layer of a setup packet. */
export interface ProcessedSetup {
  readonly kind: SlotKind;
  /** This hop's keys (forward/backward layer keys, tokens). */
  readonly keys: HopKeys;
  /** Token shared with the predecessor. */
  readonly prevToken: Uint8Array;
  /** The voucher bytes for this hop (VOUCHER_SIZE, zero-padded, opaque). */
  readonly voucher: Uint8Array;
  /** Source timestamp, seconds. */
  readonly timestamp: number;
  /** For a relay: the successor's Ed25519 key and the packet to send it. */
  readonly next?: { readonly peerKey: Uint8Array; readonly packet: Uint8Array };
}

export interface ProcessSetupOptions {
  /** The hop's clock in ms. */
  readonly now: number;
  /**
   * Accepted |timestamp − now|.
   * @default 60000
   */
  readonly maxSkewMs?: number;
  /** Replay cache to check and fill (after the MAC verifies). */
  readonly replay?: ReplayCache;
}

/**
 * Processes one hop's layer of a setup packet.
 * @param dhSecretKey the hop's static X25519 secret (Identity.dhSecretKey)
 * @param packet the first SETUP_PACKET_SIZE bytes of a SETUP cell body
 * @throws OnionError ONION_BAD_CELL | ONION_BAD_KEY | ONION_BAD_MAC | ONION_BAD_SLOT |
 *   ONION_STALE | ONION_REPLAY | ONION_REPLAY_CACHE_FULL
 */
export function processSetupPacket(
  dhSecretKey: Uint8Array,
  packet: Uint8Array,
  options: ProcessSetupOptions,
): ProcessedSetup {
  if (!(packet instanceof Uint8Array) || packet.length < SETUP_PACKET_SIZE) {
    throw new OnionError('ONION_BAD_CELL', 'setup packet too short');
  }
  const alpha = packet.subarray(0, 32);
  const gamma = packet.subarray(32, 32 + SETUP_MAC_SIZE);
  const beta = packet.subarray(32 + SETUP_MAC_SIZE, SETUP_PACKET_SIZE);
  let shared: Uint8Array;
  try {
    shared = x25519(dhSecretKey, alpha);
  } catch {
    throw new OnionError('ONION_BAD_KEY', 'setup ephemeral key is a low-order point');
  }
  const keys = deriveHopKeys(shared, alpha);
  if (!equalBytes(mac(keys.mu, alpha, beta), gamma)) {
    throw new OnionError('ONION_BAD_MAC', 'setup packet MAC did not verify');
  }
  const d = keystream(keys.rho, SETUP_NONCE, R + SLOT_SIZE);
  for (let j = 0; j < R; j++) d[j]! ^= beta[j]!;
  const kind = d[OFF_KIND]!;
  if (kind !== SlotKind.RELAY && kind !== SlotKind.DESTINATION) {
    throw new OnionError('ONION_BAD_SLOT', `unknown slot kind ${kind}`);
  }
  for (let j = OFF_RESERVED; j < SLOT_SIZE; j++) {
    if (d[j] !== 0) throw new OnionError('ONION_BAD_SLOT', 'reserved slot bytes are not zero');
  }
  const timestamp = readU32(d, OFF_TIME);
  const skew = options.maxSkewMs ?? SETUP_MAX_SKEW_MS;
  // Seconds resolution: allow one more second than the skew.
  if (Math.abs(timestamp * 1000 - options.now) > skew + 1000) {
    throw new OnionError('ONION_STALE', 'setup packet timestamp outside the window', {
      timestamp,
    });
  }
  if (options.replay) {
    const verdict = options.replay.check(keys.replayTag, options.now);
    if (verdict === 'replay') throw new OnionError('ONION_REPLAY', 'setup packet replayed');
    if (verdict === 'full') {
      throw new OnionError('ONION_REPLAY_CACHE_FULL', 'replay cache full; setup refused');
    }
  }
  const base = {
    kind: kind as SlotKind,
    keys,
    prevToken: d.slice(OFF_PREV_TOKEN, OFF_PREV_TOKEN + TOKEN_SIZE),
    voucher: d.slice(OFF_VOUCHER, OFF_VOUCHER + VOUCHER_SIZE),
    timestamp,
  };
  if (kind === SlotKind.DESTINATION) return base;
  const next = new Uint8Array(SETUP_PACKET_SIZE);
  next.set(d.subarray(OFF_NEXT_ALPHA, OFF_NEXT_ALPHA + 32), 0);
  next.set(d.subarray(OFF_NEXT_GAMMA, OFF_NEXT_GAMMA + SETUP_MAC_SIZE), 32);
  next.set(d.subarray(SLOT_SIZE, SLOT_SIZE + R), 32 + SETUP_MAC_SIZE);
  return {
    ...base,
    next: { peerKey: d.slice(OFF_NEXT_KEY, OFF_NEXT_KEY + 32), packet: next },
  };
}
