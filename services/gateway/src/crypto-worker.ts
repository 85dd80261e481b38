/**
 * Worker thread of the gateway's signature pool (crypto-pool.ts): checks call
 * signatures and signs receipts with the gateway seed it was started with, a
 * whole list per message so the cost of crossing threads is paid per batch,
 * not per call. Uses @skymesh/crypto's native backend like the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ed25519Verify } from '@skymesh/crypto';
import { type Receipt, signReceipt } from '@skymesh/protocol/gateway';
import type { PoolReply, PoolRequest } from './crypto-pool.js';

const seed = (workerData as { seed: Uint8Array }).seed;

parentPort!.on('message', (req: PoolRequest) => {
  let reply: PoolReply;
  try {
    reply = answer(req);
  } catch (e) {
    // Every request gets an answer, so the pool never waits forever.
    reply = { id: req.id, error: String(e) };
  }
  parentPort!.postMessage(reply);
});

function answer(req: PoolRequest): PoolReply {
  if (req.kind === 'verify') {
    const ok = new Uint8Array(req.jobs.length);
    for (let i = 0; i < req.jobs.length; i++) {
      const [key, message, signature] = req.jobs[i]!;
      ok[i] = ed25519Verify(key, message, signature) ? 1 : 0;
    }
    return { id: req.id, ok };
  }
  const signatures: Uint8Array[] = [];
  for (const r of req.jobs)
    signatures.push(signReceipt(seed, r as Omit<Receipt, 'signature'>).signature);
  return { id: req.id, signatures };
}
