/**
 * Elligator2 benchmark operations: the direct map (what a responder pays per
 * handshake to decode a peer's key), the inverse map, and a hidden key pair
 * (what an initiator pays per handshake: about two attempts of X25519 plus
 * field work). Map and inverse do not use the backend; hidden_keypair does.
 */
import { elligator2Inverse, elligator2Map, hiddenKeyPair } from '../src/index.js';
import type { BenchOp } from './crypto.bench.js';

export function elligatorBenchmarks(): BenchOp[] {
  const kp = hiddenKeyPair();
  const representative = kp.representative;
  const publicKey = kp.publicKey;
  return [
    { op: 'elligator2_map', fn: () => elligator2Map(representative) },
    { op: 'elligator2_inverse', fn: () => elligator2Inverse(publicKey, 0) },
    { op: 'hidden_keypair', fn: () => hiddenKeyPair() },
  ];
}
