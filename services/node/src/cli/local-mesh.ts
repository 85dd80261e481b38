/**
 * The local mesh: N real nodes in this process on one machine (websocket
 * links on 127.0.0.1, no outside service), wired over a partly connected
 * topology (topology.ts): node 0 runs the SOCKS5 proxy and the HTTP API,
 * node 4 is an exit allowing only loopback, node 5 publishes a demo HTTP
 * server at its .mesh address on port 80; the rest are relays. close()
 * stops every node, the proxy, the API and the demo server, freeing their
 * ports. Used by `skymesh mesh`, and by tools/local-stack (`pnpm mesh`,
 * `npm start`), which starts a route server first and passes `routeServer`
 * and `publish`: then the service node also publishes the route server at
 * its .mesh address, every node keeps links along the topology's edges,
 * registers, reports those links and takes its paths from the route server
 * (instead of the static topology chooser).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Identity, parseAddress } from '@skymesh/crypto';
import { nodeAppsConfigSchema } from '../apps/config.js';
import { type NodeWithApps, startNodeWithApps } from '../apps/run.js';
import { meshEdges, topologyPathChooser } from '../apps/topology.js';
import type { NodeLogger } from '../log.js';

/** Options of startLocalMesh. */
export interface LocalMeshOptions {
  /** Nodes, 2..32 (the exit and service roles need ≥ 6). @default 6 */
  readonly nodes?: number;
  /** SOCKS5 port on 127.0.0.1 (0 = chosen by the OS). @default 1080 */
  readonly socksPort?: number;
  /** API port of node 0 on 127.0.0.1 (0 = OS). @default 8600 */
  readonly apiPort?: number;
  /** Route length, destination included. @default 3 */
  readonly hops?: number;
  readonly logger?: NodeLogger;
  /**
   * A running route server: the nodes register with it at `url` and the
   * service node publishes it on mesh port `meshPort`, through which the
   * other nodes query it. @default none (paths over the static topology)
   */
  readonly routeServer?: LocalRouteServer;
  /** More services the service node publishes (mesh port → local TCP host:port). @default [] */
  readonly publish?: readonly PublishEntry[];
}

/** A route server for the local mesh. */
export interface LocalRouteServer {
  readonly url: string;
  /** The server's public key (hex or address). */
  readonly key: string;
  /** Mesh port the service node publishes it on. @default 8401 */
  readonly meshPort?: number;
  /** Agent periods (s); short ones keep a demo mesh current. */
  readonly reportIntervalS?: number;
  readonly syncIntervalS?: number;
}

/** One published service: mesh port → local TCP host:port. */
export interface PublishEntry {
  readonly meshPort: number;
  readonly host: string;
  readonly port: number;
}

/** A running local mesh. */
export interface LocalMesh {
  readonly nodes: readonly NodeWithApps[];
  readonly edges: readonly (readonly [number, number])[];
  /** Index of the exit and service nodes. */
  readonly exitIndex: number;
  readonly serviceIndex: number;
  /** The demo HTTP server's loopback port (published at serviceAddress.mesh:80). */
  readonly demoPort: number;
  readonly serviceAddress: string;
  readonly socks: { host: string; port: number };
  readonly apiUrl: string;
  /** Copy-pasteable commands to try. */
  readonly commands: string[];
  /** Where the nodes reach the route server, when one was given. */
  readonly routeServer: { readonly url: string; readonly mesh: string } | null;
  close(): Promise<void>;
}

