// Flow control and failure handling of links: backpressure with bounded
// memory, dead-peer detection, tampering, duplicate links, redialling.
import { Identity } from '@skymesh/crypto';
import { CELL_SIZE } from '@skymesh/protocol';
import { SLAB_SIZE } from '@skymesh/protocol/onion';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createLinkManager,
  createMemoryNetwork,
  DEFAULT_HIGH_WATER,
  type LinkManager,
  type LinkManagerInit,
  type MemoryConnection,
  type SecureLink,
  type Transport,
  tapTransport,
} from '../src/link/index.js';

const managers: LinkManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

function manager(transport: Transport, extra: Partial<LinkManagerInit> = {}) {
  const m = createLinkManager({ identity: Identity.generate(), transports: [transport], ...extra });
  managers.push(m);
  return m;
}

async function pair(net = createMemoryNetwork(), extra: Partial<LinkManagerInit> = {}) {
  const a = manager(net.transport(), extra);
  const b = manager(net.transport(), extra);
  const [ep] = await b.listen();
  const inbound = new Promise<SecureLink>((resolve) => b.onLink(resolve));
  const ab = await a.connect(b.identity.publicKey, ep!);
  return { a, b, ab, ba: await inbound, ep: ep! };
}

/** A linked pair whose listener end has stopped reading (a stalled peer). */
async function stalledPair(maxQueuedCells: number) {
  const net = createMemoryNetwork();
  const pipes: MemoryConnection[][] = [];
  net.onPipe((d, l) => pipes.push([d, l]));
  const { ab, ba } = await pair(net, { link: { maxQueuedCells } });
  const listenerEnd = pipes[0]![1]!;
  listenerEnd.pauseReading();
  return { ab, ba, listenerEnd };
}

const until = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
};

