/**
 * Signed checkpoints of the transparency log: the gateway's signature over a
 * tree size, the root hash at that size and the time. A client that keeps the
 * last checkpoint it saw asks for a consistency proof to each new one, so a
 * log that forks or rewrites history is caught.
 *
 * Signed bytes: "skymesh/gateway/checkpoint/v1" NUL ‖ gateway key [32] ‖
 * size u64 ‖ root [32] ‖ time u64 (ms since the Unix epoch).
 */
import { ed25519Sign, ed25519Verify } from '@skymesh/crypto';
import { ByteWriter, domainTag } from './_codec.js';
import { hex, obj, toHex, u64 } from './_json.js';
import { GatewayError } from './errors.js';

export interface Checkpoint {
  size: bigint;
  root: Uint8Array;
  time: bigint;
  signature: Uint8Array;
}

export interface CheckpointJson {
  size: string;
  root: string;
  time: string;
  signature: string;
}

const CHECKPOINT_DOMAIN = domainTag('skymesh/gateway/checkpoint/v1');

function signingBytes(gatewayKey: Uint8Array, c: Omit<Checkpoint, 'signature'>): Uint8Array {
  return new ByteWriter(120)
    .bytes(CHECKPOINT_DOMAIN)
    .bytes(gatewayKey)
    .u64(c.size)
    .bytes(c.root)
    .u64(c.time)
    .finish();
}

/** Signs a checkpoint with the gateway seed; `gatewayKey` is its public key. */
export function signCheckpoint(
  gatewaySeed: Uint8Array,
  gatewayKey: Uint8Array,
  c: Omit<Checkpoint, 'signature'>,
): Checkpoint {
  return { ...c, signature: ed25519Sign(gatewaySeed, signingBytes(gatewayKey, c)) };
}

/** True when the gateway signed this checkpoint. */
export function verifyCheckpoint(gatewayKey: Uint8Array, c: Checkpoint): boolean {
  if (c.root.length !== 32) return false;
  return ed25519Verify(gatewayKey, signingBytes(gatewayKey, c), c.signature);
}

export function checkpointToJson(c: Checkpoint): CheckpointJson {
  return {
    size: c.size.toString(),
    root: toHex(c.root),
    time: c.time.toString(),
    signature: toHex(c.signature),
  };
}

/** Parses the JSON form (does not verify the signature). @throws GatewayError. */
export function parseCheckpoint(json: unknown): Checkpoint {
  const o = obj(json, 'checkpoint');
  return {
    size: u64(o.size, 'size'),
    root: hex(o.root, 'root', 32),
    time: u64(o.time, 'time'),
    signature: hex(o.signature, 'signature', 64),
  };
}

/** Parses a JSON proof (array of hex hashes, at most 64). @throws GatewayError GW_BAD_PROOF. */
export function parseProof(json: unknown): Uint8Array[] {
  if (!Array.isArray(json) || json.length > 64) {
    throw new GatewayError('GW_BAD_PROOF', 'proof must be an array of ≤ 64 hashes');
  }
  return json.map((h, i) => hex(h, `proof[${i}]`, 32));
}
