/**
 * The local stack end to end: a route server and six nodes on loopback.
 * Every node is registered and its topology links confirmed (both ends
 * reported them); a curl through the SOCKS5 proxy and the exit takes a
 * path the route server chose (asked through the mesh), one to the service
 * node (the route server's publisher) a path from the node's own copy;
 * close() frees every port. Bounded: OS-chosen ports, loopback only.
 */
import { portRefuses, runCurl } from '@skymesh/node/apps/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocalStackCli } from '../src/cli.js';
import { type LocalStack, startLocalStack } from '../src/stack.js';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ socksPort: 0, apiPort: 0, routeServerPort: 0 });
});
afterAll(async () => {
  await stack?.close();
});

describe('local stack', () => {
  it('registers every node and confirms the topology links', () => {
    const rs = stack.routeServer!;
    const state = rs.service.state;
    expect(state.nodeCount).toBe(6);
    for (const x of stack.mesh.nodes) expect(state.node(x.node.publicKey)).toBeDefined();
    for (const [a, b] of stack.mesh.edges) {
      const ka = stack.mesh.nodes[a]!.node.publicKey;
      const kb = stack.mesh.nodes[b]!.node.publicKey;
      const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');
      expect(state.link(hex(ka), hex(kb)), `link ${a}-${b}`).toBeDefined();
    }
    // Every node holds a verified copy of the directory.
    for (const x of stack.mesh.nodes) {
      expect(x.node.routeServer!.stats().version).toBe(state.version);
    }
    expect(stack.mesh.routeServer?.mesh).toBe(`${stack.mesh.serviceAddress}.mesh:8401`);
  });

  it('routes curls over paths from the route server (asked through the mesh) and its copy', async () => {
    const client = stack.mesh.nodes[0]!.node;
    const before = client.routeServer!.stats();
    const proxy = `${stack.mesh.socks.host}:${stack.mesh.socks.port}`;
    // Through the exit (node 4): the path is asked of the route server, over the mesh.
    const viaExit = await runCurl([
      '--socks5-hostname',
      proxy,
      `http://127.0.0.1:${stack.mesh.demoPort}/`,
    ]);
    expect(viaExit.stdout.toString()).toContain('Hello from a Skymesh service');
    const mid = client.routeServer!.stats();
    expect(mid.pathSources.server).toBeGreaterThan(before.pathSources.server);
    expect(mid.queries.mesh).toBeGreaterThan(before.queries.mesh);
    expect(mid.queries.direct).toBe(0);
    expect(stack.routeServer!.service.counters.routeQueries).toBeGreaterThan(0);
    // To the service node, which publishes the route server: chosen from the local copy.
    const r = await runCurl([
      '--socks5-hostname',
      proxy,
      `http://${stack.mesh.serviceAddress}.mesh/`,
    ]);
    expect(r.stdout.toString()).toContain('Hello from a Skymesh service');
    expect(client.routeServer!.stats().pathSources.local).toBeGreaterThan(mid.pathSources.local);
  });

  it('close() frees the route server, proxy and API ports', async () => {
    const ports = [
      stack.routeServer!.port,
      stack.mesh.socks.port,
      Number(new URL(stack.mesh.apiUrl).port),
    ];
    await stack.close();
    for (const p of ports) expect(await portRefuses(p)).toBe(true);
  });

  it('pnpm mesh --help shows the mesh options and the route server ones; bad ones exit 2', async () => {
    const out: string[] = [];
    const io = {
      out: (t: string) => void out.push(t),
      err: (t: string) => void out.push(t),
      env: {},
      stopSignal: () => new Promise<string>(() => {}),
    };
    expect(await runLocalStackCli(['--help'], io)).toBe(0);
    expect(out.join('')).toMatch(/--socks-port[\s\S]*--route-server-port[\s\S]*--no-route-server/);
    expect(await runLocalStackCli(['--route-server-port', 'x'], io)).toBe(2);
    expect(out.join('')).toContain('--route-server-port must be a port number');
  });
});
