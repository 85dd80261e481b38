import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64Url, ProtocolError, Reader, toBase64Url, Writer } from '../src/index.js';
import { runs, thrown } from './_fuzz.js';

function code(fn: () => unknown): string | undefined {
  const err = thrown(fn);
  return err instanceof ProtocolError ? err.code : err === undefined ? undefined : String(err);
}

type Field =
  | { t: 'u8' | 'u16' | 'u32'; v: number }
  | { t: 'u64'; v: bigint }
  | { t: 'u64n'; v: number }
  | { t: 'bytes'; v: Uint8Array }
  | { t: 'var'; p: 1 | 2 | 4; v: Uint8Array }
  | { t: 'utf8'; p: 1 | 2 | 4; v: string };

const field: fc.Arbitrary<Field> = fc.oneof(
  fc.integer({ min: 0, max: 0xff }).map((v) => ({ t: 'u8' as const, v })),
  fc.integer({ min: 0, max: 0xffff }).map((v) => ({ t: 'u16' as const, v })),
  fc.integer({ min: 0, max: 0xffffffff }).map((v) => ({ t: 'u32' as const, v })),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ({ t: 'u64' as const, v })),
  fc.maxSafeNat().map((v) => ({ t: 'u64n' as const, v })),
  fc.uint8Array({ maxLength: 40 }).map((v) => ({ t: 'bytes' as const, v })),
  fc
    .tuple(fc.constantFrom(1 as const, 2 as const, 4 as const), fc.uint8Array({ maxLength: 300 }))
    .map(([p, v]) => ({ t: 'var' as const, p, v: p === 1 ? v.subarray(0, 255) : v })),
  fc
    .tuple(fc.constantFrom(2 as const, 4 as const), fc.string({ unit: 'grapheme', maxLength: 30 }))
    .map(([p, v]) => ({ t: 'utf8' as const, p, v })),
);

function write(w: Writer, f: Field): void {
  switch (f.t) {
    case 'u8':
      w.u8(f.v);
      break;
    case 'u16':
      w.u16(f.v);
      break;
    case 'u32':
      w.u32(f.v);
      break;
    case 'u64':
      w.u64(f.v);
      break;
    case 'u64n':
      w.u64Number(f.v);
      break;
    case 'bytes':
      w.bytes(f.v);
      break;
    case 'var':
      w.varBytes(f.p, f.v, 1000);
      break;
    case 'utf8':
      w.utf8(f.p, f.v, 1000);
      break;
  }
}

function read(r: Reader, f: Field): unknown {
  switch (f.t) {
    case 'u8':
      return r.u8();
    case 'u16':
      return r.u16();
    case 'u32':
      return r.u32();
    case 'u64':
      return r.u64();
    case 'u64n':
      return r.u64Number();
    case 'bytes':
      return r.bytes(f.v.length);
    case 'var':
      return r.varBytes(f.p, 1000);
    case 'utf8':
      return r.utf8(f.p, 1000);
  }
}

