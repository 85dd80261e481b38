/**
 * The router under attack: what an instrumented relay sees, tampered and
 * replayed setup packets and data cells, unknown routes, garbage — each
 * dropped where the design says, without crashing and without harming other routes.
 */
import { ready } from '@skymesh/crypto';
import { CELL_SIZE } from '@skymesh/protocol';
import { RouteCommand } from '@skymesh/protocol/onion';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeMesh, type FakeMesh } from '../src/route/index.js';
import { accept, collect, path, settle } from './_route.js';

beforeAll(() => ready());

let mesh: FakeMesh | undefined;
afterEach(() => {
  mesh?.close();
  mesh = undefined;
});

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const isData = (cell: Uint8Array) => cell[4] === RouteCommand.DATA;
const isSetup = (cell: Uint8Array) => cell[4] === RouteCommand.SETUP;
const runs = (n: number) => Number(process.env.FUZZ_RUNS) || n;

describe('what a relay sees', () => {
  it('a relay sees neither end key nor any payload bytes', async () => {
    const atRelay: Uint8Array[] = [];
    mesh = createFakeMesh(4, {
      link: {
        tap: (cell, from, to) => {
          if (from === 1 || to === 1) atRelay.push(cell.slice());
          return undefined;
        },
      },
    });
    const incoming = accept(mesh, 3);
    const src = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 3]));
    const dst = incoming[0]!;
    collect(dst);
    collect(src);
    const secret = crypto.getRandomValues(new Uint8Array(src.payloadSize));
    for (let i = 0; i < 5; i++) {
      src.send(secret);
      dst.send(secret);
    }
    src.send(new Uint8Array(src.payloadSize)); // all zeros: must not show either
    await settle();
    expect(atRelay.length).toBeGreaterThan(20);
    const forbidden = [
      mesh.ids[0]!.publicKey,
      mesh.ids[0]!.dhPublicKey,
      mesh.ids[3]!.publicKey,
      mesh.ids[3]!.dhPublicKey,
    ];
    const chunks = Array.from({ length: 16 }, (_, i) => secret.subarray(i * 16, i * 16 + 16));
    for (const cell of atRelay) {
      for (const k of forbidden) expect(contains(cell, k)).toBe(false);
      for (const c of chunks) expect(contains(cell, c)).toBe(false);
      // Apart from the 16-byte shift prefix, no long zero run leaks the zero payload.
      expect(contains(cell.subarray(5 + 16), new Uint8Array(32))).toBe(false);
    }
  });

  it('setup cells look the same (size, command) for routes of 1 to 8 hops', async () => {
    const setups: Uint8Array[] = [];
    mesh = createFakeMesh(9, {
      link: {
        tap: (cell, from) => {
          if (from === 0 && isSetup(cell)) setups.push(cell.slice());
          return undefined;
        },
      },
    });
    accept(mesh, 8);
    for (let n = 1; n <= 8; n++) {
      accept(mesh, n);
      await mesh.routers[0]!.buildRoute(
        path(
          mesh,
          Array.from({ length: n }, (_, i) => i + 1),
        ),
      );
    }
    expect(setups).toHaveLength(8);
    for (const s of setups) expect(s.length).toBe(CELL_SIZE);
  });
});

