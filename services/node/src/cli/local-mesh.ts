/**
 * The local mesh: N real nodes in this process on one machine (websocket
 * links on 127.0.0.1, no outside service), wired over a partly connected
 * topology (topology.ts): node 0 runs the SOCKS5 proxy and the HTTP API,
 * node 4 is an exit allowing only loopback, node 5 publishes a demo HTTP
 * server at its .mesh address on port 80; the rest are relays. close()
 * stops every node, the proxy, the API and the demo server, freeing their
 * ports. Used by `skymesh mesh`, `pnpm mesh` and `npm start`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Identity } from '@skymesh/crypto';
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
        publish: i === serviceIndex ? { 80: `127.0.0.1:${demoPort}` } : {},
        socks: { enabled: i === 0, port: options.socksPort ?? 1080 },
        api: { enabled: i === 0, port: options.apiPort ?? 8600 },
      });
      nodes.push(
        await startNodeWithApps(config, {
          identity: identities[i]!,
          ...(options.logger ? { logger: options.logger } : {}),
          nodeInit: { choosePath: topologyPathChooser(keys, edges, i) },
        }),
      );
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  const descriptors = nodes.map((x) => x.node.descriptor);
  for (const x of nodes) x.node.addDescriptors(descriptors);
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
    close: closeAll,
  };
}
