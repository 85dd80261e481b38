/** The onion setup packet and data-cell layers: round trips, fixed size, tamper, replay, staleness. */
import { equalBytes, Identity, ready } from '@skymesh/crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CELL_SIZE, MAX_HOPS } from '../src/constants.js';
import {
  addBackwardLayer,
  CELL_BODY_SIZE,
  cellBody,
  createSetupPacket,
  decodeRouteHeader,
  encodeCell,
  InnerType,
  LAYER_SHIFT,
  type OnionError,
  openBackward,
  openForward,
  type ProcessedSetup,
  processSetupPacket,
  ReplayCache,
  ROUTE_PAYLOAD_SIZE,
  RouteCommand,
  readInner,
  SETUP_PACKET_SIZE,
  SlotKind,
  sealBackward,
  sealForward,
} from '../src/onion/index.js';
import { runs, thrown } from './_fuzz.js';

const NOW = 1_800_000_000_000;
let pool: Identity[] = [];

beforeAll(async () => {
  await ready();
  pool = Array.from({ length: 10 }, () => Identity.generate());
});

function codeOf(fn: () => unknown): string | undefined {
  return (thrown(fn) as OnionError | undefined)?.code;
}

/** Walks a packet through every hop, returning each hop's result. */
function walk(ids: Identity[], packet: Uint8Array, now = NOW): ProcessedSetup[] {
  const out: ProcessedSetup[] = [];
  let p = packet;
  for (let i = 0; i < ids.length; i++) {
    const r = processSetupPacket(ids[i]!.dhSecretKey, p, { now });
    out.push(r);
    if (i < ids.length - 1) {
      expect(r.kind).toBe(SlotKind.RELAY);
      expect(equalBytes(r.next!.peerKey, ids[i + 1]!.publicKey)).toBe(true);
      expect(r.next!.packet.length).toBe(SETUP_PACKET_SIZE);
      p = r.next!.packet;
    } else {
      expect(r.kind).toBe(SlotKind.DESTINATION);
      expect(r.next).toBeUndefined();
    }
  }
  return out;
}

describe('setup packet', () => {
  it('is the same size for 1..8 hops and fits one cell', () => {
    expect(SETUP_PACKET_SIZE).toBeLessThanOrEqual(CELL_BODY_SIZE);
    for (let n = 1; n <= MAX_HOPS; n++) {
      const path = Array.from({ length: n }, (_, i) => ({ publicKey: pool[i]!.publicKey }));
      expect(createSetupPacket(path, { now: NOW }).packet.length).toBe(SETUP_PACKET_SIZE);
    }
  });

  it('round-trips keys, tokens and vouchers for random paths', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: MAX_HOPS }),
        fc.array(fc.uint8Array({ maxLength: 128 }), { minLength: MAX_HOPS, maxLength: MAX_HOPS }),
        (idx, vouchers) => {
          const ids = idx.map((i) => pool[i]!);
          const path = ids.map((id, i) => ({ publicKey: id.publicKey, voucher: vouchers[i]! }));
          const built = createSetupPacket(path, { now: NOW });
          const hops = walk(ids, built.packet);
          hops.forEach((h, i) => {
            const k = built.hops[i]!;
            expect(equalBytes(h.keys.forward, k.forward)).toBe(true);
            expect(equalBytes(h.keys.backward, k.backward)).toBe(true);
            const prev = i === 0 ? built.firstToken : built.hops[i - 1]!.nextToken;
            expect(equalBytes(h.prevToken, prev)).toBe(true);
            const v = new Uint8Array(128);
            v.set(vouchers[i]!);
            expect(equalBytes(h.voucher, v)).toBe(true);
          });
        },
      ),
      { numRuns: runs(12) },
    );
  });

  it('drops a packet with any flipped bit at the next hop (ONION_BAD_MAC / ONION_BAD_KEY)', () => {
    const ids = pool.slice(0, 3);
    const built = createSetupPacket(
      ids.map((id) => ({ publicKey: id.publicKey })),
      { now: NOW },
    );
    const first = processSetupPacket(ids[0]!.dhSecretKey, built.packet, { now: NOW });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: SETUP_PACKET_SIZE * 8 - 1 }), (bit) => {
        const p = first.next!.packet.slice();
        p[bit >> 3]! ^= 1 << (bit & 7);
        const code = codeOf(() => processSetupPacket(ids[1]!.dhSecretKey, p, { now: NOW }));
        expect(['ONION_BAD_MAC', 'ONION_BAD_KEY']).toContain(code);
      }),
      { numRuns: runs(20) },
    );
  });

  it('is refused by the wrong hop, when replayed, when stale, when truncated', () => {
    const ids = pool.slice(0, 2);
    const built = createSetupPacket(
      ids.map((id) => ({ publicKey: id.publicKey })),
      { now: NOW },
    );
    expect(codeOf(() => processSetupPacket(ids[1]!.dhSecretKey, built.packet, { now: NOW }))).toBe(
      'ONION_BAD_MAC',
    );
    const replay = new ReplayCache();
    processSetupPacket(ids[0]!.dhSecretKey, built.packet, { now: NOW, replay });
    expect(
      codeOf(() => processSetupPacket(ids[0]!.dhSecretKey, built.packet, { now: NOW + 5, replay })),
    ).toBe('ONION_REPLAY');
    expect(
      codeOf(() => processSetupPacket(ids[0]!.dhSecretKey, built.packet, { now: NOW + 120_000 })),
    ).toBe('ONION_STALE');
    expect(
      codeOf(() =>
        processSetupPacket(ids[0]!.dhSecretKey, built.packet.subarray(0, 100), { now: NOW }),
      ),
    ).toBe('ONION_BAD_CELL');
    expect(codeOf(() => createSetupPacket([], { now: NOW }))).toBe('ONION_BAD_PATH');
    const nine = Array.from({ length: 9 }, (_, i) => ({ publicKey: pool[i]!.publicKey }));
    expect(codeOf(() => createSetupPacket(nine, { now: NOW }))).toBe('ONION_BAD_PATH');
    expect(
      codeOf(() => createSetupPacket([{ publicKey: new Uint8Array(32).fill(0xff) }], { now: NOW })),
    ).toBe('ONION_BAD_PATH');
  });

  it('never throws anything but OnionError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: SETUP_PACKET_SIZE + 10 }), (bytes) => {
        const err = thrown(() => processSetupPacket(pool[0]!.dhSecretKey, bytes, { now: NOW }));
        expect((err as OnionError).name).toBe('OnionError');
      }),
      { numRuns: runs(30) },
    );
  });
});

