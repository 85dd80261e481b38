/**
 * Micro-benchmarks of the protocol base: descriptor decode / verify / sign
 * and the Reader on a mixed message. Prints one JSON object.
 *   pnpm exec tsx --conditions=@skymesh/source bench/descriptor.bench.ts
 */
import { ready } from '@skymesh/crypto';
import {
  decodeDescriptor,
  encodeDescriptor,
  Reader,
  signDescriptor,
  verifyDescriptor,
  Writer,
} from '../src/index.js';
import { FIELDS, SEED, T0 } from '../test/_fixtures.js';

function opsPerSecond(fn: () => unknown, ms = 500): number {
  for (let i = 0; i < 200; i++) fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
    now = performance.now();
  }
  return Math.round((n * 1000) / (now - start));
}

await ready();
const desc = signDescriptor(FIELDS, SEED);
const bytes = encodeDescriptor(desc);
const w = new Writer();
for (let i = 0; i < 16; i++)
  w.u8(i).u16(i).u32(i).u64(BigInt(i)).varBytes(2, new Uint8Array(32), 64);
const message = w.finish().slice();

console.log(
  JSON.stringify({
    descriptorBytes: bytes.length,
    descriptorDecodePerSec: opsPerSecond(() => decodeDescriptor(bytes)),
    descriptorVerifyPerSec: opsPerSecond(() => verifyDescriptor(bytes, { now: T0 })),
    descriptorSignPerSec: opsPerSecond(() => signDescriptor(FIELDS, SEED)),
    readerMixedMessageBytes: message.length,
    readerMixedMessagesPerSec: opsPerSecond(() => {
      const r = new Reader(message);
      for (let i = 0; i < 16; i++) {
        r.u8();
        r.u16();
        r.u32();
        r.u64();
        r.varBytes(2, 64);
      }
      r.end();
    }),
  }),
);
