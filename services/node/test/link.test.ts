// Two link managers exchange cells over every transport: ws, wss, TCP and
// in-memory, both directions, in order and intact.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { equalBytes, Identity } from '@skymesh/crypto';
import { CELL_SIZE } from '@skymesh/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createLinkManager,
  createMemoryNetwork,
  type LinkManager,
  loadOrCreateSelfSignedCert,
  type SecureLink,
  type Transport,
  tcpTransport,
  webSocketTransport,
} from '../src/link/index.js';

const managers: LinkManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

function manager(
  transport: Transport,
  extra: Partial<Parameters<typeof createLinkManager>[0]> = {},
) {
  const m = createLinkManager({ identity: Identity.generate(), transports: [transport], ...extra });
  managers.push(m);
  return m;
}

/** A cell whose bytes encode (sender tag, sequence number). */
function cell(tag: number, seq: number): Uint8Array {
  const c = new Uint8Array(CELL_SIZE);
  const v = new DataView(c.buffer);
  v.setUint32(0, tag);
  v.setUint32(4, seq);
  for (let i = 8; i < CELL_SIZE; i++) c[i] = (seq * 31 + i) & 0xff;
  return c;
}

function checkCell(c: Uint8Array, tag: number, seq: number): boolean {
  return c.length === CELL_SIZE && equalBytes(c, cell(tag, seq));
}

/** Sends `n` cells, respecting backpressure. */
function pump(link: SecureLink, tag: number, n: number): Promise<void> {
  let seq = 0;
  return new Promise((resolve) => {
    const go = () => {
      while (seq < n) {
        if (!link.sendCell(cell(tag, seq))) return;
        seq++;
      }
      resolve();
    };
    link.onDrain(go);
    go();
  });
}

function collect(link: SecureLink, n: number, tag: number): Promise<number> {
  let seq = 0;
  let bad = 0;
  return new Promise((resolve) => {
    link.onCell((c) => {
      if (!checkCell(c, tag, seq)) bad++;
      seq++;
      if (seq === n) resolve(bad);
    });
  });
}

async function exchange(a: LinkManager, b: LinkManager, n = 400) {
  const endpoints = await b.listen();
  const inbound = new Promise<SecureLink>((resolve) => b.onLink(resolve));
  const ab = await a.connect(b.identity.publicKey, endpoints[0]!);
  const ba = await inbound;
  expect(equalBytes(ab.peerKey, b.identity.publicKey)).toBe(true);
  expect(equalBytes(ba.peerKey, a.identity.publicKey)).toBe(true);
  expect(ab.peerAddress).toBe(b.identity.address);
  expect(ba.peerAddress).toBe(a.identity.address);
  expect(ab.status).toBe('open');
  const gotAtB = collect(ba, n, 1);
  const gotAtA = collect(ab, n, 2);
  await Promise.all([pump(ab, 1, n), pump(ba, 2, n)]);
  expect(await gotAtB).toBe(0);
  expect(await gotAtA).toBe(0);
  expect(a.getLink(b.identity.publicKey)).toBe(ab);
  expect(b.getLink(a.identity.publicKey)).toBe(ba);
  const sa = ab.stats();
  expect(sa.cellsOut).toBe(n);
  expect(sa.cellsIn).toBe(n);
  // Cells were batched: far fewer frames than cells.
  expect(sa.framesOut).toBeLessThan(n / 2);
  return { ab, ba };
}

