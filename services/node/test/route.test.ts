/** Router end to end over in-memory links: routes of 1, 3 and 8 hops, teardown, expiry, keepalive, errors. */
import { Identity, ready } from '@skymesh/crypto';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RouteChannel } from '../src/contracts.js';
import {
  choosePath,
  createCellLinkPair,
  createFakeMesh,
  createRouter,
  type FakeMesh,
  RouteIdAllocator,
} from '../src/route/index.js';
import { accept, collect, path, settle } from './_route.js';

beforeAll(() => ready());

let mesh: FakeMesh | undefined;
afterEach(() => {
  mesh?.close();
  mesh = undefined;
});

function payload(i: number, size: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let j = 0; j < size; j++) p[j] = (i * 31 + j) & 0xff;
  return p;
}

describe('routes over fake links', () => {
  for (const hops of [1, 3, 8]) {
    it(`carries payloads both ways intact and in order over ${hops} hop(s)`, async () => {
      mesh = createFakeMesh(hops + 1);
      const incoming = accept(mesh, hops);
      const src = await mesh.routers[0]!.buildRoute(
        path(
          mesh,
          Array.from({ length: hops }, (_, i) => i + 1),
        ),
      );
      expect(incoming).toHaveLength(1);
      const dst = incoming[0]!;
      expect(src.payloadSize).toBe(dst.payloadSize);
      const atDst = collect(dst);
      const atSrc = collect(src);
      const sizes = [0, 1, 100, src.payloadSize];
      for (let i = 0; i < 20; i++) {
        expect(src.send(payload(i, sizes[i % 4]!))).toBe(true);
        expect(dst.send(payload(i + 1000, sizes[(i + 1) % 4]!))).toBe(true);
      }
      await settle();
      expect(atDst).toEqual(Array.from({ length: 20 }, (_, i) => payload(i, sizes[i % 4]!)));
      expect(atSrc).toEqual(
        Array.from({ length: 20 }, (_, i) => payload(i + 1000, sizes[(i + 1) % 4]!)),
      );
      expect(atSrc).toHaveLength(20);
      const relayStats = hops > 1 ? mesh.routers[1]!.stats() : undefined;
      if (relayStats) {
        expect(relayStats.routes.relay).toBe(1);
        expect(relayStats.cellsForwarded).toBe(41); // 20 + 20 data, 1 ack
      }
      expect(mesh.routers[0]!.stats().setupLatencyMs.count).toBe(1);
    });
  }

  it('round-trips random payload sequences over random path lengths (property)', async () => {
    mesh = createFakeMesh(9);
    const m = mesh;
    const incoming = accept(m, 8);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.integer({ min: 0, max: 1896 }), { minLength: 1, maxLength: 12 }),
        async (hops, sizes) => {
          const relays = [1, 2, 3, 4, 5, 6, 7].slice(0, hops - 1);
          const before = incoming.length;
          const src = await m.routers[0]!.buildRoute(path(m, [...relays, 8]));
          const dst = incoming[before]!;
          const there = collect(dst);
          const back = collect(src);
          sizes.forEach((n, i) => {
            src.send(payload(i, n));
            dst.send(payload(i + 7, n));
          });
          await settle();
          expect(there).toEqual(sizes.map((n, i) => payload(i, n)));
          expect(back).toEqual(sizes.map((n, i) => payload(i + 7, n)));
          src.close();
          await settle();
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS) || 8 },
    );
  });

  it('tears a route down hop by hop from either end', async () => {
    mesh = createFakeMesh(4);
    const incoming = accept(mesh, 3);
    const src = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 3]));
    const dst = incoming[0]!;
    const closed: string[] = [];
    dst.onClose((r) => closed.push(`dst:${r}`));
    src.onClose((r) => closed.push(`src:${r}`));
    src.send(payload(1, 10));
    const got = collect(dst);
    src.close();
    await settle();
    expect(got).toHaveLength(1); // queued data goes before the DESTROY
    expect(closed).toEqual(['src:closed', 'dst:destroyed']);
    for (const r of mesh.routers)
      expect(r.stats().routes).toEqual({ source: 0, relay: 0, destination: 0 });

    const src2 = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 3]));
    const closed2: string[] = [];
    src2.onClose((r) => closed2.push(r));
    incoming[1]!.close();
    await settle();
    expect(closed2).toEqual(['destroyed']);
    expect(src2.status).toBe('closed');
    expect(src2.send(new Uint8Array(1))).toBe(false);
    for (const r of mesh.routers) expect(r.stats().routes.relay).toBe(0);
  });

  it('keeps a route alive with keepalives and expires it when idle', async () => {
    mesh = createFakeMesh(4, { router: { keepaliveMs: 15_000, idleTimeoutMs: 60_000 } });
    const incoming = accept(mesh, 3);
    const src = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 3]));
    for (let i = 0; i < 8; i++) {
      mesh.clock.now += 15_001;
      for (const r of mesh.routers) r.tick();
      await settle();
    }
    expect(src.status).toBe('open');
    expect(incoming[0]!.status).toBe('open');
    expect(mesh.routers[2]!.stats().routes.relay).toBe(1);

    const closed: string[] = [];
    src.onClose((r) => closed.push(r));
    incoming[0]!.onClose((r) => closed.push(r));
    mesh.clock.now += 60_001;
    mesh.routers[2]!.tick(); // only the relay notices
    await settle();
    expect(closed.sort()).toEqual(['destroyed', 'destroyed']);
    for (const r of mesh.routers)
      expect(r.stats().routes).toEqual({ source: 0, relay: 0, destination: 0 });
  });

  it('reports an unreachable next hop to the source, naming the hop', async () => {
    mesh = createFakeMesh(5);
    accept(mesh, 4);
    mesh.block(2, 3);
    const err = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 3, 4])).catch((e) => e);
    expect(err.code).toBe('ROUTE_SETUP_FAILED');
    expect(err.details).toEqual({ hop: 1, reason: 'NEXT_HOP_UNREACHABLE' });
    await settle();
    for (const r of mesh.routers) expect(r.stats().routes.relay).toBe(0);
  });

  it('fails fast without a first link, with a bad path, and when refused', async () => {
    mesh = createFakeMesh(3);
    mesh.block(0, 1);
    await expect(mesh.routers[0]!.buildRoute(path(mesh, [1]))).rejects.toMatchObject({
      code: 'ROUTE_NO_LINK',
    });
    await expect(mesh.routers[0]!.buildRoute([])).rejects.toMatchObject({ code: 'ROUTE_BAD_PATH' });
    // Node 2 has no incoming handler: it refuses and says so.
    await expect(mesh.routers[0]!.buildRoute(path(mesh, [2]))).rejects.toMatchObject({
      code: 'ROUTE_SETUP_FAILED',
      details: { hop: 0, reason: 'REFUSED' },
    });
  });

  it('hands each hop its voucher and lets it refuse the route', async () => {
    const seen: string[] = [];
    mesh = createFakeMesh(4, {
      router: {
        admit: (req) => {
          seen.push(
            `${req.role}:${req.voucher[0]}:${req.voucher.length}:${req.nextPeerKey ? 1 : 0}`,
          );
          return req.voucher[0] !== 99;
        },
      },
    });
    accept(mesh, 3);
    const hops = [1, 2, 3].map((i) => ({
      publicKey: mesh!.ids[i]!.publicKey,
      voucher: Uint8Array.of(10 + i),
    }));
    await mesh.routers[0]!.buildRoute(hops);
    expect(seen).toEqual(['relay:11:128:1', 'relay:12:128:1', 'destination:13:128:0']);
    const refused = hops.map((h, i) => (i === 1 ? { ...h, voucher: Uint8Array.of(99) } : h));
    await expect(mesh.routers[0]!.buildRoute(refused)).rejects.toMatchObject({
      code: 'ROUTE_SETUP_FAILED',
      details: { hop: 1, reason: 'REFUSED' },
    });
  });

  it('times out when nobody answers', async () => {
    mesh = createFakeMesh(3, {
      link: { tap: (_c, from, to) => (from === 1 && to === 2 ? null : undefined) },
    });
    accept(mesh, 2);
    await expect(
      mesh.routers[0]!.buildRoute(path(mesh, [1, 2]), { timeoutMs: 50 }),
    ).rejects.toMatchObject({ code: 'ROUTE_SETUP_TIMEOUT' });
  });

  it('propagates backpressure from a stalled link back to the source', async () => {
    mesh = createFakeMesh(4, {
      link: { queueLimit: 8 },
      router: { queue: { high: 16, low: 4, max: 64, channel: 8 } },
    });
    const incoming = accept(mesh, 3);
    const src = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 3]));
    const got = collect(incoming[0]!);
    mesh.pair(1, 2).ab.hold();
    let sent = 0;
    let refused = false;
    const pump = () => {
      while (sent < 200) {
        if (!src.send(payload(sent, 50))) {
          refused = true;
          return;
        }
        sent++;
      }
    };
    src.onDrain(pump);
    pump();
    await settle();
    pump();
    await settle();
    expect(refused).toBe(true);
    expect(sent).toBeLessThan(200);
    expect(src.status).toBe('open');
    mesh.pair(1, 2).ab.release();
    for (let i = 0; i < 40 && got.length < 200; i++) await settle();
    expect(got).toHaveLength(200);
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => payload(i, 50)));
    expect(mesh.routers[1]!.stats().drops.congestion).toBe(0);
  });
});

