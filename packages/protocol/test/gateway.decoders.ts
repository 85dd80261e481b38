/**
 * Fuzz targets of the gateway formats (@skymesh/protocol/gateway): receipts
 * (binary log leaves), calls (JSON bytes), checkpoints and proofs (JSON).
 * Picked up by test/_decoders.ts. They may only throw GatewayError (a
 * ProtocolError) with GW_* codes.
 */
import { ed25519PublicKey, fromUtf8, utf8 } from '@skymesh/crypto';
import {
  callToJson,
  checkpointToJson,
  decodeReceipt,
  encodeReceipt,
  parseCallBytes,
  parseCheckpoint,
  parseProof,
  parseReceipt,
  receiptToJson,
  signCall,
  signCheckpoint,
  signReceipt,
  ZERO_HASH,
} from '../src/gateway/index.js';
import type { FuzzDecoder } from './_decoders.js';

const seed = new Uint8Array(32).fill(7);
const gw = new Uint8Array(32).fill(9);
const gwKey = ed25519PublicKey(gw);
const account = 0x1234_5678_9abc_def0n;

const calls = () => [
  signCall(seed, gwKey, {
    type: 'create_account',
    account,
    sequence: 0n,
    previous: ZERO_HASH,
    publicKey: ed25519PublicKey(seed),
  }),
  signCall(seed, gwKey, {
    type: 'transfer',
    account,
    sequence: 4n,
    previous: ZERO_HASH,
    to: 1n << 20n,
    amount: 5n,
  }),
  signCall(seed, gwKey, {
    type: 'withdraw',
    account,
    sequence: 5n,
    previous: ZERO_HASH,
    amount: 1_000_000n,
    address: 'dev1abc',
  }),
  signCall(seed, gwKey, {
    type: 'history',
    account,
    sequence: 6n,
    previous: ZERO_HASH,
    fromSequence: 0n,
    limit: 10,
  }),
];

const receipt = () =>
  signReceipt(gw, {
    type: 'withdraw',
    account,
    sequence: 5n,
    callHash: new Uint8Array(32).fill(1),
    status: 0,
    balance: 99n,
    time: 1_700_000_000_000n,
    logIndex: 12n,
    previous: ZERO_HASH,
    result: new Uint8Array(8).fill(2),
  });

const json = (v: unknown) => utf8(JSON.stringify(v));
/** JSON-bytes decoders: bad UTF-8 or JSON becomes GW_MALFORMED like the service answers. */
const jsonDecoder = (parse: (v: unknown) => unknown) => (b: Uint8Array) => {
  let v: unknown;
  try {
    v = JSON.parse(fromUtf8(b));
  } catch {
    return undefined;
  }
  return parse(v);
};

export const decoders: FuzzDecoder[] = [
  { name: 'gateway.receipt', decode: decodeReceipt, samples: () => [encodeReceipt(receipt())] },
  {
    name: 'gateway.call',
    decode: parseCallBytes,
    samples: () => calls().map((c) => json(callToJson(c))),
  },
  {
    name: 'gateway.receiptJson',
    decode: jsonDecoder(parseReceipt),
    samples: () => [json(receiptToJson(receipt()))],
  },
  {
    name: 'gateway.checkpoint',
    decode: jsonDecoder(parseCheckpoint),
    samples: () => [
      json(checkpointToJson(signCheckpoint(gw, gwKey, { size: 3n, root: ZERO_HASH, time: 1n }))),
    ],
  },
  {
    name: 'gateway.proof',
    decode: jsonDecoder(parseProof),
    samples: () => [json(['00'.repeat(32), '11'.repeat(32)])],
  },
];
