/**
 * Onion (route layer) decoders for the fuzz harness (picked up by
 * test/_decoders.ts): the route header, a hop's setup-packet processing and
 * the data-layer openers. Keys and clock are fixed so valid samples stay valid.
 */
import { Identity } from '@skymesh/crypto';
import {
  addBackwardLayer,
  createSetupPacket,
  decodeRouteHeader,
  encodeCell,
  InnerType,
  openBackward,
  openForward,
  processSetupPacket,
  RouteCommand,
  readInner,
  sealBackward,
  sealForward,
} from '../src/onion/index.js';
import type { FuzzDecoder } from './_decoders.js';

const ONION_CODES = [
  'ONION_BAD_CELL',
  'ONION_BAD_MAC',
  'ONION_BAD_KEY',
  'ONION_BAD_SLOT',
  'ONION_STALE',
  'ONION_REPLAY',
  'ONION_REPLAY_CACHE_FULL',
] as const;

const T0 = 1_760_000_000_000;
const hop = Identity.fromSeed(new Uint8Array(32).fill(11));
const next = Identity.fromSeed(new Uint8Array(32).fill(12));
const KEYS = [1, 2, 3].map((b) => new Uint8Array(32).fill(b));

export const decoders: FuzzDecoder[] = [
  {
    name: 'onion.routeHeader',
    decode: decodeRouteHeader,
    samples: () => [encodeCell(7, RouteCommand.DATA, new Uint8Array(40))],
    codes: ['ONION_BAD_CELL'],
  },
  {
    name: 'onion.setup',
    decode: (bytes) => processSetupPacket(hop.dhSecretKey, bytes, { now: T0 }),
    samples: () => [
      createSetupPacket([{ publicKey: hop.publicKey }, { publicKey: next.publicKey }], { now: T0 })
        .packet,
      createSetupPacket([{ publicKey: hop.publicKey }], { now: T0 }).packet,
    ],
    codes: ONION_CODES,
    weight: 0.3,
  },
  {
    name: 'onion.forward',
    decode: (bytes) => {
      const pt = openForward(KEYS[0]!, 0, bytes);
      return pt && readInner(pt);
    },
    samples: () => [sealForward(KEYS.slice(0, 1), 0, InnerType.DATA, new Uint8Array(10))],
    codes: [],
  },
  {
    name: 'onion.backward',
    decode: (bytes) => openBackward(KEYS, 0, bytes),
    samples: () => {
      let b = sealBackward(KEYS[2]!, 0, InnerType.DATA, Uint8Array.of(1, 2, 3));
      b = addBackwardLayer(KEYS[1]!, 0, b);
      return [addBackwardLayer(KEYS[0]!, 0, b)];
    },
    codes: [],
    weight: 0.5,
  },
];
