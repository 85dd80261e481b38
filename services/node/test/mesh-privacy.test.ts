// What the wire shows, at node level over real websockets on 127.0.0.1:
// (1) a middle relay of a 3-hop route, reading every byte of its links,
//     finds neither end's keys or addresses nor any payload byte pattern;
// (2) the links of many real node connections show no key, no constant
//     byte position and no repeated first bytes.
// That setup cells have the same size for 1..8 hops is shown at the route
// level (route-attacks.test.ts, "setup cells look the same").
import { Identity, utf8 } from '@skymesh/crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  echo,
  readAll,
  recordingTransport,
  startMesh,
  type TestMesh,
  writeAll,
} from '../src/node/testing.js';
import { createNode, type MeshNode } from '../src/node.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((f) => f()));
});

describe('a middle relay sees nothing of the ends', () => {
  it('no key, address or payload bytes of source and destination cross its links', async () => {
    const tap = recordingTransport({ keepBytes: true });
    // 0 source, 1 first relay, 2 middle relay (tapped), 3 destination.
    const ids = [0, 1, 2, 3].map(() => Identity.generate());
    const mesh: TestMesh = await startMesh(4, {
      each: (i) => ({
        identity: ids[i]!,
        ...(i === 2 ? { transports: [tap.transport] } : {}),
        ...(i === 0
          ? { choosePath: () => [1, 2, 3].map((j) => ({ publicKey: ids[j]!.publicKey })) }
          : {}),
      }),
    });
    cleanup.push(() => mesh.close());
    const [src, , middle, dst] = mesh.nodes as [MeshNode, MeshNode, MeshNode, MeshNode];

    // A recognisable payload: a marker repeated, 256 KiB each way.
    const marker = utf8('SKYMESH-RECOGNISABLE-PLAINTEXT-');
    const payload = Buffer.concat(Array.from({ length: 8192 }, () => marker));
    const client = src.connectSession(dst.address);
    await client.ready;
    const stream = client.openStream({ name: 'echo', port: 7 });
    const back = readAll(stream);
    await writeAll(stream, payload, 16 * 1024);
    expect(Buffer.compare(await back, payload)).toBe(0);
    await client.close();

    const relayed = middle.stats().counters.cellsForwarded;
    expect(relayed).toBeGreaterThan(2 * (payload.length / 1896));
    const conns = [...tap.chunks.values()];
    expect(conns.length).toBeGreaterThanOrEqual(2);
    const wire = Buffer.concat(conns.flatMap((c) => [...c.out, ...c.in]));
    expect(wire.length).toBeGreaterThan(2 * 2 * payload.length);
    const forbidden = [
      src.publicKey,
      src.identity.dhPublicKey,
      utf8(src.address),
      dst.publicKey,
      dst.identity.dhPublicKey,
      utf8(dst.address),
      marker.subarray(0, 12),
      marker.subarray(16, 28),
    ];
    for (const f of forbidden) expect(wire.indexOf(Buffer.from(f))).toBe(-1);
  });
});

describe('captured node links look random', () => {
  it('24 real node connections: no key, no constant byte, fresh first bytes', async () => {
    const tap = recordingTransport({ keepBytes: true });
    const listener = await createNode({ onStream: (s) => echo(s) });
    cleanup.push(() => listener.close());
    const N = 24;
    const keys: Uint8Array[] = [listener.publicKey, listener.identity.dhPublicKey];
    const nodes: MeshNode[] = [];
    for (let i = 0; i < N; i++) {
      const n = await createNode({
        transports: [tap.transport],
        directory: [listener.descriptor],
        hops: 1,
      });
      nodes.push(n);
      cleanup.push(() => n.close());
      keys.push(n.publicKey, n.identity.dhPublicKey);
    }
    // Each node dials the listener and runs a 1-hop session with one stream.
    await Promise.all(
      nodes.map(async (n) => {
        const s = n.openStream({ name: 'x', port: 1 }, listener.address);
        s.end(new Uint8Array(3000));
        await readAll(s);
      }),
    );
    const streams = [...tap.chunks.values()];
    expect(streams).toHaveLength(N);
    const all = Buffer.concat(streams.flatMap((s) => [...s.out, ...s.in]));
    for (const k of keys) expect(all.indexOf(Buffer.from(k))).toBe(-1);
    // Zero bytes went through (payload and cell padding): no long zero run on the wire.
    expect(all.indexOf(Buffer.alloc(8))).toBe(-1);
    for (const dir of ['out', 'in'] as const) {
      const joined = streams.map((s) => Buffer.concat(s[dir]));
      const minLen = Math.min(...joined.map((j) => j.length));
      expect(minLen).toBeGreaterThan(2048);
      for (let p = 0; p < minLen; p++) {
        const values = new Set(joined.map((j) => j[p]));
        expect(values.size, `${dir} byte ${p} constant`).toBeGreaterThan(1);
      }
      const firsts = new Set(joined.map((j) => j.subarray(0, 8).toString('hex')));
      expect(firsts.size).toBe(N);
    }
  });
});
