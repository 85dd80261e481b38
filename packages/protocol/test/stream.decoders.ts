/**
 * Fuzz targets of the session layer (@skymesh/protocol/stream): route
 * payloads, session params, record plaintexts and frame lists. Picked up by
 * test/_decoders.ts. Decoders must only throw ProtocolError (SessionError is
 * one) with DECODE_* codes.
 */
import {
  decodeFrames,
  decodeRecordPlaintext,
  decodeRouteMessage,
  decodeSessionParams,
  encodeFrames,
  encodeRecordPlaintext,
  encodeRouteMessage,
  encodeSessionParams,
  SESSION_VERSION,
} from '../src/stream/index.js';
import type { FuzzDecoder } from './_decoders.js';

const frames = () =>
  encodeFrames([
    { type: 'open', streamId: 1, target: { name: 'svc.example', port: 443 } },
    { type: 'data', streamId: 1, data: new Uint8Array([1, 2, 3, 4, 5]) },
    { type: 'window', streamId: 1, delta: 65536 },
    { type: 'window', streamId: 0, delta: 1 << 20 },
    { type: 'fin', streamId: 1 },
    { type: 'rst', streamId: 2, code: 3 },
    { type: 'close', code: 0 },
  ]);

export const decoders: FuzzDecoder[] = [
  {
    name: 'stream.routeMessage',
    decode: decodeRouteMessage,
    samples: () => [
      encodeRouteMessage({ type: 'hello', noise: new Uint8Array(57) }),
      encodeRouteMessage({ type: 'welcome', noise: new Uint8Array(57) }),
      encodeRouteMessage({
        type: 'resume',
        sessionId: new Uint8Array(16).fill(7),
        epoch: 3,
        ack: 1234,
        mac: new Uint8Array(32).fill(9),
      }),
      encodeRouteMessage({ type: 'resume-ok', epoch: 3, ack: 99, mac: new Uint8Array(32) }),
      encodeRouteMessage({ type: 'refused', code: 18 }),
      encodeRouteMessage({ type: 'record', sealed: new Uint8Array(60) }),
    ],
  },
  {
    name: 'stream.sessionParams',
    decode: decodeSessionParams,
    samples: () => [
      encodeSessionParams({
        version: SESSION_VERSION,
        initialWindow: 262144,
        sessionWindow: 1 << 20,
        maxStreams: 256,
        graceSeconds: 30,
      }),
    ],
  },
  {
    name: 'stream.recordPlaintext',
    decode: (b) => decodeFrames(decodeRecordPlaintext(b).body),
    samples: () => [
      encodeRecordPlaintext(5, 4, frames()),
      encodeRecordPlaintext(0, 17, new Uint8Array(0)),
    ],
  },
  { name: 'stream.frames', decode: decodeFrames, samples: () => [frames()] },
];
