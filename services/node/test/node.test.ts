// Whole nodes over real websockets on 127.0.0.1, in one process: routes of
// 1, 3 and 8 hops carry streams both ways intact; the directory refuses bad
// descriptors; stats count what happened; close frees everything.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Identity } from '@skymesh/crypto';
import { descriptorToJSON, signDescriptor } from '@skymesh/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  echo,
  patternBytes,
  readAll,
  sha256Hex,
  startMesh,
  type TestMesh,
  writeAll,
} from '../src/node/testing.js';

let mesh: TestMesh;
beforeAll(async () => {
  // 10 nodes: source 0, destination 9, eight others as relays (8 hops need 7).
  mesh = await startMesh(10);
});
afterAll(() => mesh.close());

async function echoThrough(hops: number, size: number, seed: number) {
  const [src, dst] = [mesh.nodes[0]!, mesh.nodes[9]!];
  const client = src.connectSession(dst.address, { hops });
  await client.ready;
  const stream = client.openStream({ name: 'echo', port: 7 });
  const data = patternBytes(size, seed);
  const back = readAll(stream);
  await writeAll(stream, data, 16 * 1024);
  const got = await back;
  await client.close();
  return { sent: sha256Hex(data), got: sha256Hex(got), length: got.length };
}

describe('createNode over websockets', () => {
  it('carries a stream both ways through a 3-hop route', async () => {
    const r = await echoThrough(3, 300_000, 1);
    expect(r.length).toBe(300_000);
    expect(r.got).toBe(r.sent);
    const relayed = mesh.nodes
      .slice(1, 9)
      .reduce((n, x) => n + x.stats().counters.cellsForwarded, 0);
    expect(relayed).toBeGreaterThan(2 * (300_000 / 1896));
  });

  it('1-hop and 8-hop routes work too', async () => {
    for (const hops of [1, 8]) {
      const r = await echoThrough(hops, 100_000, hops);
      expect(r.got, `${hops} hops`).toBe(r.sent);
    }
    const built = mesh.nodes[0]!.stats().counters;
    expect(built.routesBuilt).toBeGreaterThanOrEqual(3);
    expect(built.routeSetupMs.length).toBe(built.routesBuilt);
  });

  it('openStream shares one session per destination and isolation group', async () => {
    const [src, dst] = [mesh.nodes[0]!, mesh.nodes[9]!];
    const a = src.openStream({ name: 'a', port: 1 }, dst.publicKey);
    const b = src.openStream({ name: 'b', port: 1 }, dst.address);
    const c = src.openStream({ name: 'c', port: 1 }, dst.address, { isolation: 'other' });
    for (const s of [a, b, c]) s.end('hi');
    const got = await Promise.all([a, b, c].map((s) => readAll(s)));
    expect(got.map((g) => g.toString())).toEqual(['hi', 'hi', 'hi']);
    expect(src.stats().sessions.client).toBe(2);
  });

  it('onStream replaces the stream handler; a throwing handler refuses the stream', async () => {
    const [src, dst] = [mesh.nodes[0]!, mesh.nodes[9]!];
    dst.onStream((s, target) => {
      if (target.port === 1) throw new Error('no service on port 1');
      s.end(`port ${target.port}`);
    });
    try {
      const ok = src.openStream({ name: '', port: 2 }, dst.address, { isolation: 'handler' });
      expect((await readAll(ok)).toString()).toBe('port 2');
      const refused = src.openStream({ name: '', port: 1 }, dst.address, { isolation: 'handler' });
      const err = await readAll(refused).catch((e) => e);
      expect(err.code).toBe('STREAM_REFUSED');
    } finally {
      dst.onStream((s) => echo(s));
    }
  });

  it('stats show links, routes, sessions and counters', async () => {
    const src = mesh.nodes[0]!;
    const client = src.connectSession(mesh.nodes[9]!.publicKey);
    await client.ready;
    const s = src.stats();
    expect(s.address).toBe(src.address);
    expect(s.links.length).toBeGreaterThan(0);
    expect(s.routes.some((r) => r.hops === 3 && r.status === 'open')).toBe(true);
    expect(s.router.routes.source).toBeGreaterThan(0);
    await client.close();
  });

  it('the directory verifies every descriptor and skips expired ones', () => {
    const node = mesh.nodes[0]!;
    const other = Identity.generate();
    const fields = {
      roles: { relay: true, exit: false },
      endpoints: [{ transport: 'ws' as const, host: '127.0.0.1', port: 1 }],
      pricePerMiB: 0n,
    };
    const good = signDescriptor(fields, other);
    const forged = { ...good, pricePerMiB: 5n };
    const now = Math.floor(Date.now() / 1000);
    const expired = signDescriptor(
      { ...fields, issuedAt: now - 7200, expiresAt: now - 3600 },
      other,
    );
    const r = node.addDescriptors([descriptorToJSON(good), forged, expired, 'not json']);
    expect(r.added).toBe(1);
    expect(r.rejected.map((x) => x.code)).toEqual([
      'DESCRIPTOR_BAD_SIGNATURE',
      'DESCRIPTOR_EXPIRED',
      'DECODE_BAD_VALUE',
    ]);
    expect(
      node.directory().some((d) => d.publicKey.every((b, i) => b === other.publicKey[i])),
    ).toBe(true);
  });

  it('descriptor carries the real endpoint and close frees the port', async () => {
    const m = await startMesh(1);
    const n = m.nodes[0]!;
    const ep = n.descriptor.endpoints[0]!;
    expect(ep).toEqual({ transport: 'ws', host: '127.0.0.1', port: n.endpoints[0]!.port });
    await m.close();
    const again = await startMesh(1, { node: { listen: [{ port: ep.port }] } });
    expect(again.nodes[0]!.endpoints[0]!.port).toBe(ep.port);
    await again.close();
  });
});

