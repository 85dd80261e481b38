/**
 * The `skymesh` command: keygen, node, status, mesh. Each subcommand has
 * --help; keygen, status and mesh take --json for machine-readable output.
 * Output for people goes to stdout, logs (pino JSON) to stderr. Exit codes:
 * 0 ok, 1 failure, 2 bad usage or configuration. Documented in docs/cli.md.
 *
 *   skymesh keygen --data-dir .skymesh/node
 *   skymesh node --config node.json
 *   skymesh status --api http://127.0.0.1:8600
 *   skymesh mesh --nodes 6
 */

import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Identity, SkymeshError, toHex } from '@skymesh/crypto';
import { descriptorToJSON } from '@skymesh/protocol';
import { type NodeAppsConfig, nodeAppsSchemaWithEnv } from '../apps/config.js';
import { startNodeWithApps } from '../apps/run.js';
import { LOCAL_MESH_ROLES } from '../apps/topology.js';
import { ConfigError, loadConfig, loadOrCreateIdentity } from '../config.js';
import { createLogger, type LogLevel } from '../log.js';
import {
  type LocalMesh,
  type LocalMeshOptions,
  startDemoService,
  startLocalMesh,
} from './local-mesh.js';
import { writeMeshPlan } from './plan.js';

/** Where a command writes; tests pass their own. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** Resolves when the user asks to stop (SIGINT/SIGTERM). */
  stopSignal(): Promise<string>;
}

/** Thrown for bad usage: unknown command or option, missing value. Exit code 2. */
export class UsageError extends SkymeshError {
  constructor(message: string) {
    super('CLI_USAGE', message);
  }
}

const HELP = {
  main: `skymesh — a privacy meshnet node

Usage: skymesh <command> [options]

Commands:
  keygen   make a node identity (Ed25519 seed) and print its address
  node     run one mesh node with its SOCKS5 proxy, published services and API
  status   ask a running node's API for its status
  mesh     run a whole local mesh on this machine (default 6 nodes)
  plan     write configs and keys to run the mesh's topology as separate nodes (docker)
  demo-http  serve the demo HTTP page (what the local mesh publishes)

Run 'skymesh <command> --help' for a command's options.
`,
  keygen: `Usage: skymesh keygen [--data-dir <dir>] [--force] [--json]

Makes a new identity and writes its seed to <dir>/identity.key (mode 0600),
then prints the node's address. Refuses to overwrite an existing key
unless --force.

Options:
  --data-dir <dir>  where the key goes (default .skymesh/node)
  --force           replace an existing identity.key
  --json            print {"address","publicKey","path"}
  -h, --help        this help
`,
  node: `Usage: skymesh node [--config <file>]

Runs one node until Ctrl-C: links, routes, sessions, the SOCKS5 proxy,
published services, exit (if configured) and the HTTP API. The config is
JSON (see docs/cli.md); SKYMESH_* environment variables override it
(SKYMESH_CONFIG, SKYMESH_LISTEN, SKYMESH_SOCKS_PORT, SKYMESH_API_PORT,
SKYMESH_API_TOKEN, SKYMESH_PUBLISH, ...).

Options:
  --config <file>   the JSON config file
  -h, --help        this help
`,
  status: `Usage: skymesh status [--api <url>] [--token <t>] [--json]

Prints a node's address, roles, links, routes and streams from its API.

Options:
  --api <url>     the node's API (default http://127.0.0.1:8600, or SKYMESH_API)
  --token <t>     bearer token (or SKYMESH_API_TOKEN)
  --json          print the API's answers as JSON
  -h, --help      this help
`,
  mesh: `Usage: skymesh mesh [--nodes <n>] [--socks-port <p>] [--api-port <p>] [--hops <h>] [--json]

Starts a local mesh in this process: n nodes on 127.0.0.1 over a partly
connected topology, one exit allowing only loopback, a demo HTTP service
published at a .mesh address, and a SOCKS5 proxy. Prints the addresses and
curl commands to try; Ctrl-C stops everything and frees the ports.

Options:
  --nodes <n>        2..32 (default 6)
  --socks-port <p>   SOCKS5 port on 127.0.0.1 (default 1080)
  --api-port <p>     node 0's API port (default 8600)
  --hops <h>         route length, destination included (default 3)
  --log-level <l>    node logs on stderr (default warn)
  --json             print one JSON line describing the mesh
  -h, --help         this help
`,
  plan: `Usage: skymesh plan --out <dir> [--nodes <n>] [--host-prefix <p>] [--port <p>]
                    [--demo <host:port>] [--mounted-at <dir>] [--json]

Writes one identity and one node config per node (node<i>/identity.key,
node<i>.json) for the local mesh's topology run as separate processes or
containers (docker/compose.yaml): every config holds all signed
descriptors (advertised at <host-prefix><i>:<port>), node 0 runs SOCKS5 and
the API on 0.0.0.0 with generated credentials (plan.json), node 4 is the
loopback-only exit, node 5 publishes <demo> on mesh port 80.

Options:
  --out <dir>          output folder (required)
  --nodes <n>          2..32 (default 6)
  --host-prefix <p>    node i's host name is <p><i> (default node)
  --port <p>           link port of every node (default 7000)
  --demo <host:port>   what node 5 publishes on port 80 (default demo:8080)
  --mounted-at <dir>   the folder's path as the nodes see it (default --out)
  --json               print plan.json (addresses, SOCKS credentials, API token)
  -h, --help           this help
`,
  'demo-http': `Usage: skymesh demo-http [--host <h>] [--port <p>]

Serves the demo page (and /bytes/<n>) the local mesh publishes, until Ctrl-C.

Options:
  --host <h>   interface (default 127.0.0.1)
  --port <p>   port (default 8080)
  -h, --help   this help
`,
} as const;

