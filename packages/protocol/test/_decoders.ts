/**
 * The registry of decoders the fuzz harness (test/fuzz.test.ts) attacks.
 *
 * To add a layer's decoders, create `test/<layer>.decoders.ts` (e.g.
 * test/link.decoders.ts, owned by the layer's engineer) exporting
 * `export const decoders: FuzzDecoder[] = [...]`; it is picked up below by
 * import.meta.glob, so nobody has to edit this file.
 */
import {
  decodeDescriptor,
  descriptorFromJSON,
  descriptorToJSON,
  encodeDescriptor,
  fromBase64Url,
  PROTOCOL_ERROR_CODES,
  Reader,
  signDescriptor,
  toBase64Url,
  verifyDescriptor,
  Writer,
} from '../src/index.js';
import { FIELDS, SEED, T0 } from './_fixtures.js';

/** One decoder under fuzz. It may only throw ProtocolError (or a subclass). */
export interface FuzzDecoder {
  /** Unique, shown in failures, e.g. "link.frame". */
  name: string;
  /** Decodes untrusted bytes; the result is ignored. */
  decode(bytes: Uint8Array): unknown;
  /** Valid encodings to mutate (computed once). */
  samples(): Uint8Array[];
  /** The codes it may throw. @default any SCREAMING_SNAKE code except ENCODE_* */
  codes?: readonly string[];
  /** Share of the fuzz budget relative to other decoders (use < 1 for slow ones). @default 1 */
  weight?: number;
}

declare global {
  interface ImportMeta {
    glob<T>(pattern: string, options: { eager: true }): Record<string, T>;
  }
}

const DECODE_CODES = PROTOCOL_ERROR_CODES.filter((c) => c.startsWith('DECODE_'));
const DESCRIPTOR_CODES = PROTOCOL_ERROR_CODES.filter((c) => !c.startsWith('ENCODE_'));
const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes);
const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);

// A self-describing stream of every Reader primitive: a tag byte picks the
// next field, so random bytes reach every read path and every cap.
function readPrimitives(bytes: Uint8Array): unknown {
  const r = new Reader(bytes);
  const out: unknown[] = [];
  while (r.remaining > 0) {
    const tag = r.u8('tag');
    switch (tag % 9) {
      case 0:
        out.push(r.u8());
        break;
      case 1:
        out.push(r.u16());
        break;
      case 2:
        out.push(r.u32());
        break;
      case 3:
        out.push(r.u64());
        break;
      case 4:
        out.push(r.u64Number());
        break;
      case 5:
        out.push(r.varBytes(1, 64));
        break;
      case 6:
        out.push(r.varBytes(2, 300));
        break;
      case 7:
        out.push(r.utf8(4, 100));
        break;
      default:
        out.push(r.bytes(tag >> 4));
    }
  }
  r.end();
  return out;
}

function primitiveSamples(): Uint8Array[] {
  const w = new Writer();
  w.u8(0)
    .u8(200)
    .u8(1)
    .u16(0xbeef)
    .u8(2)
    .u32(7)
    .u8(3)
    .u64(2n ** 63n)
    .u8(4)
    .u64Number(2 ** 40);
  w.u8(5)
    .varBytes(1, Uint8Array.of(1, 2, 3), 64)
    .u8(6)
    .varBytes(2, new Uint8Array(70), 300);
  // Tag 53: 53 % 9 = 8 selects bytes(53 >> 4 = 3).
  w.u8(7)
    .utf8(4, 'héllo \u{1F600}', 100)
    .u8(53)
    .bytes(Uint8Array.of(9, 9, 9));
  return [w.finish().slice(), Uint8Array.of(7, 0, 0, 0, 2, 0xc3, 0xa9)];
}

function descriptorSamples(): Uint8Array[] {
  return [
    encodeDescriptor(signDescriptor(FIELDS, SEED)),
    encodeDescriptor(
      signDescriptor(
        { roles: { relay: true, exit: false }, endpoints: [], pricePerMiB: 0n, issuedAt: T0 },
        SEED,
      ),
    ),
  ];
}

const base: FuzzDecoder[] = [
  {
    name: 'codec.primitives',
    decode: readPrimitives,
    samples: primitiveSamples,
    codes: DECODE_CODES,
  },
  {
    name: 'codec.base64url',
    decode: (bytes) => fromBase64Url(latin1(bytes), 64),
    samples: () => [ascii(toBase64Url(Uint8Array.of(1, 2, 3, 4, 250))), ascii('Zm9vYmE')],
    codes: DECODE_CODES,
  },
  {
    name: 'descriptor.decode',
    decode: decodeDescriptor,
    samples: descriptorSamples,
    codes: DESCRIPTOR_CODES,
  },
  {
    name: 'descriptor.verify',
    decode: (bytes) => verifyDescriptor(bytes, { now: T0 }),
    samples: descriptorSamples,
    codes: DESCRIPTOR_CODES,
    weight: 0.25,
  },
  {
    name: 'descriptor.json',
    decode: (bytes) => descriptorFromJSON(latin1(bytes)),
    samples: () =>
      descriptorSamples().map((b) => ascii(JSON.stringify(descriptorToJSON(decodeDescriptor(b))))),
    codes: DESCRIPTOR_CODES,
    weight: 0.25,
  },
];

const layers = import.meta.glob<{ decoders: FuzzDecoder[] }>('./*.decoders.ts', { eager: true });

/** Every registered decoder: the base ones, then each layer's file in name order. */
export const decoders: FuzzDecoder[] = [
  ...base,
  ...Object.keys(layers)
    .sort()
    .flatMap((k) => layers[k]?.decoders ?? []),
];