describe('links over each transport', () => {
  it('websocket on 127.0.0.1', async () => {
    await exchange(manager(webSocketTransport()), manager(webSocketTransport()));
  });

  it('raw TCP on 127.0.0.1', async () => {
    await exchange(manager(tcpTransport()), manager(tcpTransport()));
  });

  it('in-memory', async () => {
    const net = createMemoryNetwork();
    await exchange(manager(net.transport()), manager(net.transport()));
  });

  it('wss with a self-signed certificate made on first start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skymesh-link-'));
    try {
      const tls = await loadOrCreateSelfSignedCert(dir);
      expect(tls.cert).toContain('BEGIN CERTIFICATE');
      // Second start loads the same certificate.
      expect((await loadOrCreateSelfSignedCert(dir)).cert).toBe(tls.cert);
      const b = manager(webSocketTransport({ tls }));
      const endpoints = await b.listen();
      expect(endpoints[0]!.transport).toBe('wss');
      await exchange(manager(webSocketTransport()), b, 100);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a manager with several transports listens on each and dials by endpoint', async () => {
    const net = createMemoryNetwork();
    const b = manager(tcpTransport(), { transports: [tcpTransport(), net.transport()] });
    const endpoints = await b.listen();
    expect(endpoints.map((e) => e.transport).sort()).toEqual(['mem', 'tcp']);
    const a = manager(net.transport());
    const link = await a.connect(
      b.identity.publicKey,
      endpoints.find((e) => e.transport === 'mem')!,
    );
    expect(link.status).toBe('open');
    await expect(
      a.connect(b.identity.publicKey, { transport: 'carrier-pigeon', host: 'x', port: 1 }),
    ).resolves.toBe(link);
    const c = manager(net.transport());
    await expect(
      c.connect(b.identity.publicKey, { transport: 'carrier-pigeon', host: 'x', port: 1 }),
    ).rejects.toMatchObject({ code: 'LINK_NO_TRANSPORT' });
    await expect(c.connect(c.identity.publicKey, endpoints[0]!)).rejects.toMatchObject({
      code: 'LINK_SELF',
    });
    await expect(c.connect(new Uint8Array(31), endpoints[0]!)).rejects.toMatchObject({
      code: 'LINK_BAD_PEER_KEY',
    });
    await expect(c.connect(new Uint8Array(32), endpoints[0]!)).rejects.toMatchObject({
      code: 'LINK_BAD_PEER_KEY',
    });
  });

  it('dialling nothing, or aborting, fails with LINK_DIAL_FAILED', async () => {
    for (const t of [webSocketTransport(), tcpTransport()]) {
      const l = await t.listen({}, () => {});
      const ep = l.endpoints[0]!;
      await l.close();
      const a = manager(t);
      const peer = Identity.generate().publicKey;
      await expect(a.connect(peer, ep)).rejects.toMatchObject({ code: 'LINK_DIAL_FAILED' });
      const ac = new AbortController();
      ac.abort();
      await expect(a.connect(peer, ep, { signal: ac.signal })).rejects.toMatchObject({
        code: 'LINK_DIAL_FAILED',
      });
      expect(a.stats().outboundFailures).toBe(2);
    }
  });

  it('measures RTT with pings and closes gracefully without losing cells', async () => {
    const net = createMemoryNetwork();
    const a = manager(net.transport());
    const b = manager(net.transport());
    const endpoints = await b.listen();
    const inbound = new Promise<SecureLink>((resolve) => b.onLink(resolve));
    const ab = await a.connect(b.identity.publicKey, endpoints[0]!);
    const ba = await inbound;
    const rtt = await ab.ping();
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(ab.rttMs).toBe(rtt);
    const got = collect(ba, 50, 1);
    for (let i = 0; i < 50; i++) expect(ab.sendCell(cell(1, i))).toBe(true);
    const reasons = Promise.all([
      new Promise((r) => ab.onClose(r)),
      new Promise((r) => ba.onClose(r)),
    ]);
    ab.close();
    expect(ab.status).toBe('closing');
    expect(ab.sendCell(cell(1, 99))).toBe(false);
    expect(await got).toBe(0);
    expect(await reasons).toEqual(['closed', 'peer-closed']);
    expect(a.getLink(b.identity.publicKey)).toBeUndefined();
    expect(() => ab.sendCell(new Uint8Array(10))).toThrow(RangeError);
  });
});