describe('tampering and replay', () => {
  it('a tampered setup packet is dropped at the next hop and the build times out', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 5 * 8, max: (5 + 1968) * 8 - 1 }), async (bit) => {
        const m = createFakeMesh(4, {
          link: {
            tap: (cell, from, to) => {
              if (from !== 1 || to !== 2 || !isSetup(cell)) return undefined;
              const t = cell.slice();
              t[bit >> 3]! ^= 1 << (bit & 7);
              return t;
            },
          },
        });
        try {
          accept(m, 3);
          const err = await m.routers[0]!.buildRoute(path(m, [1, 2, 3]), { timeoutMs: 100 }).catch(
            (e) => e,
          );
          expect(err.code).toBe('ROUTE_SETUP_TIMEOUT');
          const d = m.routers[2]!.stats().drops;
          expect(d.badMac + d.badKey).toBe(1);
          expect(m.routers[3]!.stats().routes.destination).toBe(0);
        } finally {
          m.close();
        }
      }),
      { numRuns: runs(3) },
    );
  });

  it('a replayed setup packet is dropped by the tag cache', async () => {
    const setups: Uint8Array[] = [];
    mesh = createFakeMesh(4, {
      link: {
        tap: (cell, from, to) => {
          if (from === 1 && to === 2 && isSetup(cell)) setups.push(cell.slice());
          return undefined;
        },
      },
    });
    accept(mesh, 3);
    await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 3]));
    const replay = setups[0]!.slice();
    replay[3]! ^= 0x55; // a fresh route ID on that link, same packet
    mesh.pair(2, 1).ab.receive(replay);
    await settle();
    expect(mesh.routers[2]!.stats().drops.replay).toBe(1);
    expect(mesh.routers[2]!.stats().routes.relay).toBe(1);
    expect(mesh.routers[3]!.stats().routes.destination).toBe(1);
  });

  it('a tampered forward data cell is caught at the next hop; the route is torn down', async () => {
    let tamper = false;
    mesh = createFakeMesh(4, {
      link: {
        tap: (cell, from, to) => {
          if (!tamper || from !== 1 || to !== 2 || !isData(cell)) return undefined;
          tamper = false;
          const t = cell.slice();
          t[1000]! ^= 0x01;
          return t;
        },
      },
    });
    const incoming = accept(mesh, 3);
    const src = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 3]));
    const got = collect(incoming[0]!);
    const closed: string[] = [];
    src.onClose((r) => closed.push(r));
    src.send(Uint8Array.of(1));
    await settle();
    tamper = true;
    src.send(Uint8Array.of(2));
    await settle();
    expect(mesh.routers[2]!.stats().drops.badMac).toBe(1);
    expect(got).toEqual([Uint8Array.of(1)]);
    // The relay's counter moved on, the next hop's did not: later cells fail too,
    // and after 8 failures the next hop gives the route up.
    for (let i = 0; i < 8; i++) src.send(Uint8Array.of(3));
    await settle();
    expect(got).toEqual([Uint8Array.of(1)]);
    expect(closed).toEqual(['destroyed']);
    expect(mesh.routers[2]!.stats().routes.relay).toBe(0);
  });

  it('a replayed or injected forward data cell is dropped and the route keeps working', async () => {
    const cells: Uint8Array[] = [];
    mesh = createFakeMesh(4, {
      link: {
        tap: (cell, from, to) => {
          if (from === 0 && to === 1 && isData(cell)) cells.push(cell.slice());
          return undefined;
        },
      },
    });
    const incoming = accept(mesh, 3);
    const src = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 3]));
    const got = collect(incoming[0]!);
    src.send(Uint8Array.of(1));
    await settle();
    const link = mesh.pair(1, 0).ab; // node 1's end: receive() hands cells to node 1
    link.receive(cells[0]!);
    const forged = cells[0]!.slice();
    crypto.getRandomValues(forged.subarray(5));
    link.receive(forged);
    await settle();
    expect(mesh.routers[1]!.stats().drops.badMac).toBe(2);
    src.send(Uint8Array.of(2));
    await settle();
    expect(got).toEqual([Uint8Array.of(1), Uint8Array.of(2)]);
    expect(src.status).toBe('open');
  });

  it('a tampered backward cell is caught at the source, which closes the route', async () => {
    let tamper = false;
    mesh = createFakeMesh(4, {
      link: {
        tap: (cell, from, to) => {
          if (!tamper || from !== 2 || to !== 1 || !isData(cell)) return undefined;
          tamper = false;
          const t = cell.slice();
          t[700]! ^= 0x80;
          return t;
        },
      },
    });
    const incoming = accept(mesh, 3);
    const src = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 3]));
    const got = collect(src);
    const closed: string[] = [];
    incoming[0]!.onClose((r) => closed.push(r));
    tamper = true;
    incoming[0]!.send(Uint8Array.of(9));
    await settle();
    expect(got).toEqual([]);
    expect(src.status).toBe('closed');
    expect(mesh.routers[0]!.stats().drops.badMac).toBe(1);
    expect(closed).toEqual(['destroyed']);
  });

  it('DESTROY, PAUSE or RESUME with a wrong token is ignored', async () => {
    let routeId: Uint8Array | undefined;
    mesh = createFakeMesh(3, {
      link: {
        tap: (cell, from) => {
          if (from === 0 && isSetup(cell)) routeId = cell.slice(0, 4);
          return undefined;
        },
      },
    });
    const incoming = accept(mesh, 2);
    const src = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2]));
    const got = collect(incoming[0]!);
    const link = mesh.pair(1, 0).ab;
    for (const command of [RouteCommand.DESTROY, RouteCommand.PAUSE, RouteCommand.RESUME]) {
      for (let i = 0; i < 10; i++) {
        const cell = crypto.getRandomValues(new Uint8Array(CELL_SIZE));
        cell.set(routeId!, 0);
        cell[4] = command;
        link.receive(cell);
      }
    }
    src.send(Uint8Array.of(7));
    await settle();
    expect(got).toEqual([Uint8Array.of(7)]);
    expect(mesh.routers[1]!.stats().drops.badToken).toBe(30);
    expect(mesh.routers[1]!.stats().routes.relay).toBe(1);
  });
});

describe('setup floods', () => {
  it('a link bringing too many SETUP cells has the excess dropped unprocessed', async () => {
    mesh = createFakeMesh(3, { router: { setupRate: { perSecond: 1, burst: 3 } } });
    accept(mesh, 2);
    const link = mesh.pair(1, 0).ab;
    const setup = (top: number, id: number) => {
      const cell = crypto.getRandomValues(new Uint8Array(CELL_SIZE));
      cell.set([top, 0, 0, id, RouteCommand.SETUP], 0);
      return cell;
    };
    // Garbage SETUPs with either side bit: those with node 0's bit reach the
    // bucket, the others are dropped as malformed before it.
    for (let i = 1; i <= 10; i++) {
      link.receive(setup(0, i));
      link.receive(setup(0x80, i));
    }
    const d = mesh.routers[1]!.stats().drops;
    expect(d.badMac + d.badKey).toBe(3);
    expect(d.rateLimited).toBe(7);
    mesh.clock.now += 3000;
    await expect(mesh.routers[0]!.buildRoute(path(mesh, [1, 2]))).resolves.toBeDefined();
  });
});

