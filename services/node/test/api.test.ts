/**
 * The node's HTTP API: JSON endpoints, bearer token, /metrics text and its
 * cumulative route setup histogram, the /api/live websocket. The node is a
 * stand-in with fixed counters (real nodes are covered by local-mesh tests);
 * apps are real (test mesh, SOCKS5 on an OS-chosen loopback port).
 */
import { Identity } from '@skymesh/crypto';
import { signDescriptor } from '@skymesh/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, startApi } from '../src/api/app.js';
import type { AppError } from '../src/apps/errors.js';
import { createSocksServer, type SocksServer } from '../src/apps/socks5.js';
import { type AppsTestMesh, createAppsTestMesh } from '../src/apps/testing.js';
import type { NodeStats } from '../src/node.js';

const identity = Identity.generate();
const descriptor = signDescriptor(
  { roles: { relay: true, exit: false }, endpoints: [], pricePerMiB: 0n },
  identity.seed,
);
const counters = {
  cellsForwarded: 10,
  bytesForwarded: 5120,
  handshakeFailures: { BAD_MAC: 2 } as Record<string, number>,
  outboundHandshakeFailures: 0,
  routesBuilt: 2,
  routesFailed: 1,
  routeSetupMs: [3, 40],
};
/** Every line is a HELP/TYPE comment or `name{labels} value`. */
function expectPrometheusText(text: string): void {
  for (const line of text.trim().split('\n')) {
    expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+]+)$/);
  }
}

const fakeNode = {
  address: identity.address,
  descriptor,
  endpoints: [],
  stats: () =>
    ({
      address: identity.address,
      links: [
        {
          peer: 'p',
          initiator: true,
          remote: '127.0.0.1:1',
          rttMs: 1,
          bytesIn: 100,
          bytesOut: 200,
          cellsIn: 1,
          cellsOut: 2,
        },
      ],
      routes: [{ hops: 3, ageMs: 5, bytesSent: 1, bytesReceived: 2, status: 'open' }],
      sessions: { client: 1, server: { sessions: 0 } },
      streams: 0,
      counters,
    }) as unknown as NodeStats,
};

let mesh: AppsTestMesh;
let socks: SocksServer;
beforeAll(async () => {
  mesh = createAppsTestMesh();
  socks = createSocksServer({ dialer: mesh.dialer(), port: 0 });
  await socks.listen();
});
afterAll(async () => {
  await socks.close();
  await mesh.close();
});

