// Bad input while a transfer runs: random bytes, truncated and oversized
// frames sent to every node's websocket listener, and an authenticated
// neighbour sending garbage cells. The transfer completes intact, the
// failures are counted, and the nodes keep serving new sessions.
import { Identity, randomBytes } from '@skymesh/crypto';
import { CELL_SIZE } from '@skymesh/protocol';
import { LinkInitiator } from '@skymesh/protocol/link';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Endpoint } from '../src/link/index.js';
import {
  patternBytes,
  readAll,
  sha256Hex,
  startMesh,
  type TestMesh,
  writeAll,
} from '../src/node/testing.js';
import { createNode, type MeshNode } from '../src/node.js';

const fastProbe = { timeoutMs: 200, probeCloseMs: [250, 400] as const };
let mesh: TestMesh | undefined;
let attacker: MeshNode | undefined;
afterAll(async () => {
  await attacker?.close();
  await mesh?.close();
});

/** Sends each chunk as one ws message; resolves with the bytes received once the server closes. */
function wsProbe(ep: Endpoint, chunks: Uint8Array[]): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${ep.host}:${ep.port}/`, { perMessageDeflate: false });
    let received = 0;
    ws.on('message', (d: Buffer) => {
      received += d.length;
    });
    ws.on('error', () => {});
    ws.on('open', () => {
      for (const c of chunks) ws.send(c);
    });
    ws.on('close', () => resolve(received));
  });
}

describe('a node under bad input keeps serving', () => {
  it('a 3-hop transfer completes while listeners get garbage and a neighbour sends garbage cells', async () => {
    const m = await startMesh(5, { node: { tuning: { handshake: fastProbe } } });
    mesh = m;
    const [src, dst] = [m.nodes[0]!, m.nodes[4]!];
    const data = patternBytes(4 * 1024 * 1024, 9);
    const client = src.connectSession(dst.address);
    await client.ready;
    const stream = client.openStream({ name: 'echo', port: 7 });
    const back = readAll(stream);
    const writing = writeAll(stream, data, 32 * 1024);

    // An authenticated neighbour of every relay, sending random cells.
    attacker = await createNode({ directory: m.nodes.map((x) => x.descriptor) });
    const garbage = m.nodes.slice(1, 4).map(async (relay) => {
      const link = await attacker!.links.connect(relay.publicKey, relay.endpoints[0]!);
      for (let i = 0; i < 200; i++) {
        const cell = randomBytes(CELL_SIZE);
        cell[4] = 1 + (i % 5); // every command: SETUP, DATA, DESTROY, PAUSE, RESUME
        link.sendCell(cell);
      }
    });

    // Probes at every listener: random, truncated msg1, oversized message, empty.
    const probes = m.nodes.flatMap((node) => {
      const ep = node.endpoints[0]!;
      const msg1 = new LinkInitiator({ identity: Identity.generate(), peerKey: node.publicKey })
        .message;
      return [
        wsProbe(ep, [randomBytes(700), randomBytes(3000)]),
        wsProbe(ep, [msg1.subarray(0, 60)]),
        wsProbe(ep, [randomBytes(70_000)]),
        wsProbe(ep, [new Uint8Array(0)]),
      ];
    });
    const answered = await Promise.all(probes);
    await Promise.all(garbage);
    await writing;
    expect(sha256Hex(await back)).toBe(sha256Hex(data));
    // Nobody answered a probe with a single byte.
    expect(answered.every((n) => n === 0)).toBe(true);

    let failures = 0;
    let drops = 0;
    for (const x of m.nodes) {
      const s = x.stats();
      for (const n of Object.values(s.counters.handshakeFailures)) failures += n;
      for (const n of Object.values(s.router.drops)) drops += n;
    }
    expect(failures).toBeGreaterThanOrEqual(m.nodes.length * 2);
    expect(drops).toBeGreaterThanOrEqual(3 * 150);
    await client.close();

    // Still serving: a new session on a new route.
    const again = src.openStream({ name: 'echo', port: 7 }, dst.address);
    again.end('still here');
    expect((await readAll(again)).toString()).toBe('still here');
  });
});