describe('createNode transports', () => {
  it('routes over wss (self-signed certificate in dataDir) and tcp listeners', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'skymesh-node-'));
    const m = await startMesh(4, {
      each: (i) =>
        i === 1
          ? { listen: [{ transport: 'wss' as const }], dataDir }
          : i === 2
            ? { listen: [{ transport: 'tcp' as const }] }
            : {},
    });
    try {
      expect(m.nodes[1]!.descriptor.endpoints[0]!.transport).toBe('wss');
      expect(m.nodes[2]!.descriptor.endpoints[0]!.transport).toBe('tcp');
      const [src, dst] = [m.nodes[0]!, m.nodes[3]!];
      const client = src.connectSession(dst.address, { hops: 3 });
      await client.ready;
      const s = client.openStream({ name: 'echo', port: 7 });
      s.end('over wss and tcp');
      expect((await readAll(s)).toString()).toBe('over wss and tcp');
      await client.close();
    } finally {
      await m.close();
    }
  });

  it('one node listening on ws, wss and tcp at once is reachable on each', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'skymesh-node-'));
    const m = await startMesh(4, {
      each: (i) =>
        i === 0
          ? {
              listen: [{ transport: 'ws' }, { transport: 'wss' }, { transport: 'tcp' }],
              dataDir,
            }
          : {},
    });
    try {
      const target = m.nodes[0]!;
      const eps = target.descriptor.endpoints;
      expect(eps.map((e) => e.transport)).toEqual(['ws', 'wss', 'tcp']);
      expect(new Set(eps.map((e) => e.port)).size).toBe(3);
      for (let i = 0; i < 3; i++) {
        const link = await m.nodes[i + 1]!.links.connect(target.publicKey, eps[i]!);
        expect(await link.ping()).toBeGreaterThanOrEqual(0);
      }
      expect(target.stats().link.handshakesAccepted).toBe(3);
    } finally {
      await m.close();
    }
  });

  it('wss without dataDir or tls is refused with NODE_BAD_LISTEN', async () => {
    const err = await startMesh(1, { node: { listen: [{ transport: 'wss' }] } }).catch((e) => e);
    expect(err.code).toBe('NODE_BAD_LISTEN');
  });
});

describe('static directory file', () => {
  it('loads descriptors from a JSON file, and a bad file stops the node', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skymesh-dir-'));
    const file = join(dir, 'directory.json');
    const known = mesh.nodes.slice(0, 3).map((n) => descriptorToJSON(n.descriptor));
    await writeFile(file, JSON.stringify({ descriptors: known }));
    const m = await startMesh(1, { node: { directoryFile: file } });
    try {
      expect(m.nodes[0]!.directory()).toHaveLength(4);
    } finally {
      await m.close();
    }
    await writeFile(file, '{"descriptors": 5}');
    const err = await startMesh(1, { node: { directoryFile: file } }).catch((e) => e);
    expect(err.code).toBe('NODE_DIRECTORY_FILE');
  });
});
