// What probers and observers can learn from a listener: nothing. Invalid
// handshakes get no byte back and a silent close; captured link bytes hold
// no key, no constant byte and no fixed length.
import { connect as tcpConnect } from 'node:net';
import { Identity, randomBytes, toHex } from '@skymesh/crypto';
import { CELL_SIZE } from '@skymesh/protocol';
import { LinkInitiator } from '@skymesh/protocol/link';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createLinkManager,
  type Endpoint,
  type LinkManager,
  type SecureLink,
  type Transport,
  tapTransport,
  tcpTransport,
  webSocketTransport,
} from '../src/link/index.js';

const managers: LinkManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

const fastProbe = { timeoutMs: 150, probeCloseMs: [200, 300] as const };

function manager(transport: Transport, identity = Identity.generate()) {
  const m = createLinkManager({ identity, transports: [transport], handshake: fastProbe });
  managers.push(m);
  return m;
}

/** Sends `chunks` as ws messages; resolves with the bytes received back once the server closes. */
function wsProbe(endpoint: Endpoint, chunks: Uint8Array[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${endpoint.host}:${endpoint.port}/`, {
      perMessageDeflate: false,
    });
    let received = 0;
    ws.on('message', (d: Buffer) => {
      received += d.length;
    });
    ws.on('error', reject);
    ws.on('open', () => {
      for (const c of chunks) ws.send(c);
    });
    ws.on('close', () => resolve(received));
  });
}

/** The same over raw TCP. */
function tcpProbe(endpoint: Endpoint, bytes: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(endpoint.port, endpoint.host);
    let received = 0;
    s.on('data', (d) => {
      received += d.length;
    });
    s.on('error', reject);
    s.on('connect', () => s.write(bytes));
    s.on('close', () => resolve(received));
  });
}

/** A real msg1 to `peer`, as an honest initiator would send it. */
function msg1(peer: LinkManager, from = Identity.generate()): Uint8Array {
  return new LinkInitiator({ identity: from, peerKey: peer.identity.publicKey }).message;
}

async function stillServes(b: LinkManager, endpoint: Endpoint, transport: Transport) {
  const a = manager(transport);
  const link = await a.connect(b.identity.publicKey, endpoint);
  expect(await link.ping()).toBeGreaterThanOrEqual(0);
}

describe('an active prober learns nothing', () => {
  it('ws: random, truncated, oversized, wrong-key and replayed first messages get no reply', async () => {
    const b = manager(webSocketTransport());
    const [ep] = await b.listen();
    const good = msg1(b);
    const other = Identity.generate();
    const wrongKey = new LinkInitiator({ identity: other, peerKey: other.publicKey }).message;
    const probes: Uint8Array[][] = [
      [randomBytes(600)],
      [randomBytes(20)],
      [good.subarray(0, good.length - 1)],
      // Too long: more than any handshake, sent as ws messages within ws's own limit.
      Array.from({ length: 4 }, () => randomBytes(30_000)),
      [wrongKey],
      [new Uint8Array(0)],
    ];
    const received = await Promise.all(probes.map((p) => wsProbe(ep!, p)));
    expect(received).toEqual(probes.map(() => 0));

    // A replay: an honest msg1 gets a reply the first time, nothing the second.
    const ws1 = await wsProbeFirstReply(ep!, good);
    expect(ws1).toBeGreaterThan(0);
    expect(await wsProbe(ep!, [good])).toBe(0);

    const failures = b.stats().inboundFailures;
    expect(failures.replay).toBe(1);
    expect(
      (failures.LINK_HANDSHAKE_LENGTH ?? 0) + (failures.LINK_HANDSHAKE_AUTH ?? 0),
    ).toBeGreaterThan(0);
    await stillServes(b, ep!, webSocketTransport());
  });

  it('tcp: random and oversized bytes get no reply, the listener keeps serving', async () => {
    const b = manager(tcpTransport());
    const [ep] = await b.listen();
    const received = await Promise.all([
      tcpProbe(ep!, randomBytes(100)),
      tcpProbe(ep!, randomBytes(100_000)),
      tcpProbe(ep!, msg1(b).subarray(0, 50)),
    ]);
    expect(received).toEqual([0, 0, 0]);
    await stillServes(b, ep!, tcpTransport());
  });

  it('connections beyond the handshake limit are cut, and counted', async () => {
    const m = createLinkManager({
      identity: Identity.generate(),
      transports: [tcpTransport()],
      handshake: { ...fastProbe, maxPending: 1 },
    });
    managers.push(m);
    const [ep] = await m.listen();
    const first = tcpProbe(ep!, randomBytes(10));
    await new Promise((r) => setTimeout(r, 50));
    expect(await tcpProbe(ep!, randomBytes(10))).toBe(0);
    expect(await first).toBe(0);
    expect(m.stats().inboundFailures.busy).toBe(1);
  });

  it('a dialler expecting the wrong key gets no link', async () => {
    const b = manager(webSocketTransport());
    const [ep] = await b.listen();
    const a = manager(webSocketTransport());
    const c = Identity.generate();
    await expect(a.connect(c.publicKey, ep!)).rejects.toMatchObject({
      code: 'LINK_HANDSHAKE_FAILED',
    });
    expect(a.getLink(c.publicKey)).toBeUndefined();
    expect(b.links()).toHaveLength(0);
  });
});

/** Sends msg1 over ws and resolves with the size of the first reply, then hangs up. */
function wsProbeFirstReply(endpoint: Endpoint, msg: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${endpoint.host}:${endpoint.port}/`, {
      perMessageDeflate: false,
    });
    ws.on('error', reject);
    ws.on('open', () => ws.send(msg));
    ws.on('message', (d: Buffer) => {
      resolve(d.length);
      ws.terminate();
    });
  });
}