describe('replay cache', () => {
  it('remembers a tag for one to two windows and refuses when full', () => {
    const c = new ReplayCache({ windowMs: 1000, maxEntries: 2 });
    const t = (b: number) => new Uint8Array(16).fill(b);
    expect(c.check(t(1), 0)).toBe('fresh');
    expect(c.check(t(1), 999)).toBe('replay');
    expect(c.check(t(1), 1500)).toBe('replay');
    expect(c.check(t(2), 1500)).toBe('fresh');
    expect(c.check(t(3), 1500)).toBe('fresh');
    expect(c.check(t(4), 1600)).toBe('full');
    expect(c.check(t(1), 2100)).toBe('fresh');
    expect(c.size).toBeLessThanOrEqual(4);
  });
});

/** Passes a forward body through the hops as relays would; returns the destination's message. */
function forwardThrough(keys: Uint8Array[], counter: number, body: Uint8Array) {
  let b = body;
  for (let i = 0; i < keys.length; i++) {
    const pt = openForward(keys[i]!, counter, b);
    if (!pt) return { failedAt: i };
    // Every hop sees 16 zero bytes first, whatever its position.
    expect(b.subarray(0, LAYER_SHIFT).every((x) => x === 0)).toBe(true);
    if (i === keys.length - 1) return { inner: readInner(pt) };
    const next = new Uint8Array(CELL_BODY_SIZE);
    next.set(pt, LAYER_SHIFT);
    b = next;
  }
  return {};
}

