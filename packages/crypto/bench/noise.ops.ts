/**
 * Noise benchmark operations: a full XK handshake (link layer) and a full NK
 * handshake (end-to-end session), both sides in one op, and sealing a 1 KiB
 * transport message. Static keys are made once, as a node's would be.
 */
import { HandshakeState, type NoisePatternName, x25519Generate } from '../src/index.js';
import type { BenchOp } from './crypto.bench.js';

function handshake(pattern: NoisePatternName): () => unknown {
  const server = x25519Generate();
  const client = x25519Generate();
  return () => {
    const init = new HandshakeState({ pattern, initiator: true, s: client, rs: server.publicKey });
    const resp = new HandshakeState({ pattern, initiator: false, s: server });
    while (!init.complete) {
      resp.readMessage(init.writeMessage());
      if (resp.complete) break;
      init.readMessage(resp.writeMessage());
    }
    return [init.split(), resp.split()];
  };
}

export function noiseBenchmarks(): BenchOp[] {
  const server = x25519Generate();
  const init = new HandshakeState({ pattern: 'NK', initiator: true, rs: server.publicKey });
  const resp = new HandshakeState({ pattern: 'NK', initiator: false, s: server });
  resp.readMessage(init.writeMessage());
  init.readMessage(resp.writeMessage());
  const { send } = init.split();
  const ad = new Uint8Array(0);
  const kib = new Uint8Array(1024);
  return [
    { op: 'noise_xk_handshake', fn: handshake('XK') },
    { op: 'noise_nk_handshake', fn: handshake('NK') },
    { op: 'noise_transport_seal_1KiB', bytes: 1024, fn: () => send.encryptWithAd(ad, kib) },
  ];
}