describe('links', () => {
  it('relays through a link that getLink opens asynchronously', async () => {
    const [s, r, d] = [Identity.generate(), Identity.generate(), Identity.generate()];
    const sr = createCellLinkPair(s.publicKey, r.publicKey);
    const rd = createCellLinkPair(r.publicKey, d.publicKey);
    const src = createRouter({ identity: s, getLink: () => sr.a, sweepMs: 0 });
    const relay = createRouter({
      identity: r,
      sweepMs: 0,
      getLink: async () => {
        await new Promise((ok) => setTimeout(ok, 5));
        return rd.a;
      },
    });
    const dst = createRouter({ identity: d, getLink: () => undefined, sweepMs: 0 });
    relay.attachLink(sr.b);
    dst.attachLink(rd.b);
    const incoming: RouteChannel[] = [];
    dst.onIncomingRoute((ch) => incoming.push(ch));
    try {
      const ch = await src.buildRoute([{ publicKey: r.publicKey }, { publicKey: d.publicKey }]);
      const got = collect(incoming[0]!);
      ch.send(Uint8Array.of(42));
      await settle();
      expect(got).toEqual([Uint8Array.of(42)]);
    } finally {
      for (const x of [src, relay, dst]) x.close();
    }
  });
});

describe('fairness', () => {
  it('a stalled route does not hold up another route on the same links', async () => {
    mesh = createFakeMesh(5, {
      link: { queueLimit: 4 },
      router: { queue: { high: 8, low: 2, max: 64, channel: 8 } },
    });
    const incoming = accept(mesh, 4);
    const a = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 4]));
    const b = await mesh.routers[0]!.buildRoute(path(mesh, [1, 3, 4]));
    const gotA = collect(incoming[0]!);
    const gotB = collect(incoming[1]!);
    mesh.pair(1, 2).ab.hold();
    let sentA = 0;
    let sentB = 0;
    const pumpA = () => {
      while (sentA < 100 && a.send(payload(sentA, 40))) sentA++;
    };
    const pumpB = () => {
      while (sentB < 100 && b.send(payload(sentB, 40))) sentB++;
    };
    a.onDrain(pumpA);
    b.onDrain(pumpB);
    for (let i = 0; i < 30; i++) {
      pumpA();
      pumpB();
      await settle(3);
    }
    expect(sentA).toBeLessThan(100);
    expect(gotB).toEqual(Array.from({ length: 100 }, (_, i) => payload(i, 40)));
    mesh.pair(1, 2).ab.release();
    for (let i = 0; i < 40 && gotA.length < 100; i++) {
      pumpA();
      await settle(3);
    }
    expect(gotA).toEqual(Array.from({ length: 100 }, (_, i) => payload(i, 40)));
  });
});