describe('data layers', () => {
  const randomKeys = (n: number) =>
    Array.from({ length: n }, () => crypto.getRandomValues(new Uint8Array(32)));

  it('round-trip forward and backward for random route lengths and payloads', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_HOPS }),
        fc.uint8Array({ maxLength: ROUTE_PAYLOAD_SIZE }),
        fc.nat({ max: 2 ** 40 }),
        (n, payload, counter) => {
          const fwd = randomKeys(n);
          const bwd = randomKeys(n);
          const body = sealForward(fwd, counter, InnerType.DATA, payload);
          expect(body.length).toBe(CELL_BODY_SIZE);
          const got = forwardThrough(fwd, counter, body);
          expect(got.inner?.type).toBe(InnerType.DATA);
          expect(equalBytes(got.inner!.payload, payload)).toBe(true);

          let back = sealBackward(bwd[n - 1]!, counter, InnerType.DATA, payload);
          for (let i = n - 2; i >= 0; i--) back = addBackwardLayer(bwd[i]!, counter, back);
          const msg = openBackward(bwd, counter, back);
          expect(msg?.hop).toBe(n - 1);
          expect(equalBytes(msg!.payload, payload)).toBe(true);
        },
      ),
      { numRuns: runs(25) },
    );
  });

  it('does not show the destination where the shift garbage ends (route length)', () => {
    for (const n of [1, 4, MAX_HOPS]) {
      const fwd = randomKeys(n);
      const body = sealForward(fwd, 3, InnerType.DATA, Uint8Array.of(5));
      let b = body;
      for (let i = 0; i < n - 1; i++) {
        const next = new Uint8Array(CELL_BODY_SIZE);
        next.set(openForward(fwd[i]!, 3, b)!, LAYER_SHIFT);
        b = next;
      }
      const pt = openForward(fwd[n - 1]!, 3, b)!;
      // Both the plaintext and the ciphertext (the destination knows its keystream):
      // no run of 16 zero bytes anywhere but the ciphertext's first 16 bytes.
      const zeros = new Uint8Array(16);
      const hasZeroRun = (x: Uint8Array) =>
        x.some((_, i) => i + 16 <= x.length && equalBytes(x.subarray(i, i + 16), zeros));
      expect(hasZeroRun(pt.subarray(0, pt.length - 8))).toBe(false);
      expect(hasZeroRun(b.subarray(LAYER_SHIFT))).toBe(false);
    }
  });

  it('catches a flipped bit at the next hop, and a replay by its counter', () => {
    const fwd = randomKeys(3);
    const body = sealForward(fwd, 7, InnerType.DATA, new Uint8Array([1, 2, 3]));
    const pt = openForward(fwd[0]!, 7, body)!;
    const next = new Uint8Array(CELL_BODY_SIZE);
    next.set(pt, LAYER_SHIFT);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: CELL_BODY_SIZE * 8 - 1 }), (bit) => {
        const t = next.slice();
        t[bit >> 3]! ^= 1 << (bit & 7);
        expect(openForward(fwd[1]!, 7, t)).toBeNull();
      }),
      { numRuns: runs(30) },
    );
    expect(openForward(fwd[1]!, 8, next)).toBeNull();
    expect(openForward(fwd[1]!, 7, next)).not.toBeNull();
  });

  it('lets the source read an error sealed by a relay under two layers', () => {
    const bwd = randomKeys(4);
    let b = sealBackward(bwd[2]!, 0, InnerType.ERROR, Uint8Array.of(1));
    b = addBackwardLayer(bwd[1]!, 0, b);
    b = addBackwardLayer(bwd[0]!, 0, b);
    const msg = openBackward(bwd, 0, b);
    expect(msg).toMatchObject({ hop: 2, type: InnerType.ERROR });
    expect([...msg!.payload]).toEqual([1]);
    b[100]! ^= 1;
    expect(openBackward(bwd, 0, b)).toBeNull();
  });

  it('refuses payloads over ROUTE_PAYLOAD_SIZE', () => {
    const big = new Uint8Array(ROUTE_PAYLOAD_SIZE + 1);
    expect(codeOf(() => sealForward(randomKeys(1), 0, InnerType.DATA, big))).toBe(
      'ONION_TOO_LARGE',
    );
  });
});

describe('route header', () => {
  it('encodes and decodes; rejects wrong sizes and unknown commands', () => {
    const cell = encodeCell(0x80000001, RouteCommand.DATA, new Uint8Array(10).fill(7));
    expect(cell.length).toBe(CELL_SIZE);
    expect(decodeRouteHeader(cell)).toEqual({ routeId: 0x80000001, command: RouteCommand.DATA });
    expect(cellBody(cell)[0]).toBe(7);
    expect(codeOf(() => decodeRouteHeader(cell.subarray(1)))).toBe('ONION_BAD_CELL');
    const bad = cell.slice();
    bad[4] = 99;
    expect(codeOf(() => decodeRouteHeader(bad))).toBe('ONION_BAD_CELL');
  });
});
