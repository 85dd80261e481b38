/**
 * The local stack end to end: a route server, the development gateway
 * (PGlite + devchain, published on mesh port 443) and six nodes on loopback.
 * Every node is registered and its topology links confirmed (both ends
 * reported them); a curl through the SOCKS5 proxy and the exit takes a
 * path the route server chose (asked through the mesh), one to the service
 * node (the route server's publisher) a path from the node's own copy;
 * the demo accounts hold their funded balance; a client on node 0 makes
 * signed calls to the gateway over a 3-hop route (wsTransport over a mesh
 * stream); close() frees every port and removes the seeds file. Bounded:
 * OS-chosen ports, loopback only.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex } from '@skymesh/crypto';
import { portRefuses, runCurl } from '@skymesh/node/apps/testing';
import { GatewayClient } from '@skymesh/protocol/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeGateway, runLocalStackCli } from '../src/cli.js';
import { gatewayOverMesh } from '../src/gateway.js';
import { type LocalStack, startLocalStack } from '../src/stack.js';

const BALANCE = 7_000_000n;
let stack: LocalStack;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-stack-'));
  stack = await startLocalStack({
    socksPort: 0,
    apiPort: 0,
    routeServerPort: 0,
    gatewayOptions: {
      port: 0,
      demoAccounts: 2,
      demoBalance: BALANCE,
      accountsFile: join(dir, 'keys', 'accounts.json'),
    },
  });
});
afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

/** An account's balance as the gateway's database holds it (ids are stored as signed 64-bit). */
async function storedBalance(id: string): Promise<bigint> {
  const rows = await stack.gateway!.dev.gateway.database.transaction((q) =>
    q.query<{ b: string }>('SELECT balance::text AS b FROM accounts WHERE id = $1', [
      BigInt.asIntN(64, BigInt(id)).toString(),
    ]),
  );
  return BigInt(rows[0]!.b);
}

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

  it('funds the demo accounts and writes their seeds to a 0600 file only', async () => {
    const gw = stack.gateway!;
    expect(stack.services.map((x) => x.name)).toEqual(['route-server', 'gateway']);
    expect(gw.accounts).toHaveLength(2);
    const file = gw.accountsFile!;
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'keys'))).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(await readFile(file, 'utf8')) as {
      gatewayKey: string;
      accounts: { id: string; seed: string; balance: string }[];
    };
    expect(saved.gatewayKey).toBe(gw.publicKey);
    expect(saved.accounts.map((a) => a.id)).toEqual(gw.accounts.map((a) => a.id));
    for (const [i, a] of gw.accounts.entries()) {
      expect(a.balance).toBe(BALANCE.toString());
      expect(a).not.toHaveProperty('seed');
      expect(saved.accounts[i]!.seed).toMatch(/^[0-9a-f]{64}$/);
      // The ledger agrees with the signed receipt.
      expect(await storedBalance(a.id)).toBe(BALANCE);
    }
  });

  it('a client on node 0 reaches the gateway through a 3-hop route over the mesh', async () => {
    const gw = stack.gateway!;
    const nodes = stack.mesh.nodes;
    const service = nodes[stack.mesh.serviceIndex]!;
    expect(stack.gatewayMesh).toBe(`${stack.mesh.serviceAddress}.mesh:443`);
    const servedBefore = service.acceptor.stats().served.service;
    const forwardedBefore = nodes.map((n) => n.node.stats().counters.cellsForwarded);
    const transport = gatewayOverMesh(nodes[0]!, stack.mesh.serviceAddress);
    try {
      const [a, b] = gw.demoAccounts;
      const saved = JSON.parse(await readFile(gw.accountsFile!, 'utf8')) as {
        accounts: { seed: string }[];
      };
      // Account a from its saved seed (and the receipts kept so far), over the mesh.
      const alice = new GatewayClient({
        gatewayKey: fromHex(gw.publicKey),
        transport,
        account: { id: BigInt(a!.id), seed: fromHex(saved.accounts[0]!.seed) },
        links: a!.client.links,
      });
      await alice.transfer(BigInt(b!.id), 2_500_000n);
      expect(await alice.fetchBalance()).toBe(BALANCE - 2_500_000n);
      expect(await storedBalance(b!.id)).toBe(BALANCE + 2_500_000n);
      await alice.audit();
      // A closed socket: the next call opens a new mesh stream.
      transport.close();
      expect(await alice.fetchBalance()).toBe(BALANCE - 2_500_000n);
    } finally {
      transport.close();
    }
    // It went over the mesh: a 3-hop route from node 0, relays forwarded its cells,
    // and the service node served a stream to its published port.
    expect(nodes[0]!.node.stats().routes.some((r) => r.hops === 3)).toBe(true);
    const relayed = nodes.filter(
      (n, i) => n.node.stats().counters.cellsForwarded > forwardedBefore[i]!,
    );
    expect(relayed.length).toBeGreaterThanOrEqual(2);
    expect(service.acceptor.stats().served.service).toBeGreaterThanOrEqual(servedBefore + 2);
  });

  it('close() frees the route server, gateway, proxy and API ports and removes the seeds file', async () => {
    const file = stack.gateway!.accountsFile!;
    const ports = [
      stack.routeServer!.port,
      stack.gateway!.port,
      stack.mesh.socks.port,
      Number(new URL(stack.mesh.apiUrl).port),
    ];
    await stack.close();
    for (const p of ports) expect(await portRefuses(p)).toBe(true);
    expect(existsSync(file)).toBe(false);
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
    expect(out.join('')).toMatch(
      /--socks-port[\s\S]*--route-server-port[\s\S]*--no-route-server[\s\S]*--gateway-port[\s\S]*--no-gateway/,
    );
    expect(await runLocalStackCli(['--route-server-port', 'x'], io)).toBe(2);
    expect(out.join('')).toContain('--route-server-port must be a port number');
    expect(await runLocalStackCli(['--gateway-port', '70000'], io)).toBe(2);
    expect(out.join('')).toContain('--gateway-port must be a port number');
    expect(await runLocalStackCli(['--demo-accounts', '101'], io)).toBe(2);
    expect(out.join('')).toContain('--demo-accounts must be 0..100');
  });

  it('pnpm mesh prints the gateway and the demo accounts (ids, balances), never their seeds', async () => {
    const file = join(dir, 'cli-accounts.json');
    let printed!: () => void;
    const shown = new Promise<void>((r) => {
      printed = r;
    });
    const out: string[] = [];
    const io = {
      out: (t: string) => {
        out.push(t);
        printed();
      },
      err: () => {},
      env: {},
      stopSignal: () => shown.then(() => 'SIGINT'),
    };
    // Two nodes, direct routes: only the printing is under test here.
    const args = ['--nodes', '2', '--hops', '1', '--socks-port', '0', '--api-port', '0'];
    const code = await runLocalStackCli(
      [
        ...args,
        '--route-server-port',
        '0',
        '--gateway-port',
        '0',
        '--demo-accounts',
        '1',
        '--accounts-file',
        file,
        '--json',
      ],
      io,
    );
    expect(code).toBe(0);
    const shownJson = JSON.parse(out.join('')) as {
      serviceAddress: string;
      commands: string[];
      gateway: { url: string; mesh: string; accounts: { id: string; balance: string }[] };
    };
    expect(shownJson.gateway.mesh).toBe(`${shownJson.serviceAddress}.mesh:443`);
    expect(shownJson.gateway.accounts).toHaveLength(1);
    expect(shownJson.gateway.accounts[0]!.balance).toBe('10000000');
    expect(shownJson.commands.at(-1)).toContain(`http://${shownJson.gateway.mesh}/v1/gateway`);
    expect(JSON.stringify(shownJson)).not.toContain('seed');
    // Stopped: the seeds file is gone, and so is the gateway's port.
    expect(existsSync(file)).toBe(false);
    expect(await portRefuses(Number(new URL(shownJson.gateway.url).port))).toBe(true);
  });

  it('the text output has the gateway part before the commands', () => {
    const text = describeGateway(stack);
    expect(text).toContain(`over mesh:   ${stack.gatewayMesh}`);
    for (const a of stack.gateway!.accounts) {
      expect(text).toContain(`id ${a.id}  balance ${BALANCE} droplets`);
    }
    for (const a of stack.gateway!.demoAccounts) expect(text).not.toContain(a.seed);
  });
});