/** The help of `skymesh mesh` (wrappers extend it). */
export const MESH_HELP: string = HELP.mesh;

function parse(
  args: string[],
  options: Record<string, { type: 'string' | 'boolean'; short?: string }>,
) {
  try {
    return parseArgs({
      args,
      options: { help: { type: 'boolean', short: 'h' }, ...options },
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function intOption(v: unknown, name: string, def: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`${name} must be a number`);
  return Number(v);
}

async function keygen(args: string[], io: CliIo): Promise<number> {
  const o = parse(args, {
    'data-dir': { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (o.help) {
    io.out(HELP.keygen);
    return 0;
  }
  const dir = resolve(String(o['data-dir'] ?? '.skymesh/node'));
  const path = join(dir, 'identity.key');
  const id = Identity.generate();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, `${toHex(id.seed)}\n`, { mode: 0o600, flag: o.force ? 'w' : 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      io.err(`${path} exists; use --force to replace it\n`);
      return 1;
    }
    throw err;
  }
  if (o.json) {
    io.out(`${JSON.stringify({ address: id.address, publicKey: toHex(id.publicKey), path })}\n`);
  } else io.out(`address: ${id.address}\nkey:     ${path}\n`);
  return 0;
}

async function node(args: string[], io: CliIo): Promise<number> {
  const o = parse(args, { config: { type: 'string' } });
  if (o.help) {
    io.out(HELP.node);
    return 0;
  }
  const config = await loadConfig({
    argv: o.config ? ['--config', String(o.config)] : [],
    env: io.env,
    schema: nodeAppsSchemaWithEnv(io.env),
  });
  const log = createLogger(config.logLevel as LogLevel);
  const identity = await loadOrCreateIdentity(config.dataDir);
  const running = await startNodeWithApps(config, { identity, logger: log });
  if (config.descriptorOut) {
    await writeFile(
      config.descriptorOut,
      `${JSON.stringify(descriptorToJSON(running.node.descriptor))}\n`,
    );
  }
  const socks = running.socks?.address();
  io.out(
    [
      `node    ${running.node.address}`,
      `listen  ${running.node.endpoints.map((e) => `${e.transport}://${e.host}:${e.port}`).join(' ')}`,
      socks ? `socks5  ${socks.host}:${socks.port}` : 'socks5  off',
      running.api ? `api     ${running.api.url}` : 'api     off',
      ...(config.routeServer ? [`routes  ${describeRouteServer(config.routeServer)}`] : []),
      ...running.acceptor.services.map(
        (s) => `publish ${running.node.address}.mesh:${s.port} -> ${s.host}:${s.localPort}`,
      ),
      '',
    ].join('\n'),
  );
  const signal = await io.stopSignal();
  log.info({ signal }, 'shutting down');
  await running.close();
  return 0;
}

async function status(args: string[], io: CliIo): Promise<number> {
  const o = parse(args, {
    api: { type: 'string' },
    token: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (o.help) {
    io.out(HELP.status);
    return 0;
  }
  const base = String(o.api ?? io.env.SKYMESH_API ?? 'http://127.0.0.1:8600').replace(/\/$/, '');
  const token = (o.token as string | undefined) ?? io.env.SKYMESH_API_TOKEN;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const get = async (path: string) => {
    const r = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(5000) });
    if (!r.ok) throw new SkymeshError('CLI_API_ERROR', `${path}: HTTP ${r.status}`);
    return (await r.json()) as Record<string, unknown>;
  };
  let answers: Record<string, Record<string, unknown>>;
  try {
    const [st, links, routes, services] = await Promise.all([
      get('/api/status'),
      get('/api/links'),
      get('/api/routes'),
      get('/api/services'),
    ]);
    answers = { status: st, links, routes, services };
  } catch (err) {
    io.err(`cannot reach the node's API at ${base}: ${(err as Error).message}\n`);
    return 1;
  }
  if (o.json) {
    io.out(`${JSON.stringify(answers)}\n`);
    return 0;
  }
  const st = answers.status!;
  const links = (answers.links!.links ?? []) as { peer: string; rttMs?: number }[];
  const routes = (answers.routes!.routes ?? []) as { hops: number; ageMs: number }[];
  const services = (answers.services!.services ?? []) as { url: string; target: string }[];
  io.out(
    [
      `address   ${st.address}`,
      `roles     ${JSON.stringify(st.roles)}`,
      `uptime    ${st.uptimeSeconds}s`,
      `links     ${links.length}`,
      ...links.map((l) => `  ${l.peer}  rtt ${l.rttMs ?? '?'} ms`),
      `routes    ${routes.length}`,
      ...routes.map((r) => `  ${r.hops} hops, ${Math.round(r.ageMs / 1000)}s old`),
      `streams   ${st.streams}`,
      ...services.map((s) => `service   ${s.url} -> ${s.target}`),
      '',
    ].join('\n'),
  );
  return 0;
}

/** One line on where a node's route server is: direct URL, .mesh service, key. */
function describeRouteServer(r: NonNullable<NodeAppsConfig['routeServer']>): string {
  const mesh = r.mesh ? `${r.mesh.address.replace(/\.mesh$/i, '')}.mesh:${r.mesh.port}` : null;
  const parts = [
    r.url ? `${mesh ? 'bootstrap' : 'direct'} ${r.url}` : null,
    mesh ? `queries through the mesh to ${mesh}` : null,
    `key ${r.key}`,
  ];
  return parts.filter(Boolean).join(', ');
}

/** The text `skymesh mesh` prints once the mesh runs. */
export function describeMesh(mesh: LocalMesh): string {
  const lines = ['Skymesh local mesh is running.', '', 'Nodes:'];
  mesh.nodes.forEach((x, i) => {
    const role =
      i === mesh.exitIndex
        ? 'relay + exit (loopback only)'
        : i === mesh.serviceIndex
          ? 'service (demo HTTP on mesh port 80)'
          : i === 0
            ? 'client (SOCKS5 + API)'
            : (LOCAL_MESH_ROLES[i] ?? 'relay');
    const peers = mesh.edges
      .filter(([a, b]) => a === i || b === i)
      .map(([a, b]) => (a === i ? b : a));
    lines.push(`  ${i}  ${x.node.address}.mesh  ${role}; links to ${peers.join(', ')}`);
  });
  lines.push(
    '',
    `SOCKS5 proxy:  ${mesh.socks.host}:${mesh.socks.port}`,
    `Node API:      ${mesh.apiUrl}  (status, /metrics, ws /api/live)`,
    `Demo service:  http://${mesh.serviceAddress}.mesh/  (local 127.0.0.1:${mesh.demoPort})`,
    ...(mesh.routeServer
      ? [
          `Route server:  ${mesh.routeServer.url}  (nodes query it through the mesh at ${mesh.routeServer.mesh})`,
        ]
      : []),
    '',
    'Try:',
    ...mesh.commands,
    '',
    'Ctrl-C stops the mesh.',
    '',
  );
  return lines.join('\n');
}

/** What a wrapper of `skymesh mesh` changes (tools/local-stack starts a route server around it). */
export interface MeshCommandInit {
  /** Help text instead of the built-in one. */
  readonly help?: string;
  /** Options besides the built-in ones (parsed as parseArgs does). */
  readonly options?: Record<string, { type: 'string' | 'boolean' }>;
  /** Starts the mesh (with the parsed extra options). @default startLocalMesh */
  readonly start?: (
    options: LocalMeshOptions,
    values: Record<string, string | boolean | undefined>,
  ) => Promise<LocalMesh>;
}

/** Reads a numeric option (a usage error otherwise). */
export { intOption };

/** `skymesh mesh`, or a wrapper's variant of it. */
export async function meshCommand(
  args: string[],
  io: CliIo,
  init: MeshCommandInit = {},
): Promise<number> {
  const o = parse(args, {
    nodes: { type: 'string' },
    'socks-port': { type: 'string' },
    'api-port': { type: 'string' },
    hops: { type: 'string' },
    'log-level': { type: 'string' },
    json: { type: 'boolean' },
    ...init.options,
  });
  if (o.help) {
    io.out(init.help ?? HELP.mesh);
    return 0;
  }
  const level = String(o['log-level'] ?? 'warn') as LogLevel;
  const running = await (init.start ?? startLocalMesh)(
    {
      nodes: intOption(o.nodes, '--nodes', 6),
      socksPort: intOption(o['socks-port'], '--socks-port', 1080),
      apiPort: intOption(o['api-port'], '--api-port', 8600),
      hops: intOption(o.hops, '--hops', 3),
      logger: createLogger(level),
    },
    o,
  );
  if (o.json) {
    io.out(
      `${JSON.stringify({
        nodes: running.nodes.map((x) => x.node.address),
        edges: running.edges,
        exit: running.exitIndex,
        service: running.serviceIndex,
        serviceAddress: running.serviceAddress,
        socks: running.socks,
        api: running.apiUrl,
        routeServer: running.routeServer,
        commands: running.commands,
      })}\n`,
    );
  } else io.out(describeMesh(running));
  await io.stopSignal();
  io.err('stopping the mesh…\n');
  await running.close();
  io.err('stopped.\n');
  return 0;
}

async function plan(args: string[], io: CliIo): Promise<number> {
  const o = parse(args, {
    out: { type: 'string' },
    nodes: { type: 'string' },
    'host-prefix': { type: 'string' },
    port: { type: 'string' },
    demo: { type: 'string' },
    'mounted-at': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (o.help) {
    io.out(HELP.plan);
    return 0;
  }
  if (typeof o.out !== 'string') throw new UsageError('--out is required');
  const written = await writeMeshPlan({
    out: o.out,
    nodes: intOption(o.nodes, '--nodes', 6),
    port: intOption(o.port, '--port', 7000),
    ...(typeof o['host-prefix'] === 'string' ? { hostPrefix: o['host-prefix'] } : {}),
    ...(typeof o.demo === 'string' ? { demo: o.demo } : {}),
    ...(typeof o['mounted-at'] === 'string' ? { mountedAt: o['mounted-at'] } : {}),
  });
  if (o.json) io.out(`${JSON.stringify(written)}\n`);
  else {
    io.out(
      [
        `wrote ${written.addresses.length} node configs to ${resolve(o.out)}`,
        `service  http://${written.serviceAddress}.mesh/`,
        `socks5   user ${written.socksUser}, password ${written.socksPassword}`,
        `api      token ${written.apiToken}`,
        '',
      ].join('\n'),
    );
  }
  return 0;
}

async function demoHttp(args: string[], io: CliIo): Promise<number> {
  const o = parse(args, { host: { type: 'string' }, port: { type: 'string' } });
  if (o.help) {
    io.out(HELP['demo-http']);
    return 0;
  }
  const host = String(o.host ?? '127.0.0.1');
  const server = await startDemoService(host, intOption(o.port, '--port', 8080));
  const a = server.address() as AddressInfo;
  io.out(`demo service on http://${host.includes(':') ? `[${host}]` : host}:${a.port}/\n`);
  await io.stopSignal();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  return 0;
}

const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  keygen,
  node,
  status,
  mesh: (args, io) => meshCommand(args, io),
  plan,
  'demo-http': demoHttp,
};

/** A command's implementation (runCli's `commands` override one by name). */
export type CliCommand = (args: string[], io: CliIo) => Promise<number>;

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. `commands` replace built-in ones (tools/local-stack's `mesh`). */
export async function runCli(
  argv: string[],
  io: CliIo,
  commands: Readonly<Record<string, CliCommand>> = {},
): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    io.out(HELP.main);
    return cmd === undefined ? 2 : 0;
  }
  const run = commands[cmd] ?? COMMANDS[cmd];
  if (!run) {
    io.err(`unknown command "${cmd}"\n\n${HELP.main}`);
    return 2;
  }
  try {
    return await run(rest, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.err(`${err.message}\n`);
      return 2;
    }
    if (err instanceof SkymeshError) {
      io.err(`${err.code}: ${err.message}\n`);
      return 1;
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      // The usual first-run problem: say which option moves the port.
      const moves = commands.mesh
        ? '--socks-port / --api-port / --route-server-port'
        : '--socks-port / --api-port';
      io.err(`${(err as Error).message}: the port is taken (see ${moves})\n`);
      return 1;
    }
    throw err;
  }
}

/** How long a repeated signal counts as the same Ctrl-C. */
const SAME_PRESS_MS = 1000;

/**
 * Resolves on the first SIGINT/SIGTERM. Under tsx, Ctrl-C reaches both tsx
 * and this process (one process group) and tsx relays its copy: a repeat
 * within a second is the same press and must not cut the shutdown short
 * (services closing, the demo seeds file removed). A later one exits at once.
 */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    let first = 0;
    const on = (sig: NodeJS.Signals) => {
      if (first === 0) {
        first = Date.now();
        resolve(sig);
      } else if (Date.now() - first > SAME_PRESS_MS) process.exit(130);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** The process's own io: stdout/stderr and SIGINT/SIGTERM (stopSignal). */
export function processIo(): CliIo {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
    stopSignal,
  };
}
