// Failover over real websockets: the middle relay of a 3-hop route dies
// (its sockets destroyed, as in a crash; or a clean node.close()) during an
// upload; the session moves to a route around it and the destination
// receives exactly the bytes sent (SHA-256 equal).
import { createHash } from 'node:crypto';
import { equalBytes } from '@skymesh/crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  patternBytes,
  type RecordingTransport,
  readAll,
  recordingTransport,
  startMesh,
  type TestMesh,
  waitFor,
  writeAll,
} from '../src/node/testing.js';
import type { MeshNode } from '../src/node.js';
import { choosePath, type PathHop } from '../src/route/index.js';

let mesh: TestMesh | undefined;
afterEach(async () => {
  await mesh?.close();
  mesh = undefined;
});

/**
 * 6 nodes: 0 source, 1..4 relays (each with its connections recorded so a
 * test can cut them), 5 destination, which hashes what it receives and
 * answers with the hex digest.
 */
async function setup() {
  const conns = new Map<number, RecordingTransport>();
  const paths: PathHop[][] = [];
  let received = 0;
  const m = await startMesh(6, {
    each: (i) => {
      if (i >= 1 && i <= 4) {
        const rec = recordingTransport();
        conns.set(i, rec);
        return { transports: [rec.transport] };
      }
      if (i === 0) {
        return {
          choosePath: (req) => {
            const p = choosePath(
              req.relays.map((d) => ({ publicKey: d.publicKey })),
              { publicKey: req.destination },
              { hops: req.hops, exclude: req.exclude },
            );
            paths.push(p);
            return p;
          },
        };
      }
      return {};
    },
    onStream: (stream) => {
      const h = createHash('sha256');
      stream.on('error', () => {});
      stream.on('data', (c: Buffer) => {
        received += c.length;
        h.update(c);
      });
      stream.on('end', () => stream.end(h.digest('hex')));
    },
  });
  mesh = m;
  const indexOf = (key: Uint8Array) => m.nodes.findIndex((n) => equalBytes(n.publicKey, key));
  return { m, conns, paths, indexOf, received: () => received };
}

async function upload(
  src: MeshNode,
  dst: MeshNode,
  data: Uint8Array,
  kill: () => Promise<void>,
  at: () => boolean,
) {
  const client = src.connectSession(dst.address);
  await client.ready;
  const stream = client.openStream({ name: 'sink', port: 9 });
  const answer = readAll(stream);
  const writing = writeAll(stream, data, 64 * 1024);
  await waitFor(at, 'bytes to flow', 12_000);
  await kill();
  await writing;
  const digest = (await answer).toString();
  const stats = client.stats();
  await client.close();
  return { digest, resumes: stats.resumes };
}

describe('failover between real nodes', () => {
  it('a crashed middle relay during a 50 MB upload: the destination gets every byte', async () => {
    const { m, conns, paths, indexOf, received } = await setup();
    const data = patternBytes(50 * 1024 * 1024, 50);
    const expected = createHash('sha256').update(data).digest('hex');
    let killed = -1;
    const r = await upload(
      m.nodes[0]!,
      m.nodes[5]!,
      data,
      async () => {
        killed = indexOf(paths[0]![1]!.publicKey);
        // A crash: every socket of the middle relay goes at once, then the process "exits".
        conns.get(killed)!.cut();
        await m.nodes[killed]!.close();
      },
      () => received() > 10 * 1024 * 1024,
    );
    expect(r.digest).toBe(expected);
    expect(r.resumes).toBeGreaterThanOrEqual(1);
    // Every route after the first avoided the dead relay.
    expect(paths.length).toBeGreaterThanOrEqual(2);
    const later = paths.slice(1).filter((p) => p.some((h) => indexOf(h.publicKey) === killed));
    expect(later).toEqual([]);
  }, 60_000);

  it('a middle relay shutting down cleanly (node.close) during an upload', async () => {
    const { m, paths, indexOf, received } = await setup();
    const data = patternBytes(8 * 1024 * 1024, 8);
    const expected = createHash('sha256').update(data).digest('hex');
    const r = await upload(
      m.nodes[0]!,
      m.nodes[5]!,
      data,
      () => m.nodes[indexOf(paths[0]![1]!.publicKey)]!.close(),
      () => received() > 2 * 1024 * 1024,
    );
    expect(r.digest).toBe(expected);
    expect(r.resumes).toBeGreaterThanOrEqual(1);
  }, 30_000);
});