/** Starts the demo HTTP service (127.0.0.1 and an OS-chosen port by default). */
export async function startDemoService(host = '127.0.0.1', port = 0): Promise<Server> {
  const server = createServer((req, res) => {
    const m = /^\/bytes\/(\d{1,9})$/.exec(req.url ?? '');
    if (m) {
      const n = Math.min(Number(m[1]), 100 * 1024 * 1024);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
      // Zeros in 64 KiB chunks, honouring backpressure.
      const chunk = Buffer.alloc(Math.min(n, 65536));
      let left = n;
      const pump = () => {
        while (left > 0) {
          const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= part.length;
          if (!res.write(part)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(
      'Hello from a Skymesh service!\n' +
        'This page came to you through a 3-hop onion route; the service never saw your address.\n',
    );
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  return server;
}

/** Starts the local mesh. See LocalMesh. */
export async function startLocalMesh(options: LocalMeshOptions = {}): Promise<LocalMesh> {
  const n = options.nodes ?? 6;
  if (!Number.isInteger(n) || n < 2 || n > 32) throw new RangeError('nodes must be 2..32');
  const exitIndex = Math.min(4, n - 1);
  const serviceIndex = Math.min(n - 1, 5);
  const edges = meshEdges(n);
  const identities = Array.from({ length: n }, () => Identity.generate());
  const keys = identities.map((i) => i.publicKey);
  const rs = options.routeServer;
  const rsMesh = rs
    ? { address: identities[serviceIndex]!.address, port: rs.meshPort ?? 8401 }
    : undefined;
  const demo = await startDemoService();
  const demoPort = (demo.address() as AddressInfo).port;
  const nodes: NodeWithApps[] = [];
  const closeAll = async () => {
    await Promise.allSettled(nodes.map((x) => x.close()));
    await new Promise<void>((r) => {
      demo.closeAllConnections();
      demo.close(() => r());
    });
  };
  try {
    for (let i = 0; i < n; i++) {
      const exit = i === exitIndex;
      const config = nodeAppsConfigSchema.parse({
        listen: [{ transport: 'ws', host: '127.0.0.1', port: 0 }],
        roles: { relay: true, exit },
        exitPolicy: exit
          ? { ports: [{ from: 1, to: 65535 }], hosts: ['127.0.0.1', '::1', 'localhost'] }
          : {},
        hops: options.hops ?? 3,
        publish: i === serviceIndex ? publishMap(demoPort, options.publish, rs, rsMesh) : {},
        socks: { enabled: i === 0, port: options.socksPort ?? 1080 },
        api: { enabled: i === 0, port: options.apiPort ?? 8600 },
        ...(rs && rsMesh
          ? {
              routeServer: {
                key: rs.key,
                url: rs.url,
                // The publisher reaches the server directly; everyone else through it.
                ...(i === serviceIndex ? {} : { mesh: rsMesh }),
                reportIntervalS: rs.reportIntervalS ?? 30,
                syncIntervalS: rs.syncIntervalS ?? 10,
              },
            }
          : {}),
      });
      nodes.push(
        await startNodeWithApps(config, {
          identity: identities[i]!,
          ...(options.logger ? { logger: options.logger } : {}),
          ...(rs ? {} : { nodeInit: { choosePath: topologyPathChooser(keys, edges, i) } }),
        }),
      );
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  const descriptors = nodes.map((x) => x.node.descriptor);
  for (const x of nodes) x.node.addDescriptors(descriptors);
  if (rs) {
    try {
      await linkAndRegister(nodes, edges);
    } catch (err) {
      await closeAll();
      throw err;
    }
  }
  const socks = nodes[0]!.socks!.address()!;
  const serviceAddress = nodes[serviceIndex]!.node.address;
  const proxy = `${socks.host}:${socks.port}`;
  const commands = [
    `curl --socks5-hostname ${proxy} http://${serviceAddress}.mesh/`,
    `curl --socks5-hostname ${proxy} -o /dev/null -w '%{size_download} bytes\\n' http://${serviceAddress}.mesh/bytes/20000000`,
    `curl --socks5-hostname ${proxy} http://127.0.0.1:${demoPort}/`,
    `curl ${nodes[0]!.api!.url}/api/status`,
  ];
  return {
    nodes,
    edges,
    exitIndex,
    serviceIndex,
    demoPort,
    serviceAddress,
    socks,
    apiUrl: nodes[0]!.api!.url,
    commands,
    routeServer:
      rs && rsMesh ? { url: rs.url, mesh: `${rsMesh.address}.mesh:${rsMesh.port}` } : null,
    close: closeAll,
  };
}

/** The service node's publish map: the demo on 80, the route server, then `extra`. */
function publishMap(
  demoPort: number,
  extra: readonly PublishEntry[] = [],
  rs?: LocalRouteServer,
  rsMesh?: { port: number },
): Record<string, string> {
  const map: Record<string, string> = { 80: `127.0.0.1:${demoPort}` };
  if (rs && rsMesh) {
    const u = new URL(rs.url);
    map[rsMesh.port] = `${u.hostname}:${u.port || 80}`;
  }
  for (const e of extra) {
    map[e.meshPort] = `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
  }
  return map;
}

/** How long the local mesh waits for its links and first registration. */
const LINK_WAIT_MS = 10_000;

/**
 * Keeps a link along every edge, waits for them, then has every node
 * register and report them, and then load the directory, so the route
 * server knows every link when the mesh is announced.
 */
async function linkAndRegister(
  nodes: readonly NodeWithApps[],
  edges: readonly (readonly [number, number])[],
): Promise<void> {
  for (const [a, b] of edges) {
    const peer = nodes[b]!.node;
    nodes[a]!.node.links.maintain(parseAddress(peer.address), peer.endpoints);
  }
  const deadline = Date.now() + LINK_WAIT_MS;
  const up = () =>
    edges.every(([a, b]) => nodes[a]!.node.links.getLink(nodes[b]!.node.publicKey) !== undefined);
  while (!up()) {
    if (Date.now() > deadline) throw new Error('local mesh: links along the edges did not come up');
    await new Promise((r) => setTimeout(r, 20));
  }
  const agents = nodes.map((x) => x.node.routeServer!);
  await Promise.all(agents.map((a) => a.start()));
  for (const a of agents) await a.publish();
  await Promise.all(agents.map((a) => a.report()));
  await Promise.all(agents.map((a) => a.sync()));
}