describe('failures after setup', () => {
  it('a lost link mid-route closes both ends, and the source learns which hop lost it', async () => {
    mesh = createFakeMesh(4);
    const incoming = accept(mesh, 3);
    const src = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 3]));
    const closed: string[] = [];
    src.onClose((r) => closed.push(`src:${r}`));
    incoming[0]!.onClose((r) => closed.push(`dst:${r}`));
    mesh.pair(1, 2).ab.close('gone');
    await settle();
    expect(closed.sort()).toEqual(['dst:destroyed', 'src:hop 0: LINK_LOST']);
    for (const r of mesh.routers) expect(r.stats().routes.relay).toBe(0);
  });

  it('a queue overflowing at a relay tears the route down and reports CONGESTION', async () => {
    mesh = createFakeMesh(4, {
      link: { queueLimit: 4 },
      router: { queue: { high: 1000, low: 1, max: 16, channel: 64 } },
    });
    const incoming = accept(mesh, 3);
    const src = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2, 3]));
    collect(incoming[0]!);
    const closed: string[] = [];
    src.onClose((r) => closed.push(r));
    mesh.pair(1, 2).ab.hold();
    for (let i = 0; i < 60 && src.send(payload(i, 10)); i++) await settle(1);
    await settle();
    expect(closed).toEqual(['hop 0: CONGESTION']);
    expect(mesh.routers[1]!.stats().drops.congestion).toBe(1);
    expect(mesh.routers[1]!.stats().routes.relay).toBe(0);
  });
});