describe('Reader/Writer', () => {
  it('round-trips any sequence of fields, and dropping the last byte is DECODE_TRUNCATED', () => {
    fc.assert(
      fc.property(fc.array(field, { maxLength: 12 }), (fields) => {
        const w = new Writer({ initialSize: 1 });
        for (const f of fields) write(w, f);
        const bytes = w.finish().slice();
        const r = new Reader(bytes);
        for (const f of fields) expect(read(r, f)).toEqual(f.v);
        r.end();
        expect(r.remaining).toBe(0);
        expect(r.offset).toBe(bytes.length);
        if (bytes.length > 0 && fields.some((f) => f.t !== 'bytes' || f.v.length > 0)) {
          const cut = bytes.length - 1;
          const short = new Reader(bytes.subarray(0, cut));
          expect(
            code(() => {
              for (const f of fields) read(short, f);
            }),
          ).toBe('DECODE_TRUNCATED');
        }
      }),
      { numRuns: runs(300) },
    );
  });

  it('is big-endian', () => {
    const w = new Writer();
    w.u16(0x0102)
      .u32(0x03040506)
      .u64(0x0708090a0b0c0d0en)
      .u64Number(2 ** 53 - 1);
    expect([...w.finish()]).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
  });

  it('reports truncation with field and offset details', () => {
    const err = thrown(() => {
      const r = new Reader(Uint8Array.of(1, 2, 3));
      r.u16('first');
      r.u16('second');
    });
    expect(err).toBeInstanceOf(ProtocolError);
    const e = err as ProtocolError;
    expect(e.code).toBe('DECODE_TRUNCATED');
    expect(e.details).toMatchObject({ field: 'second', offset: 2, needed: 2, remaining: 1 });
    for (const f of ['u8', 'u32', 'u64', 'u64Number'] as const) {
      expect(code(() => new Reader(new Uint8Array(0))[f]())).toBe('DECODE_TRUNCATED');
    }
    expect(code(() => new Reader(new Uint8Array(3)).bytes(4))).toBe('DECODE_TRUNCATED');
    expect(code(() => new Reader(new Uint8Array(3)).skip(4))).toBe('DECODE_TRUNCATED');
    // Lengths computed from untrusted fields may be negative or fractional: never move backwards.
    const back = new Reader(new Uint8Array(8));
    back.skip(4);
    expect(code(() => back.bytes(-2))).toBe('DECODE_BAD_VALUE');
    expect(code(() => back.skip(-1))).toBe('DECODE_BAD_VALUE');
    expect(code(() => back.bytes(1.5))).toBe('DECODE_BAD_VALUE');
    expect(code(() => back.bytes(Number.NaN))).toBe('DECODE_BAD_VALUE');
    expect(back.offset).toBe(4);
    expect(code(() => new Reader(Uint8Array.of(5, 1, 2)).varBytes(1, 10))).toBe('DECODE_TRUNCATED');
    expect(code(() => new Reader(Uint8Array.of(0)).varBytes(2, 10))).toBe('DECODE_TRUNCATED');
  });

  it('checks a length cap before taking bytes', () => {
    // A 4-byte prefix announcing 4 GiB over a 4-byte input: must be TOO_LARGE, not TRUNCATED.
    const r = new Reader(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    const err = thrown(() => r.varBytes(4, 1024, 'blob')) as ProtocolError;
    expect(err.code).toBe('DECODE_TOO_LARGE');
    expect(err.details).toMatchObject({ field: 'blob', offset: 0, length: 0xffffffff, max: 1024 });
    expect(code(() => new Reader(Uint8Array.of(3, 0x61, 0x62, 0x63)).utf8(1, 2))).toBe(
      'DECODE_TOO_LARGE',
    );
    expect(new Reader(Uint8Array.of(3, 0x61, 0x62, 0x63)).utf8(1, 3)).toBe('abc');
  });

  it('rejects trailing bytes, invalid UTF-8 and u64Number above 2^53 - 1', () => {
    const r = new Reader(Uint8Array.of(1, 2));
    r.u8();
    expect(code(() => r.end())).toBe('DECODE_TRAILING_BYTES');
    r.u8();
    expect(code(() => r.end())).toBeUndefined();
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      expect(code(() => new Reader(Uint8Array.of(bad.length, ...bad)).utf8(1, 10))).toBe(
        'DECODE_BAD_VALUE',
      );
    }
    expect(code(() => new Reader(Uint8Array.of(0, 0x20, 0, 0, 0, 0, 0, 0)).u64Number())).toBe(
      'DECODE_BAD_VALUE',
    );
    expect(new Reader(Uint8Array.of(0, 0x1f, 255, 255, 255, 255, 255, 255)).u64Number()).toBe(
      Number.MAX_SAFE_INTEGER,
    );
    expect(code(() => new Reader(new Uint8Array(1)).badValue('kind', 'unknown'))).toBe(
      'DECODE_BAD_VALUE',
    );
  });

  it('returns subarrays without copying, and rest() takes the remainder', () => {
    const input = Uint8Array.of(1, 2, 3, 4, 5);
    const r = new Reader(input.subarray(1));
    const b = r.bytes(2);
    expect(b.buffer).toBe(input.buffer);
    expect([...b]).toEqual([2, 3]);
    expect([...r.rest()]).toEqual([4, 5]);
    expect(r.remaining).toBe(0);
  });

  it('refuses values out of range, lone surrogates and oversize fields when encoding', () => {
    const w = new Writer();
    expect(code(() => w.u8(256))).toBe('ENCODE_BAD_VALUE');
    expect(code(() => w.u8(-1))).toBe('ENCODE_BAD_VALUE');
    expect(code(() => w.u16(1.5))).toBe('ENCODE_BAD_VALUE');
    expect(code(() => w.u32(2 ** 32))).toBe('ENCODE_BAD_VALUE');
    expect(code(() => w.u64(2n ** 64n))).toBe('ENCODE_BAD_VALUE');
    expect(code(() => w.u64(-1n))).toBe('ENCODE_BAD_VALUE');
    expect(code(() => w.u64Number(2 ** 53))).toBe('ENCODE_BAD_VALUE');
    expect(code(() => w.utf8(1, 'a\uD800b', 10))).toBe('ENCODE_BAD_VALUE');
    expect(code(() => w.utf8(1, 'a\uDC00', 10))).toBe('ENCODE_BAD_VALUE');
    expect(code(() => w.utf8(1, 'abc', 2))).toBe('ENCODE_TOO_LARGE');
    expect(code(() => w.varBytes(1, new Uint8Array(256), 1000))).toBe('ENCODE_TOO_LARGE');
    expect(code(() => w.fixed(new Uint8Array(31), 32))).toBe('ENCODE_BAD_VALUE');
    expect(w.length).toBe(0);
    w.utf8(1, '\u{1F600}', 4);
    expect(new Reader(w.finish()).utf8(1, 4)).toBe('\u{1F600}');
  });

  it('never grows past maxSize', () => {
    const w = new Writer({ maxSize: 10, initialSize: 2 });
    w.u64(1n).u16(2);
    expect(code(() => w.u8(3))).toBe('ENCODE_TOO_LARGE');
    expect(w.finish().length).toBe(10);
    expect(code(() => new Writer({ maxSize: 4 }).bytes(new Uint8Array(5)))).toBe(
      'ENCODE_TOO_LARGE',
    );
  });
});

describe('base64url', () => {
  it('round-trips and matches the RFC 4648 test vectors', () => {
    // RFC 4648 §10 vectors, re-expressed in the URL alphabet without padding.
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'Zg'],
      ['fo', 'Zm8'],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg'],
      ['fooba', 'Zm9vYmE'],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, enc] of vectors) {
      const bytes = new TextEncoder().encode(plain);
      expect(toBase64Url(bytes)).toBe(enc);
      expect(fromBase64Url(enc, 100)).toEqual(bytes);
    }
    expect(toBase64Url(Uint8Array.of(0xfb, 0xff))).toBe('-_8');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (b) => {
        expect(fromBase64Url(toBase64Url(b), 70)).toEqual(b);
      }),
      { numRuns: runs(300) },
    );
  });

  it('is strict', () => {
    for (const bad of ['Zg==', 'Z', 'Zh', 'Zm9', 'Zm+v', 'Zm/v', 'Zm9v\n', 'Zé']) {
      expect(code(() => fromBase64Url(bad, 100))).toBe('DECODE_BAD_VALUE');
    }
    expect(code(() => fromBase64Url('Zm9vYmFy', 5))).toBe('DECODE_TOO_LARGE');
  });
});
