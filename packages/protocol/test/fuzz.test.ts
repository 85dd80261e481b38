/**
 * Fuzz harness: every decoder in test/_decoders.ts gets random bytes and
 * mutated valid encodings (bit flips, byte sets, truncations, extensions,
 * insertions, deletions, splices from other samples). The only acceptable
 * failure is a ProtocolError with a known code; anything else (TypeError,
 * RangeError, a foreign error) fails the run with the input that caused it.
 *
 * Budget: FUZZ_RUNS cases in total (default 100,000; `pnpm fuzz` sets
 * 1,000,000), shared between decoders by weight, 40% random and 60% mutated.
 */
import { concatBytes } from '@skymesh/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../src/index.js';
import { decoders, type FuzzDecoder } from './_decoders.js';
import { runs } from './_fuzz.js';

const TOTAL = runs(100_000);
const CODE = /^[A-Z][A-Z0-9_]*$/;

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'splice'; other: number; from: number; at: number; len: number };

const at = fc.nat();
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip'), at, bit: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set'), at, value: fc.nat(255) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate'), at }) },
  fc.record({ kind: fc.constant('extend'), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({
    kind: fc.constant('insert'),
    at,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete'), at, len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({
    kind: fc.constant('splice'),
    other: fc.nat(),
    from: fc.nat(),
    at,
    len: fc.integer({ min: 1, max: 64 }),
  }),
);

function mutate(input: Uint8Array, m: Mutation, samples: Uint8Array[]): Uint8Array {
  const n = input.length;
  const pos = (i: number): number => (n === 0 ? 0 : i % n);
  switch (m.kind) {
    case 'flip': {
      if (n === 0) return input;
      const out = input.slice();
      out[pos(m.at)]! ^= 1 << m.bit;
      return out;
    }
    case 'set': {
      if (n === 0) return input;
      const out = input.slice();
      out[pos(m.at)] = m.value;
      return out;
    }
    case 'truncate':
      return input.subarray(0, pos(m.at));
    case 'extend':
      return concatBytes(input, m.bytes);
    case 'insert':
      return concatBytes(input.subarray(0, pos(m.at)), m.bytes, input.subarray(pos(m.at)));
    case 'delete':
      return concatBytes(input.subarray(0, pos(m.at)), input.subarray(pos(m.at) + m.len));
    case 'splice': {
      const other = samples[m.other % samples.length]!;
      const from = other.length === 0 ? 0 : m.from % other.length;
      const piece = other.subarray(from, from + m.len);
      return concatBytes(
        input.subarray(0, pos(m.at)),
        piece,
        input.subarray(pos(m.at) + piece.length),
      );
    }
  }
}

/** Decodes `bytes`; returns a description of any forbidden failure, or null. */
function attack(d: FuzzDecoder, bytes: Uint8Array): string | null {
  try {
    d.decode(bytes);
    return null;
  } catch (err) {
    if (!(err instanceof ProtocolError)) {
      return `${d.name} threw a non-ProtocolError: ${String(err)}`;
    }
    const known = d.codes
      ? d.codes.includes(err.code)
      : CODE.test(err.code) && !err.code.startsWith('ENCODE_');
    return known ? null : `${d.name} threw unexpected code ${err.code}`;
  }
}

function check(d: FuzzDecoder, bytes: Uint8Array): boolean {
  const problem = attack(d, bytes);
  if (problem !== null) throw new Error(problem);
  return true;
}

const totalWeight = decoders.reduce((s, d) => s + (d.weight ?? 1), 0);

describe('fuzz: decoders only throw ProtocolError with a known code', () => {
  it('has unique decoder names', () => {
    expect(new Set(decoders.map((d) => d.name)).size).toBe(decoders.length);
  });

  it('catches a decoder that throws anything else', () => {
    const broken = (codes?: string[]): FuzzDecoder => ({
      name: 'broken',
      decode: (b) => {
        if (b[0] === 1) throw new RangeError('offset out of bounds');
        if (b[0] === 2) throw new ProtocolError('DECODE_TRUNCATED', 'short');
        if (b[0] === 3) throw new ProtocolError('ENCODE_BAD_VALUE', 'wrong side');
        return b;
      },
      samples: () => [],
      ...(codes ? { codes } : {}),
    });
    expect(attack(broken(), Uint8Array.of(0))).toBeNull();
    expect(attack(broken(), Uint8Array.of(1))).toMatch(/non-ProtocolError/);
    expect(attack(broken(), Uint8Array.of(2))).toBeNull();
    expect(attack(broken(), Uint8Array.of(3))).toMatch(/unexpected code/);
    expect(attack(broken(['DECODE_BAD_VALUE']), Uint8Array.of(2))).toMatch(/unexpected code/);
  });

  for (const d of decoders) {
    const share = Math.max(200, Math.round((TOTAL * (d.weight ?? 1)) / totalWeight));
    const samples = d.samples();
    const maxLen = Math.max(64, ...samples.map((s) => s.length * 2));

    it(`${d.name}: valid samples decode`, () => {
      expect(samples.length).toBeGreaterThan(0);
      for (const s of samples) expect(() => d.decode(s)).not.toThrow();
    });

    it(`${d.name}: random bytes (${Math.round(share * 0.4)} runs)`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: maxLen }), (b) => check(d, b)),
        { numRuns: Math.round(share * 0.4) },
      );
    });

    it(`${d.name}: mutated samples (${Math.round(share * 0.6)} runs)`, () => {
      fc.assert(
        fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (i, ms) => {
          let b = samples[i % samples.length]!;
          for (const m of ms) b = mutate(b, m, samples);
          return check(d, b);
        }),
        { numRuns: Math.round(share * 0.6) },
      );
    });
  }
});