describe('backpressure', () => {
  it('a slow reader makes sendCell return false; drain comes later; memory stays bounded', async () => {
    const maxQueuedCells = 64;
    const { ab, ba, listenerEnd } = await stalledPair(maxQueuedCells);
    let received = 0;
    ba.onCell(() => received++);
    let sent = 0;
    let refusedAt = -1;
    for (let i = 0; i < 10_000; i++) {
      if (!ab.sendCell(new Uint8Array(CELL_SIZE))) {
        refusedAt = i;
        break;
      }
      sent++;
      if (i % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(refusedAt).toBeGreaterThan(0);
    const s = ab.stats();
    expect(s.queued).toBeLessThanOrEqual(maxQueuedCells);
    // The transport holds at most its high-water mark plus one frame.
    expect(s.transportBuffered).toBeLessThan(DEFAULT_HIGH_WATER + 70_000);
    expect(ab.sendCell(new Uint8Array(CELL_SIZE))).toBe(false);

    const drained = new Promise<void>((resolve) => ab.onDrain(resolve));
    listenerEnd.resumeReading();
    await drained;
    expect(ab.sendCell(new Uint8Array(CELL_SIZE))).toBe(true);
    sent++;
    await until(() => received === sent, 'all cells');
    expect(ab.stats().queued).toBe(0);
  });
});

describe('ordering', () => {
  it('cells queued behind a stalled reader pin a bounded number of bytes, whatever buffers they view', async () => {
    const maxQueuedCells = 64;
    const { ab, ba, listenerEnd } = await stalledPair(maxQueuedCells);
    const got: number[] = [];
    ba.onCell((c) => got.push(new DataView(c.buffer, c.byteOffset, 4).getUint32(0)));
    // Each cell is a view into its own 64 KiB buffer, as a slab cell is when
    // other traffic took the rest of its slab: a queued view pins all of it.
    const cell = (i: number) => {
      const c = new Uint8Array(new ArrayBuffer(SLAB_SIZE), 0, CELL_SIZE);
      new DataView(c.buffer).setUint32(0, i);
      return c;
    };
    let sent = 0;
    while (sent < 10_000 && ab.sendCell(cell(sent))) {
      sent++;
      if (sent % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    const state = ab.debugState() as { queued: number; queuedPinnedBytes: number };
    expect(state.queued).toBe(maxQueuedCells);
    // Views alone: 64 × 64 KiB = 4 MiB. Bounded: the queue's cells plus two slabs, plus one cell per copy.
    expect(state.queuedPinnedBytes).toBeLessThanOrEqual(
      2 * maxQueuedCells * CELL_SIZE + 2 * SLAB_SIZE,
    );
    listenerEnd.resumeReading();
    await until(() => got.length === sent, 'all cells');
    expect(got).toEqual(Array.from({ length: sent }, (_, i) => i));
  });

  it('frames that came with the end of the handshake are read before later chunks', async () => {
    // The listener's reply and its first frame reach the dialler as one
    // chunk (the link gets that frame as handshake leftover) and its second
    // frame as the next chunk of the same delivery: the leftover must still
    // be read first, or the frame counter is off and the link drops.
    let held: Uint8Array | undefined;
    let writes = 0;
    const net = createMemoryNetwork();
    const merging = tapTransport(net.transport(), (_c, dir, bytes, role) => {
      if (dir !== 'out' || role !== 'listener') return undefined;
      if (++writes === 1) {
        held = bytes;
        return new Uint8Array(0);
      }
      if (!held) return undefined;
      const joined = new Uint8Array(held.length + bytes.length);
      joined.set(held);
      joined.set(bytes, held.length);
      held = undefined;
      return joined;
    });
    const a = manager(merging, { link: { cellsPerFrame: 1 } });
    const b = manager(merging, { link: { cellsPerFrame: 1 } });
    const [ep] = await b.listen();
    b.onLink((link) => {
      // Two frames written at once, right behind the handshake reply.
      for (let i = 1; i <= 2; i++) link.sendCell(new Uint8Array(CELL_SIZE).fill(i));
    });
    const ab = await a.connect(b.identity.publicKey, ep!);
    const got: number[] = [];
    ab.onCell((c) => got.push(c[0]!));
    let closed: string | undefined;
    ab.onClose((r) => {
      closed = r;
    });
    await until(() => got.length === 2 || closed !== undefined, 'both cells or a close');
    expect(closed).toBeUndefined();
    expect(got).toEqual([1, 2]);
  });
});

describe('dead peers and tampering', () => {
  it('keepalive detects a peer that went silent', async () => {
    const net = createMemoryNetwork();
    const pipes: MemoryConnection[] = [];
    net.onPipe((d) => pipes.push(d));
    const { a, b, ab, ba } = await pair(net, { link: { keepaliveMs: 20, deadAfterMs: 120 } });
    // Pings keep an idle link alive.
    await new Promise((r) => setTimeout(r, 250));
    expect(ab.status).toBe('open');
    expect(ab.rttMs).toBeDefined();
    const reasons = Promise.all([
      new Promise((r) => ab.onClose(r)),
      new Promise((r) => ba.onClose(r)),
    ]);
    pipes[0]!.blackhole();
    expect(await reasons).toEqual(['timeout', 'timeout']);
    expect(a.links()).toHaveLength(0);
    expect(b.links()).toHaveLength(0);
  });

  it('a tampered frame closes that link only', async () => {
    const net = createMemoryNetwork();
    let armed = false;
    const evil = tapTransport(net.transport(), (_c, dir, bytes) => {
      if (!armed || dir !== 'out') return undefined;
      armed = false;
      const bad = bytes.slice();
      bad[bad.length - 1]! ^= 1;
      return bad;
    });
    const b = manager(net.transport());
    const [ep] = await b.listen();
    const links: SecureLink[] = [];
    b.onLink((l) => links.push(l));
    const a = manager(evil);
    const c = manager(net.transport());
    const ab = await a.connect(b.identity.publicKey, ep!);
    const cb = await c.connect(b.identity.publicKey, ep!);
    await until(() => links.length === 2, 'two inbound links');
    const fromA = links.find((l) => l.initiator === false && l.peerAddress === a.identity.address)!;
    const fromC = links.find((l) => l.peerAddress === c.identity.address)!;
    const reason = new Promise((r) => fromA.onClose(r));
    armed = true;
    ab.sendCell(new Uint8Array(CELL_SIZE));
    expect(await reason).toBe('LINK_FRAME_AUTH');
    await until(() => ab.status === 'closed', 'a to see the close');
    let got = 0;
    fromC.onCell(() => got++);
    for (let i = 0; i < 10; i++) cb.sendCell(new Uint8Array(CELL_SIZE));
    await until(() => got === 10, 'cells on the other link');
    expect(fromC.status).toBe('open');
  });
});

describe('padding', () => {
  it('idle links send padding frames and padded frames still carry cells', async () => {
    const { ab, ba } = await pair(createMemoryNetwork(), {
      link: { idlePaddingMs: 10, keepaliveMs: 10_000, maxFramePadding: 300 },
    });
    const before = ab.stats().framesOut;
    await until(() => ba.stats().framesIn >= before + 3, 'padding frames');
    expect(ab.stats().cellsOut).toBe(0);
    let got = 0;
    ba.onCell(() => got++);
    for (let i = 0; i < 40; i++) ab.sendCell(new Uint8Array(CELL_SIZE));
    await until(() => got === 40, 'padded cells');
  });
});

describe('one link per peer', () => {
  it('simultaneous dials both ways converge on the same single link', async () => {
    const net = createMemoryNetwork();
    const a = manager(net.transport());
    const b = manager(net.transport());
    const [epA] = await a.listen();
    const [epB] = await b.listen();
    const [la, lb] = await Promise.all([
      a.connect(b.identity.publicKey, epB!),
      b.connect(a.identity.publicKey, epA!),
    ]);
    await until(() => a.links().length === 1 && b.links().length === 1, 'one link each');
    const fa = a.getLink(b.identity.publicKey)!;
    const fb = b.getLink(a.identity.publicKey)!;
    // Both kept the link dialled by the same node.
    expect(Buffer.from(fa.initiatorKey).equals(Buffer.from(fb.initiatorKey))).toBe(true);
    expect(fa.initiator).not.toBe(fb.initiator);
    // What connect() returned is the survivor, or a loser that is being closed as a duplicate.
    for (const [got, kept] of [
      [la, fa],
      [lb, fb],
    ] as const) {
      expect(got === kept || got.status !== 'open').toBe(true);
    }
    if (a.stats().duplicates + b.stats().duplicates > 0) {
      await until(() => la.status !== 'closing' && lb.status !== 'closing', 'losers closed');
    }
    let got = 0;
    fb.onCell(() => got++);
    fa.sendCell(new Uint8Array(CELL_SIZE));
    await until(() => got === 1, 'a cell over the surviving link');
  });

  it('concurrent connect() calls to one peer share one dial', async () => {
    const net = createMemoryNetwork();
    const a = manager(net.transport());
    const b = manager(net.transport());
    const [ep] = await b.listen();
    const links = await Promise.all([1, 2, 3].map(() => a.connect(b.identity.publicKey, ep!)));
    expect(new Set(links).size).toBe(1);
    expect(a.stats().handshakesDialled).toBe(1);
  });

  it('maintain() redials a peer whose link closed', async () => {
    const net = createMemoryNetwork();
    const a = manager(net.transport(), { reconnect: { baseMs: 5, maxMs: 50 } });
    const b = manager(net.transport());
    const [ep] = await b.listen();
    const seen: SecureLink[] = [];
    a.onLink((l) => seen.push(l));
    a.maintain(b.identity.publicKey, [ep!]);
    await until(() => seen.length === 1, 'first link');
    b.getLink(a.identity.publicKey)!.close();
    await until(() => seen.length === 2 && seen[1]!.status === 'open', 'a redialled link');
    a.release(b.identity.publicKey);
    seen[1]!.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toHaveLength(2);
  });
});
