// The bounded replay cache never lets a replay through, even after eviction.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplayCache } from '../src/link/index.js';

const numRuns = Number(process.env.FUZZ_RUNS ?? 50);
const tag = (n: number) => Uint8Array.of(n >> 8, n & 0xff);

describe('ReplayCache', () => {
  it('refuses a repeat and accepts fresh tags', () => {
    const c = new ReplayCache({ windowMs: 1000 });
    expect(c.check(tag(1), 100, 100)).toBe(true);
    expect(c.check(tag(2), 100, 100)).toBe(true);
    expect(c.check(tag(1), 100, 150)).toBe(false);
    expect(c.size).toBe(2);
  });

  it('forgets entries older than the window but still refuses them', () => {
    const c = new ReplayCache({ windowMs: 1000 });
    c.check(tag(1), 100, 100);
    expect(c.check(tag(2), 2000, 2000)).toBe(true);
    expect(c.size).toBe(1);
    expect(c.check(tag(1), 100, 2000)).toBe(false);
  });

  it('never accepts a tag twice, whatever the order, clocks and cache size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ id: fc.nat(40), dt: fc.nat(50) }), {
          maxLength: 200,
        }),
        fc.integer({ min: 1, max: 8 }),
        (events, max) => {
          const c = new ReplayCache({ windowMs: 1000, maxEntries: max });
          const accepted = new Set<number>();
          let now = 0;
          for (const e of events) {
            now += e.dt;
            // Tags are per message: the same id always comes with the same timestamp.
            const ts = e.id * 100;
            if (c.check(tag(e.id), ts, now)) {
              expect(accepted.has(e.id)).toBe(false);
              accepted.add(e.id);
            }
            expect(c.size).toBeLessThanOrEqual(max);
          }
        },
      ),
      { numRuns },
    );
  });
});