describe('a passive observer sees only random-looking bytes', () => {
  it('50 captured links: no key, no constant byte, varying lengths, fresh first bytes', async () => {
    const captures = new Map<object, { out: Uint8Array[]; in: Uint8Array[] }>();
    const tapped = tapTransport(webSocketTransport(), (conn, dir, bytes) => {
      let c = captures.get(conn);
      if (!c) {
        c = { out: [], in: [] };
        captures.set(conn, c);
      }
      c[dir].push(bytes.slice());
      return undefined;
    });
    const b = manager(webSocketTransport());
    const [ep] = await b.listen();
    const cells: Promise<void>[] = [];
    b.onLink((l) => {
      cells.push(
        new Promise((resolve) => {
          let n = 0;
          l.onCell(() => {
            if (++n === 3) resolve();
          });
        }),
      );
    });
    const keys: Uint8Array[] = [b.identity.publicKey, b.identity.dhPublicKey];
    const N = 50;
    for (let i = 0; i < N; i++) {
      const a = manager(tapped);
      keys.push(a.identity.publicKey, a.identity.dhPublicKey);
      const link: SecureLink = await a.connect(b.identity.publicKey, ep!);
      for (let k = 0; k < 3; k++) link.sendCell(new Uint8Array(CELL_SIZE));
      await link.ping();
    }
    await Promise.all(cells);
    const streams = [...captures.values()];
    expect(streams).toHaveLength(N);

    const wire = streams
      .flatMap((s) => [...s.out, ...s.in])
      .map((b) => toHex(b))
      .join('|');
    for (const k of keys) expect(wire.includes(toHex(k))).toBe(false);
    // All-zero cells went through: no run of zeros longer than chance allows.
    expect(wire.includes('00'.repeat(8))).toBe(false);

    for (const dir of ['out', 'in'] as const) {
      const joined = streams.map((s) => Buffer.concat(s[dir]));
      const minLen = Math.min(...joined.map((j) => j.length));
      expect(minLen).toBeGreaterThan(64);
      for (let p = 0; p < minLen; p++) {
        const values = new Set(joined.map((j) => j[p]));
        expect(values.size, `${dir} byte ${p} constant`).toBeGreaterThan(1);
      }
      // The top bits of each Elligator2 representative are random too.
      const top = new Set(joined.map((j) => j[31]! >> 6));
      expect(top.size).toBe(4);
      const firsts = new Set(joined.map((j) => j.subarray(0, 8).toString('hex')));
      expect(firsts.size).toBe(N);
      // Handshake messages are the first write each way; their lengths vary.
      const lengths = new Set(streams.map((s) => s[dir][0]!.length));
      expect(lengths.size).toBeGreaterThan(N / 2);
    }
  });
});
