/**
 * CellQueue: a FIFO of cells that bounds the backing memory its cells keep
 * alive. Cells that are views into big shared buffers (slab cells) are kept
 * as views while the count stays under the budget and copied past it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CELL_SIZE } from '../src/constants.js';
import { allocCellBuffer, CellQueue, SLAB_SIZE } from '../src/onion/index.js';

/** A CELL_SIZE view at `offset` into `buf`, stamped with `tag`. */
function cellIn(buf: ArrayBuffer, offset: number, tag: number): Uint8Array {
  const c = new Uint8Array(buf, offset, CELL_SIZE);
  new DataView(buf).setUint32(offset, tag);
  return c;
}

function tagOf(c: Uint8Array): number {
  return new DataView(c.buffer, c.byteOffset, 4).getUint32(0);
}

/** Bytes of the distinct buffers the queue's cells reference, draining it. */
function drain(q: CellQueue): { tags: number[]; pinned: number } {
  const buffers = new Set<ArrayBufferLike>();
  const tags: number[] = [];
  for (let c = q.shift(); c; c = q.shift()) {
    buffers.add(c.buffer);
    expect(c.length).toBe(CELL_SIZE);
    tags.push(tagOf(c));
  }
  let pinned = 0;
  for (const b of buffers) pinned += b.byteLength;
  return { tags, pinned };
}

describe('CellQueue', () => {
  it('cells from a different slab each are copied past the budget: pinned bytes stay bounded', () => {
    const q = new CellQueue(256);
    for (let i = 0; i < 255; i++) q.push(cellIn(new ArrayBuffer(SLAB_SIZE), 0, i));
    expect(q.length).toBe(255);
    expect(q.copies).toBeGreaterThan(200);
    const counted = q.pinnedBytes;
    const { tags, pinned } = drain(q);
    expect(tags).toEqual(Array.from({ length: 255 }, (_, i) => i));
    // Views would pin 255 × 64 KiB (16 MiB).
    expect(pinned).toBeLessThanOrEqual(q.budget + 255 * CELL_SIZE);
    expect(counted).toBeGreaterThanOrEqual(pinned);
    expect(q.pinnedBytes).toBe(0);
  });

  it('a full queue of consecutive slab cells (a flowing route) is kept as views, no copy', () => {
    const q = new CellQueue(256);
    const cells = Array.from({ length: 256 }, () => allocCellBuffer());
    for (const c of cells) q.push(c);
    expect(q.copies).toBe(0);
    for (const c of cells) expect(q.shift()).toBe(c);
    expect(q.pinnedBytes).toBe(0);
  });

  it('keeps order and content under any mix of pushes and shifts; the count bounds what is pinned', () => {
    const op = fc.oneof(
      fc.record({ push: fc.constantFrom('fresh', 'same', 'own') }),
      fc.record({ shift: fc.constant(true) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(op, { maxLength: 200 }), (max, ops) => {
        const q = new CellQueue(max);
        const model: number[] = [];
        let slab = new ArrayBuffer(SLAB_SIZE);
        let used = 0;
        let tag = 0;
        for (const o of ops) {
          if ('shift' in o) {
            const c = q.shift();
            expect(c === undefined ? undefined : tagOf(c)).toBe(model.shift());
            continue;
          }
          let c: Uint8Array;
          if (o.push === 'own') c = cellIn(new ArrayBuffer(CELL_SIZE), 0, tag);
          else {
            if (o.push === 'fresh' || used + CELL_SIZE > SLAB_SIZE) {
              slab = new ArrayBuffer(SLAB_SIZE);
              used = 0;
            }
            c = cellIn(slab, used, tag);
            used += CELL_SIZE;
          }
          q.push(c);
          model.push(tag++);
          expect(q.length).toBe(model.length);
        }
        const counted = q.pinnedBytes;
        const n = q.length;
        const { tags, pinned } = drain(q);
        expect(tags).toEqual(model);
        expect(counted).toBeGreaterThanOrEqual(pinned);
        expect(pinned).toBeLessThanOrEqual(q.budget + n * CELL_SIZE);
        expect(q.pinnedBytes).toBe(0);
      }),
    );
  });
});
