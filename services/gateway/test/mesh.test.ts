// The gateway as a .mesh service: a mesh node publishes mesh port 443 →
// the gateway's loopback address (the node apps' `publish` config), and a
// client on another node reaches it over a 3-hop onion route (two relays,
// websocket links on 127.0.0.1), speaking the client library's WebSocket
// transport over the mesh stream. The client's signed calls work end to end,
// and nothing IP-like reaches the gateway's database rows or its logs.
import { Identity } from '@skymesh/crypto';
import {
  type NodeWithApps,
  nodeAppsConfigSchema,
  startNodeWithApps,
  webSocketOverStream,
} from '@skymesh/node/apps';
import {
  GatewayClient,
  generateAccount,
  type WebSocketLike,
  wsTransport,
} from '@skymesh/protocol/gateway';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../src/db/client.js';
import type { Gateway } from '../src/gateway.js';
import { codeOf, listeningGateway } from './_harness.js';

const MESH_PORT = 443;
let gw: Gateway;
let gwPort: number;
let logged: string[];
let closeGateway: () => Promise<void>;
const nodes: NodeWithApps[] = [];

beforeAll(async () => {
  const g = await listeningGateway();
  ({ gw, logged } = g);
  closeGateway = g.close;
  gwPort = Number(new URL(g.address).port);

  // Node 0: the client's node; 1–3: relays; 4: publishes the gateway.
  for (let i = 0; i < 5; i++) {
    const config = nodeAppsConfigSchema.parse({
      listen: [{ transport: 'ws', host: '127.0.0.1', port: 0 }],
      hops: 3,
      publish: i === 4 ? { [MESH_PORT]: `127.0.0.1:${gwPort}` } : {},
      socks: { enabled: false },
      api: { enabled: false },
    });
    nodes.push(await startNodeWithApps(config, { identity: Identity.generate() }));
  }
  const descriptors = nodes.map((n) => n.node.descriptor);
  for (const n of nodes) n.node.addDescriptors(descriptors);
});

afterAll(async () => {
  await Promise.allSettled(nodes.map((n) => n.close()));
  await closeGateway?.();
});

describe('the gateway over the mesh', () => {
  it('a client on another node makes signed calls through a 3-hop route', async () => {
    const service = { kind: 'service', address: nodes[4]!.node.address, port: MESH_PORT } as const;
    const stream = await nodes[0]!.dialer.open(service);
    const transport = wsTransport({
      connect: () =>
        webSocketOverStream(
          stream,
          `ws://${nodes[4]!.node.address}.mesh/v1/ws`,
        ) as unknown as WebSocketLike,
    });
    const gatewayKey = gw.ledger.gatewayKey;
    const alice = new GatewayClient({ gatewayKey, transport, account: generateAccount() });
    const bob = new GatewayClient({ gatewayKey, transport, account: generateAccount() });
    await alice.createAccount();
    await bob.createAccount();
    const address = await alice.depositAddress();
    gw.devChain!.faucet(address, 4_000_000n);
    gw.devChain!.mine();
    await gw.scanDeposits();
    await alice.transfer(bob.account, 1_500_000n);
    expect(await alice.fetchBalance()).toBe(2_500_000n);
    expect(await bob.fetchBalance()).toBe(1_500_000n);
    expect(await codeOf(bob.transfer(alice.account, 2_000_000n))).toBe('GW_INSUFFICIENT_FUNDS');
    await gw.ledger.checkpoint();
    const cp = await alice.audit();
    expect(Number(cp.size)).toBe(gw.ledger.logSize);

    // It went over the mesh: the client's route has 3 hops and two relays forwarded its cells.
    const routes = nodes[0]!.node.stats().routes;
    expect(routes.some((r) => r.hops === 3)).toBe(true);
    const relayed = nodes.slice(1, 4).filter((n) => n.node.stats().counters.cellsForwarded > 0);
    expect(relayed.length).toBe(2);
    expect(nodes[4]!.acceptor.stats().served.service).toBeGreaterThanOrEqual(1);
    transport.close();
  });

  it('stores and logs no client address', async () => {
    const tables = await rows<{ name: string }>(
      gw.database.db,
      sql`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`,
    );
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['accounts', 'receipts']));
    let dump = '';
    for (const { name } of tables) {
      const r = await rows<{ j: unknown }>(
        gw.database.db,
        sql.raw(`SELECT row_to_json(t)::text AS j FROM "${name}" t`),
      );
      dump += r.map((x) => String(x.j)).join('\n');
    }
    expect(dump).toContain('"kind":"transfer"'); // the rows of the test above are there
    const everything = `${dump}\n${logged.join('\n')}`;
    const ipv4 = /(?<![0-9])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9])/;
    // IPv6: a compressed form (::1, ::ffff:…) or all eight groups (times like 06:19:34 are not).
    const ipv6 = /::|(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}/i;
    expect(everything).not.toMatch(ipv4);
    expect(everything).not.toMatch(ipv6);
    expect(everything).not.toMatch(/localhost|remoteAddress|remotePort/);
    // The ports of the links the calls came over are not there either.
    for (const n of nodes) {
      for (const e of n.node.endpoints) expect(everything).not.toContain(`:${e.port}`);
    }
  });
});
