/**
 * Link-layer decoders for the fuzz harness (picked up by test/_decoders.ts):
 * frame records, the frame stream reader, and the responder's handshake
 * reader. Keys and clock are fixed so valid samples stay valid.
 */
import { Identity } from '@skymesh/crypto';
import { CELL_SIZE } from '../src/constants.js';
import {
  type DirectionKeys,
  FrameBuilder,
  FrameOpener,
  FrameSealer,
  LinkInitiator,
  LinkResponder,
  parseRecords,
} from '../src/link/index.js';
import type { FuzzDecoder } from './_decoders.js';

const LINK_CODES = [
  'LINK_HANDSHAKE_LENGTH',
  'LINK_HANDSHAKE_AUTH',
  'LINK_HANDSHAKE_PAYLOAD',
  'LINK_IDENTITY_MISMATCH',
  'LINK_HANDSHAKE_STALE',
  'LINK_FRAME_LENGTH',
  'LINK_FRAME_AUTH',
  'LINK_FRAME_RECORD',
] as const;

const KEYS: DirectionKeys = {
  frameKey: new Uint8Array(32).fill(1),
  maskKey: new Uint8Array(32).fill(2),
};
const T0 = 1_760_000_000_000;
const bob = Identity.fromSeed(new Uint8Array(32).fill(3));
const alice = Identity.fromSeed(new Uint8Array(32).fill(4));

function plaintexts(): Uint8Array[] {
  const cell = new Uint8Array(CELL_SIZE).fill(9);
  return [
    new FrameBuilder(2 * (CELL_SIZE + 1) + 30)
      .addPing(new Uint8Array(8).fill(5))
      .addCell(cell)
      .addPong(new Uint8Array(8))
      .addCell(cell)
      .addClose(1)
      .addPadding(10)
      .finish()
      .slice(),
    Uint8Array.of(4, 0),
  ];
}

function frames(): Uint8Array[] {
  const sealer = new FrameSealer(KEYS);
  const [a, b] = plaintexts().map((p) => sealer.seal(p));
  const both = new Uint8Array(a!.length + b!.length);
  both.set(a!);
  both.set(b!, a!.length);
  return [a!, both];
}

export const decoders: FuzzDecoder[] = [
  {
    name: 'link.records',
    decode: parseRecords,
    samples: plaintexts,
    codes: LINK_CODES,
  },
  {
    name: 'link.frames',
    decode: (bytes) => new FrameOpener(KEYS).push(bytes),
    samples: frames,
    codes: LINK_CODES,
  },
  {
    name: 'link.handshake.responder',
    decode: (bytes) => new LinkResponder({ identity: bob, now: () => T0 }).push(bytes),
    samples: () => [
      new LinkInitiator({ identity: alice, peerKey: bob.publicKey, now: () => T0 }).message,
    ],
    codes: LINK_CODES,
    weight: 0.1,
  },
];