describe('path choice', () => {
  it('picks distinct random relays, excludes keys, ends at the destination, builds', async () => {
    mesh = createFakeMesh(7);
    const incoming = accept(mesh, 6);
    const relays = path(mesh, [0, 1, 2, 3, 4, 5, 1, 6]);
    const dest = { publicKey: mesh.ids[6]!.publicKey };
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const p = choosePath(relays, dest, { exclude: [mesh.ids[0]!.publicKey] });
      expect(p).toHaveLength(3);
      expect(p[2]).toBe(dest);
      const picked = p
        .slice(0, 2)
        .map((h) => mesh!.ids.findIndex((id) => id.publicKey === h.publicKey));
      expect(picked[0]).not.toBe(picked[1]);
      for (const x of picked) expect([1, 2, 3, 4, 5]).toContain(x);
      seen.add(picked.join());
    }
    expect(seen.size).toBeGreaterThan(5);
    expect(choosePath(relays, dest, { hops: 1 })).toEqual([dest]);
    expect(() => choosePath(relays.slice(0, 2), dest, { hops: 4 })).toThrow(
      expect.objectContaining({ code: 'ROUTE_BAD_PATH' }),
    );
    expect(() => choosePath(relays, dest, { hops: 9 })).toThrow(
      expect.objectContaining({ code: 'ROUTE_BAD_PATH' }),
    );
    await mesh.routers[0]!.buildRoute(
      choosePath(relays, dest, { exclude: [mesh.ids[0]!.publicKey] }),
    );
    expect(incoming).toHaveLength(1);
  });
});

describe('route IDs', () => {
  it('quarantines a released ID before reuse', () => {
    const ids = new RouteIdAllocator({ sideBit: 0, quarantineMs: 1000, bits: 2 });
    const used = new Set<number>();
    const take = (now: number) => {
      const id = ids.allocate((x) => used.has(x), now);
      if (id !== undefined) used.add(id);
      return id;
    };
    const all = [take(0), take(0), take(0)];
    expect(new Set(all)).toEqual(new Set([1, 2, 3]));
    expect(take(0)).toBeUndefined();
    used.delete(2);
    ids.release(2, 0);
    expect(take(500)).toBeUndefined();
    expect(take(1000)).toBe(2);
  });

  it('drops cells of a closed route even after a new route opens on the same link', async () => {
    const seen: Uint8Array[] = [];
    mesh = createFakeMesh(3, {
      link: {
        tap: (cell, from, to) => {
          if (from === 0 && to === 1 && cell[4] === 2) seen.push(cell.slice());
          return undefined;
        },
      },
    });
    const incoming = accept(mesh, 2);
    const src = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2]));
    const old = collect(incoming[0]!);
    src.send(payload(1, 10));
    await settle();
    expect(old).toHaveLength(1);
    src.close();
    await settle();
    const src2 = await mesh.routers[0]!.buildRoute(path(mesh, [1, 2]));
    const fresh = collect(incoming[1]!);
    const before = mesh.routers[1]!.stats().drops.unknownRoute;
    mesh.pair(1, 0).ab.receive(seen[0]!); // the old route's cell, delivered to node 1 again
    await settle();
    expect(mesh.routers[1]!.stats().drops.unknownRoute).toBe(before + 1);
    src2.send(payload(2, 10));
    await settle();
    expect(fresh).toEqual([payload(2, 10)]);
    expect(old).toHaveLength(1);
  });
});
