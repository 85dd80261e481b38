/**
 * Nodes and a real route server on loopback (six createNode nodes, links
 * kept along fixed edges):
 *
 * - privacy of the asker: a route query travels through the mesh; every
 *   connection that carried one to the route server is one the publishing
 *   node's acceptor opened, and the asker opened none for it;
 * - integrity: a query rewritten on the way (on the publisher's plain HTTP
 *   leg) gets an answer signed for another query, which the asker refuses;
 * - fallback: with the route server stopped, routes still build, from the
 *   node's downloaded copy;
 * - self-hosting: a node reads from (and queries) a private mirror and
 *   publishes to the upstream.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Identity, parseAddress } from '@skymesh/crypto';
import { createNode, type MeshNode, type RouteServerSettings } from '@skymesh/node';
import { connectWithTimeout, createStreamAcceptor } from '@skymesh/node/apps';
import { runCli } from '@skymesh/node/cli';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningRouteServer, startRouteServer } from '../src/route-server.js';

// P publishes the route server; A asks; D is the destination; R1..R3 relay.
const NAMES = ['P', 'A', 'R1', 'R2', 'R3', 'D'] as const;
type Name = (typeof NAMES)[number];
const EDGES: [Name, Name][] = [
  ['A', 'R1'],
  ['A', 'R2'],
  ['R1', 'R3'],
  ['R2', 'R3'],
  ['R3', 'D'],
  ['R1', 'P'],
  ['R2', 'P'],
  ['R3', 'P'],
  ['P', 'D'],
];
const MESH_PORT = 8401;
const LONG = 3_600_000;

interface TestMesh {
  nodes: Record<Name, MeshNode>;
  /** Local ports of the TCP connections P's acceptor opened (to the route server). */
  publisherPorts: Set<number>;
  /** Paths each node requested directly (not through the mesh). */
  direct: Record<Name, string[]>;
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function server(options: Parameters<typeof startRouteServer>[0] = {}) {
  const rs = await startRouteServer({ port: 0, ...options });
  cleanup.push(() => rs.close());
  return rs;
}