describe('garbage', () => {
  it('truncated, oversized and random cells never crash and other routes keep working', async () => {
    mesh = createFakeMesh(4);
    const incoming = accept(mesh, 3);
    const a = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 3]));
    const b = await mesh.routers[0]!.buildRoute(path(mesh, [2, 1, 3]));
    const gotA = collect(incoming[0]!);
    const gotB = collect(incoming[1]!);
    const toRelay = mesh.pair(1, 0).ab;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: CELL_SIZE + 10 }),
          fc.uint8Array({ minLength: CELL_SIZE, maxLength: CELL_SIZE }),
          fc
            .tuple(
              fc.integer({ min: 1, max: 5 }),
              fc.uint8Array({ minLength: CELL_SIZE, maxLength: CELL_SIZE }),
            )
            .map(([cmd, c]) => {
              c[4] = cmd;
              return c;
            }),
        ),
        (cell) => {
          expect(() => toRelay.receive(cell)).not.toThrow();
        },
      ),
      { numRuns: runs(200) },
    );
    await settle();
    expect(a.send(Uint8Array.of(1))).toBe(true);
    expect(b.send(Uint8Array.of(2))).toBe(true);
    await settle();
    expect(gotA).toEqual([Uint8Array.of(1)]);
    expect(gotB).toEqual([Uint8Array.of(2)]);
    const s = mesh.routers[1]!.stats();
    expect(s.drops.handlerError).toBe(0);
    expect(s.drops.malformed + s.drops.unknownRoute + s.drops.badMac).toBeGreaterThan(0);
  });
});

describe('memory', () => {
  it('a stalled route cannot pin more than its accounted bytes while other routes flow', async () => {
    // The feeder ignores PAUSE (the tap drops it) and keeps sending route A's
    // cells to relay 1, whose link to A's next hop is stalled, while route B
    // flows through relay 1: 31 B cells follow each A cell, so each cell
    // relay 1 queues for A is carved from a different 64 KiB slab.
    mesh = createFakeMesh(4, {
      link: {
        queueLimit: 16,
        tap: (cell, from, to) =>
          from === 1 && to === 0 && cell[4] === RouteCommand.PAUSE ? null : undefined,
      },
    });
    const inA = accept(mesh, 2);
    const inB = accept(mesh, 3);
    const a = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2]));
    const b = await mesh.routers[0]!.buildRoute(path(mesh, [1, 3]));
    const gotA = collect(inA[0]!);
    const gotB = collect(inB[0]!);
    const stalled = mesh.pair(1, 2).ab;
    stalled.hold();
    const A_CELLS = 240;
    let sentB = 0;
    for (let i = 0; i < A_CELLS; i++) {
      expect(a.send(payload(i))).toBe(true);
      for (let j = 0; j < 31; j++) if (b.send(payload(sentB))) sentB++;
      await settle(2);
    }
    await settle();
    const relay = mesh.routers[1]!.debugState() as {
      routes: { next?: { peer: string; queue: number; queuePinnedBytes: number } }[];
      pausesSent: number;
    };
    const side = relay.routes.find((r) => r.next?.peer === stalled.peerAddress.slice(0, 12))!;
    const queued = side.next!.queue;
    expect(queued).toBeGreaterThan(200);
    expect(relay.pausesSent).toBeGreaterThan(0);
    // Every cell relay 1 held for A is handed to the link once it moves again:
    // the backing buffers those cells keep alive are what the queue pinned.
    const buffers = new Set<ArrayBufferLike>();
    const send = stalled.sendCell.bind(stalled);
    stalled.sendCell = (cell) => {
      buffers.add(cell.buffer);
      return send(cell);
    };
    stalled.release();
    for (let i = 0; i < 40 && gotA.length < A_CELLS; i++) await settle();
    expect(gotA).toEqual(Array.from({ length: A_CELLS }, (_, i) => payload(i)));
    expect(gotB).toHaveLength(sentB);
    let pinned = 0;
    for (const buf of buffers) pinned += buf.byteLength;
    // Accounted: the route's queue bound (256 cells) plus two slabs for views,
    // and one cell per queued copy. Unbounded, each of the ~224 cells pins 64 KiB (14 MiB).
    const bound = 256 * CELL_SIZE + 2 * 64 * 1024 + queued * CELL_SIZE;
    expect(pinned).toBeLessThanOrEqual(bound);
    // The queue's own count is an upper bound of what its cells really pinned.
    expect(side.next!.queuePinnedBytes).toBeGreaterThanOrEqual(pinned);
  });
});

function payload(i: number): Uint8Array {
  const p = new Uint8Array(64);
  new DataView(p.buffer).setUint32(0, i);
  return p;
}
