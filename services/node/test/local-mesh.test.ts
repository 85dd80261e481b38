/**
 * The local mesh end to end: six real nodes on loopback websockets over the
 * partly connected topology, curl through the SOCKS5 proxy to the demo
 * .mesh service and through the loopback-only exit, the API of node 0, and
 * a clean stop (ports freed). Bounded: OS-chosen ports, loopback only.
 */

import { Identity } from '@skymesh/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portRefuses, runCurl } from '../src/apps/testing.js';
import { topologyPathChooser } from '../src/apps/topology.js';
import { type LocalMesh, startLocalMesh } from '../src/cli/local-mesh.js';

let mesh: LocalMesh;
let proxy: string;
beforeAll(async () => {
  mesh = await startLocalMesh({ socksPort: 0, apiPort: 0 });
  proxy = `${mesh.socks.host}:${mesh.socks.port}`;
});
afterAll(async () => {
  await mesh?.close();
});

describe('local mesh', () => {
  it('serves the demo page at the .mesh address through the proxy', async () => {
    const r = await runCurl(['--socks5-hostname', proxy, `http://${mesh.serviceAddress}.mesh/`]);
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toContain('Hello from a Skymesh service');
  });

  it('a 5 MB download arrives whole', async () => {
    const n = 5_000_000;
    const r = await runCurl([
      '--socks5-hostname',
      proxy,
      `http://${mesh.serviceAddress}.mesh/bytes/${n}`,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(n);
  });

  it('20 concurrent downloads through the mesh all arrive whole', async () => {
    const n = 100_000;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        runCurl(['--socks5-hostname', proxy, `http://${mesh.serviceAddress}.mesh/bytes/${n}`]),
      ),
    );
    for (const r of results) {
      expect(r.code).toBe(0);
      expect(r.stdout.equals(Buffer.alloc(n))).toBe(true);
    }
  });

  it('reaches a loopback server through the exit, and is refused elsewhere (0x02)', async () => {
    const r = await runCurl(['--socks5-hostname', proxy, `http://127.0.0.1:${mesh.demoPort}/`]);
    expect(r.stdout.toString()).toContain('Hello from a Skymesh service');
    const denied = await runCurl(['--socks5-hostname', proxy, 'http://example.org/'], 10_000);
    // curl exit 97: SOCKS proxy handshake failed (the reply was not 0x00).
    expect(denied.code).toBe(97);
    expect(mesh.nodes[0]!.socks!.stats().replies[2]).toBeGreaterThan(0);
  });

  it("node 0's API reports links and routes, and the printed commands are well formed", async () => {
    const status = (await fetch(`${mesh.apiUrl}/api/status`).then((r) => r.json())) as {
      address: string;
      links: number;
    };
    expect(status.address).toBe(mesh.nodes[0]!.node.address);
    expect(status.links).toBeGreaterThan(0);
    const metrics = await fetch(`${mesh.apiUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/skymesh_route_setup_seconds_count [1-9]/);
    expect(mesh.commands[0]).toBe(
      `curl --socks5-hostname ${proxy} http://${mesh.serviceAddress}.mesh/`,
    );
  });

  it('node 0 only links to its topology neighbours', () => {
    const peers = new Set(mesh.nodes[0]!.node.stats().links.map((l) => l.peer));
    const neighbours = new Set(
      mesh.edges
        .filter(([a, b]) => a === 0 || b === 0)
        .map(([a, b]) => mesh.nodes[a === 0 ? b : a]!.node.address),
    );
    for (const p of peers) expect(neighbours.has(p)).toBe(true);
  });

  it('stops cleanly and frees its ports', async () => {
    const ports = [mesh.socks.port, Number(new URL(mesh.apiUrl).port), mesh.demoPort];
    await mesh.close();
    for (const p of ports) expect(await portRefuses(p)).toBe(true);
  });
});

describe('topology paths', () => {
  it('walks only edges, with the requested hops when possible', () => {
    const keys = Array.from({ length: 4 }, () => Identity.generate().publicKey);
    const choose = topologyPathChooser(
      keys,
      [
        [0, 1],
        [1, 2],
        [2, 3],
        [0, 3],
      ],
      0,
    );
    const relays = keys.map((publicKey) => ({ publicKey }) as never);
    for (let i = 0; i < 20; i++) {
      const p = choose({ destination: keys[3]!, hops: 3, exclude: [keys[0]!], relays });
      expect(p.map((h) => keys.indexOf(h.publicKey))).toEqual([1, 2, 3]);
    }
    const direct = choose({ destination: keys[3]!, hops: 1, exclude: [], relays });
    expect(direct.map((h) => keys.indexOf(h.publicKey))).toEqual([3]);
  });
});