/** Six nodes using `settings(name)`, linked along EDGES, registered, reported and synced. */
async function meshOf(
  settings: (name: Name, direct: typeof fetch, publisher: string) => RouteServerSettings,
  publishTo: RunningRouteServer,
): Promise<TestMesh> {
  const ids = Object.fromEntries(NAMES.map((n) => [n, Identity.generate()])) as Record<
    Name,
    Identity
  >;
  const publisherPorts = new Set<number>();
  const acceptor = createStreamAcceptor({
    address: ids.P.address,
    publish: { [MESH_PORT]: `127.0.0.1:${publishTo.port}` },
    connect: async (host, port, timeoutMs) => {
      const socket: Socket = await connectWithTimeout(host, port, timeoutMs);
      publisherPorts.add(socket.localPort!);
      return socket;
    },
  });
  const direct = Object.fromEntries(NAMES.map((n) => [n, [] as string[]])) as TestMesh['direct'];
  const nodes = {} as Record<Name, MeshNode>;
  for (const name of NAMES) {
    const counting: typeof fetch = (input, init) => {
      direct[name].push(new URL(String(input)).pathname);
      return fetch(input, init);
    };
    nodes[name] = await createNode({
      identity: ids[name],
      routeServer: settings(name, counting, ids.P.address),
      ...(name === 'P' ? { onStream: (s, t) => acceptor.onStream(s, t) } : {}),
    });
    cleanup.push(() => nodes[name].close());
  }
  for (const [a, b] of EDGES) nodes[a].links.maintain(nodes[b].publicKey, nodes[b].endpoints);
  for (let i = 0; i < 500; i++) {
    if (EDGES.every(([a, b]) => nodes[a].links.getLink(nodes[b].publicKey))) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const agents = NAMES.map((n) => nodes[n].routeServer!);
  await Promise.all(agents.map((a) => a.start()));
  await Promise.all(agents.map((a) => a.report()));
  return { nodes, publisherPorts, direct };
}

const viaMesh =
  (rs: RunningRouteServer) =>
  (name: Name, direct: typeof fetch, publisher: string): RouteServerSettings => ({
    key: rs.publicKey,
    url: rs.url,
    fetch: direct,
    ...(name === 'P' ? {} : { mesh: { address: publisher, port: MESH_PORT } }),
    publishIntervalMs: LONG,
    reportIntervalMs: LONG,
    syncIntervalMs: LONG,
    timeoutMs: 3000,
  });

describe('nodes with a route server', () => {
  it('a query reaches the route server from the publishing relay, never from the asker', async () => {
    const queries: number[] = [];
    const rs = await server({
      configure: (app) =>
        app.addHook('onRequest', async (req) => {
          if (req.url === '/v1/routes') queries.push(req.socket.remotePort!);
        }),
    });
    const m = await meshOf(viaMesh(rs), rs);
    await Promise.all(NAMES.map((n) => m.nodes[n].routeServer!.sync()));
    const a = m.nodes.A;
    const session = a.connectSession(m.nodes.D.address, { hops: 3 });
    await session.ready;
    const st = a.routeServer!.stats();
    expect(st.pathSources.server).toBe(1);
    expect(st.queries).toEqual({ mesh: 1, direct: 0 });
    // The route server saw the query on a connection P opened, and A never asked it directly.
    expect(queries.length).toBe(1);
    expect(m.publisherPorts.has(queries[0]!)).toBe(true);
    expect(m.direct.A).not.toContain('/v1/routes');
    expect(m.direct.A.filter((p) => p === '/v1/diff')).toEqual([]);
    // The query itself went over a 3-hop route to P (and the session over one to D).
    expect(a.stats().routes.every((r) => r.hops === 3)).toBe(true);
    await session.close();
  });

  it('refuses an answer to a query rewritten on the way to steer it through the publisher', async () => {
    // What the publisher (or anyone on its HTTP leg to the server) could do before answers
    // were signed for the query asked: exclude R3, so every 3-hop path to D goes through P.
    let r3 = '';
    let rewritten = 0;
    const rs = await server({
      configure: (app) =>
        app.addHook('preHandler', async (req) => {
          if (req.url !== '/v1/routes') return;
          const q = req.body as { exclude?: string[] };
          q.exclude = [...(q.exclude ?? []), r3];
          rewritten++;
        }),
    });
    const m = await meshOf(viaMesh(rs), rs);
    r3 = m.nodes.R3.address;
    await Promise.all(NAMES.map((n) => m.nodes[n].routeServer!.sync()));
    const a = m.nodes.A;
    const before = a.routeServer!.stats();
    const session = a.connectSession(m.nodes.D.address, { hops: 3 });
    await session.ready;
    const st = a.routeServer!.stats();
    expect(rewritten).toBe(1);
    expect(st.queries).toEqual({ mesh: 1, direct: 0 });
    // The server's signed answer (through P) was refused; the path came from A's copy.
    expect(st.lastError).toBe('route query: DIRECTORY_BAD_SIGNATURE');
    expect(st.pathSources.server).toBe(0);
    expect(st.pathSources.random).toBe(before.pathSources.random);
    expect(st.pathSources.local).toBeGreaterThan(before.pathSources.local);
    await session.close();
  });

  it('builds routes from its downloaded copy when the route server is down', async () => {
    const rs = await server();
    const m = await meshOf(viaMesh(rs), rs);
    await Promise.all(NAMES.map((n) => m.nodes[n].routeServer!.sync()));
    const a = m.nodes.A;
    const copy = a.routeServer!.replica;
    expect(copy.state!.linkCount).toBe(EDGES.length);
    await rs.close();
    const before = a.routeServer!.stats();
    for (let i = 0; i < 3; i++) {
      const session = a.connectSession(m.nodes.D.address, { hops: 3 });
      await session.ready;
      await session.close();
    }
    const after = a.routeServer!.stats();
    // Every path came from the copy (latency-aware, same route finding), none at random.
    expect(after.pathSources.local - before.pathSources.local).toBeGreaterThanOrEqual(3);
    expect(after.pathSources.server).toBe(before.pathSources.server);
    expect(after.pathSources.random).toBe(before.pathSources.random);
    expect(after.failures).toBeGreaterThan(before.failures);
    expect(after.lastError).toMatch(/^route query: /);
  });

  it('a node reads from a private mirror, queries it, and publishes upstream', async () => {
    const upstream = await server();
    const mirror = await server({
      upstream: { url: upstream.url, key: upstream.publicKey, intervalMs: LONG },
    });
    const m = await meshOf(
      (_name, direct) => ({
        key: mirror.publicKey,
        url: mirror.url,
        publishUrl: upstream.url,
        fetch: direct,
        publishIntervalMs: LONG,
        reportIntervalMs: LONG,
        syncIntervalMs: LONG,
      }),
      upstream,
    );
    expect(upstream.service.state.nodeCount).toBe(NAMES.length);
    expect(upstream.service.state.linkCount).toBe(EDGES.length);
    await mirror.mirror!.syncOnce();
    const a = m.nodes.A;
    await a.routeServer!.sync();
    // The copy is the mirror's (signed with its key) at the upstream's version.
    expect(a.routeServer!.stats().version).toBe(upstream.service.state.version);
    expect(a.routeServer!.replica.state!.linkCount).toBe(EDGES.length);
    const session = a.connectSession(m.nodes.D.address, { hops: 3 });
    await session.ready;
    expect(a.routeServer!.stats().pathSources.server).toBe(1);
    expect(mirror.service.counters.routeQueries).toBe(1);
    expect(upstream.service.counters.routeQueries).toBe(0);
    expect(m.direct.A).toContain('/v1/routes');
    await session.close();
  });

  it('`skymesh node` with a routeServer section registers, reports and prints where it asks', async () => {
    const rs = await server();
    const dir = await mkdtemp(join(tmpdir(), 'skymesh-rs-node-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    // A node without proxy or API, registered with `rs` directly.
    const settings = {
      routeServer: { key: rs.service.address, url: rs.url },
      socks: { enabled: false },
      api: { enabled: false },
      dataDir: join(dir, 'data'),
      logLevel: 'silent',
    };
    const config = join(dir, 'node.json');
    await writeFile(config, JSON.stringify(settings));
    const written: string[] = [];
    let stop: (signal: string) => void = () => {};
    const stopped = new Promise<string>((r) => {
      stop = r;
    });
    const io = {
      out: (t: string) => void written.push(t),
      err: (t: string) => void written.push(t),
      env: {},
      stopSignal: () => stopped,
    };
    const done = runCli(['node', '--config', config], io);
    for (let i = 0; i < 200 && rs.service.counters.reportsAccepted === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const out = written.join('');
    expect(out).toContain(`routes  direct ${rs.url}, key ${rs.service.address}`);
    const address = /^node\s+(\w+)/m.exec(out)?.[1];
    expect(address).toBeDefined();
    expect(rs.service.state.node(parseAddress(address!))).toBeDefined();
    expect(rs.service.counters.reportsAccepted).toBe(1);
    stop('SIGTERM');
    expect(await done).toBe(0);
  });
});