describe('API', () => {
  it('serves status, links, routes, streams, services and SOCKS settings', async () => {
    const node = mesh.addNode({ publish: { 80: '127.0.0.1:8080' } });
    const app = await buildApi({
      node: fakeNode,
      acceptor: node.acceptor,
      dialer: mesh.dialer(),
      socks,
    });
    const status = (await app.inject('/api/status')).json();
    expect(status.address).toBe(identity.address);
    expect(status.roles).toEqual({ relay: true, exit: false });
    expect((await app.inject('/api/links')).json().links[0].rttMs).toBe(1);
    expect((await app.inject('/api/routes')).json().routes[0].hops).toBe(3);
    expect((await app.inject('/api/streams')).json().sessions).toEqual([]);
    const services = (await app.inject('/api/services')).json().services;
    expect(services).toEqual([
      { port: 80, target: '127.0.0.1:8080', url: `http://${identity.address}.mesh/` },
    ]);
    const s = (await app.inject('/api/socks')).json();
    expect(s).toMatchObject({ enabled: true, auth: 'none', listen: socks.address() });
    expect((await app.inject('/nope')).statusCode).toBe(404);
    await app.close();
  });

  it('requires the bearer token when one is set', async () => {
    const app = await buildApi({
      node: fakeNode,
      token: 'a-long-enough-token',
      liveIntervalMs: 20,
    });
    const none = await app.inject('/api/status');
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('API_UNAUTHORIZED');
    const wrong = await app.inject({
      url: '/metrics',
      headers: { authorization: 'Bearer wrong' },
    });
    expect(wrong.statusCode).toBe(401);
    const ok = await app.inject({
      url: '/api/status',
      headers: { authorization: 'Bearer a-long-enough-token' },
    });
    expect(ok.statusCode).toBe(200);
    // The live websocket is behind the token too.
    await app.ready();
    const refused = await app.injectWS('/api/live').then(
      (ws) => {
        ws.terminate();
        return false;
      },
      () => true,
    );
    expect(refused).toBe(true);
    const ws = await app.injectWS('/api/live', {
      headers: { authorization: 'Bearer a-long-enough-token' },
    });
    const first = await new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
    expect(JSON.parse(first)).toHaveProperty('links');
    ws.terminate();
    await app.close();
  });

  it('refuses to listen beyond loopback without a token', async () => {
    const err = await startApi({ node: fakeNode, host: '0.0.0.0', port: 0 }).catch((e) => e);
    expect((err as AppError).code).toBe('APP_BAD_CONFIG');
  });

  it('/metrics shows where paths came from and how old the directory copy is', async () => {
    const rs = {
      pathSources: { server: 4, local: 2, random: 1 },
      queries: { mesh: 5, direct: 0 },
      failures: 3,
      diversityRefused: 1,
      staleness: { stale: true, copyAgeMs: 125_000, staleAfterMs: 120_000 },
    };
    const app = await buildApi({
      node: { ...fakeNode, routeServer: { stats: () => rs } as never },
      socks,
    });
    const text = (await app.inject('/metrics')).body;
    const lines = text.split('\n');
    for (const want of [
      'skymesh_route_paths_total{source="server"} 4',
      'skymesh_route_paths_total{source="random"} 1',
      'skymesh_route_server_queries_total{via="direct"} 0',
      'skymesh_route_server_diversity_refused_total 1',
      'skymesh_directory_copy_age_seconds 125',
      'skymesh_directory_copy_stale 1',
    ]) {
      expect(lines).toContain(want);
    }
    expectPrometheusText(text);
    // Without a route server, no such series.
    const plain = await buildApi({ node: fakeNode, socks });
    expect((await plain.inject('/metrics')).body).not.toContain('skymesh_route_paths_total');
    await app.close();
    await plain.close();
  });

  it('/metrics is Prometheus text with a cumulative setup histogram', async () => {
    const app = await buildApi({ node: fakeNode, socks });
    const first = await app.inject('/metrics');
    expect(first.headers['content-type']).toContain('text/plain');
    const text = first.body;
    expect(text).toContain('skymesh_links 1');
    expect(text).toContain('skymesh_cells_forwarded_total 10');
    expect(text).toContain('skymesh_handshake_failures_total{reason="BAD_MAC"} 2');
    expect(text).toContain('skymesh_route_setup_seconds_bucket{le="0.005"} 1');
    expect(text).toContain('skymesh_route_setup_seconds_bucket{le="0.05"} 2');
    expect(text).toContain('skymesh_route_setup_seconds_count 2');
    expect(text).toContain('# TYPE skymesh_route_setup_seconds histogram');
    // One more route: only the new sample is added.
    counters.routesBuilt = 3;
    counters.routeSetupMs = [3, 40, 700];
    const again = (await app.inject('/metrics')).body;
    expect(again).toContain('skymesh_route_setup_seconds_count 3');
    expect(again).toContain('skymesh_route_setup_seconds_bucket{le="0.5"} 2');
    expect(again).toContain('skymesh_route_setup_seconds_bucket{le="1"} 3');
    expectPrometheusText(again);
    await app.close();
  });

  it('/api/live pushes counters over a websocket', async () => {
    const app = await buildApi({ node: fakeNode, liveIntervalMs: 20 });
    await app.ready();
    const ws = await app.injectWS('/api/live');
    const msgs: { links: number; cellsForwarded: number }[] = [];
    await new Promise<void>((resolve) => {
      ws.on('message', (d) => {
        msgs.push(JSON.parse(String(d)));
        if (msgs.length === 2) resolve();
      });
    });
    expect(msgs[0]).toMatchObject({ links: 1, cellsForwarded: 10 });
    ws.terminate();
    await app.close();
  });
});
