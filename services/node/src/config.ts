/**
 * A node's configuration: one zod schema, read from a JSON file (`--config`
 * or SKYMESH_CONFIG) with SKYMESH_* environment variables on top, validated
 * once at start. A bad value stops the node with a message naming the field
 * (and the variable it came from). Also where the node keeps its identity
 * seed (dataDir/identity.key, mode 0600). The CLI reuses all of it; local
 * apps extend the schema with their own sections (nodeConfigSchema.extend).
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  fromHex,
  Identity,
  isAddress,
  parseAddress,
  randomBytes,
  SkymeshError,
  toHex,
} from '@skymesh/crypto';
import { hostPatternProblem, hostProblem, MAX_ENDPOINTS, MAX_EXIT_RULES } from '@skymesh/protocol';
import { z } from 'zod';
import type { NodeInit } from './node.js';

const transport = z.enum(['ws', 'wss', 'tcp']);
const port = z.number().int().min(0).max(65535);
const host = z
  .string()
  .min(1)
  .refine((h) => hostProblem(h) === null, 'must be a host name or an IP literal');

/** A listener: transport, interface, port (0 = chosen by the OS). */
const listenSchema = z
  .object({
    transport: transport.default('ws'),
    host: host.default('127.0.0.1'),
    port: port.default(0),
  })
  .strict();

/** An endpoint put in the descriptor (port must be real). */
const advertiseSchema = z.object({ transport, host, port: port.min(1) }).strict();

const exitPolicySchema = z
  .object({
    ports: z
      .array(
        z
          .object({ from: port.min(1), to: port.min(1) })
          .strict()
          .refine((r) => r.from <= r.to, 'from must not exceed to'),
      )
      .max(MAX_EXIT_RULES)
      .default([]),
    hosts: z
      .array(z.string().refine((h) => hostPatternProblem(h) === null, 'bad host pattern'))
      .max(MAX_EXIT_RULES)
      .default([]),
  })
  .strict();

/** Money is an integer of the coin's smallest unit: a JSON integer or a decimal string. */
const amount = z
  .union([z.string().regex(/^\d{1,20}$/, 'must be a whole number'), z.number().int().min(0)])
  .transform((v) => BigInt(v))
  .refine((v) => v < 2n ** 64n, 'must fit in 64 bits');

/** A route server's key: 64 hex digits or its address. */
const serverKey = z
  .string()
  .refine((v) => /^[0-9a-f]{64}$/.test(v) || isAddress(v), 'must be 64 hex digits or an address');

/**
 * The route server the node registers with and takes paths from
 * (docs/node.md §Route server). `url` is reached directly (bootstrap,
 * publishing); `mesh` is the route server published as a .mesh service
 * (diffs and route queries go there, through the mesh, after bootstrap).
 */
const routeServerSchema = z
  .object({
    key: serverKey,
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
      .optional(),
    /** Where to publish instead of url (reading from a private mirror, publishing upstream). */
    publishUrl: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
      .optional(),
    mesh: z
      .object({
        address: z
          .string()
          .refine((a) => isAddress(a.replace(/\.mesh$/i, '')), 'must be a node address'),
        port: port.min(1),
      })
      .strict()
      .optional(),
    publishIntervalS: z.number().int().min(10).max(86_400).default(900),
    reportIntervalS: z.number().int().min(1).max(3600).default(60),
    syncIntervalS: z.number().int().min(1).max(3600).default(30),
    timeoutMs: z.number().int().min(100).max(60_000).default(5000),
    /** Copy older than this (seconds) counts as stale; ≥ 120 (the route server re-signs every 60 s); default max(4 syncs, 60 s + 2 syncs). */
    staleAfterS: z.number().int().min(120).max(86_400).optional(),
    /** KiB/s reported for every link. */
    linkCapacity: z
      .number()
      .int()
      .min(1)
      .max(2 ** 32 - 1)
      .default(10_240),
    /** Ask the server for paths; false = choose from the downloaded copy only. */
    ask: z.boolean().default(true),
  })
  .strict()
  .refine((r) => r.url !== undefined || r.mesh !== undefined, 'needs url or mesh');

/** The node section of the configuration; every field has a default. */
export const nodeConfigSchema = z
  .object({
    /** Where the identity seed (and a wss certificate) live. */
    dataDir: z.string().min(1).default('.skymesh/node'),
    listen: z.array(listenSchema).min(1).max(MAX_ENDPOINTS).prefault([{}]),
    /** Endpoints for the descriptor instead of the listeners' own. */
    advertise: z.array(advertiseSchema).max(MAX_ENDPOINTS).optional(),
    roles: z
      .object({ relay: z.boolean().default(true), exit: z.boolean().default(false) })
      .strict()
      .prefault({}),
    exitPolicy: exitPolicySchema.prefault({}),
    pricePerMiB: amount.prefault(0),
    /** Descriptors in their JSON form ({ address, descriptor }). */
    directory: z
      .array(z.object({ address: z.string(), descriptor: z.string() }).strict())
      .default([]),
    /** A directory file (JSON list of descriptors) read at start. */
    directoryFile: z.string().min(1).optional(),
    /** Route length, destination included. */
    hops: z.number().int().min(1).max(8).default(3),
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    /** Write the node's signed descriptor (JSON form) here once it listens. */
    descriptorOut: z.string().min(1).optional(),
    routeServer: routeServerSchema.optional(),
  })
  .strict();

export type NodeConfig = z.infer<typeof nodeConfigSchema>;

/** Thrown when the configuration is unreadable or holds a bad value. */
export class ConfigError extends SkymeshError<'NODE_CONFIG_INVALID'> {
  /** Bad fields as dotted paths (`listen.0.port`). */
  readonly fields: string[];
  constructor(fields: string[], message: string) {
    super('NODE_CONFIG_INVALID', message, { fields });
    this.fields = fields;
  }
}

const bool = (name: string, v: string): boolean => {
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  throw new ConfigError([name], `${name} must be true or false`);
};

const intOf = (name: string, v: string): number => {
  if (!/^-?\d+$/.test(v)) throw new ConfigError([name], `${name} must be an integer`);
  return Number(v);
};

/** `ws://127.0.0.1:0,tcp://[::1]:4100` → listener objects (validated by the schema). */
function endpointList(
  name: string,
  v: string,
): { transport: string; host: string; port: number }[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^([a-z]+):\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(s);
      if (!m) throw new ConfigError([name], `${name}: "${s}" is not transport://host:port`);
      return { transport: m[1]!, host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) };
    });
}

/** `<address>:<port>` → the mesh location of a published route server. */
function meshService(name: string, v: string): { address: string; port: number } {
  const m = /^([a-z0-9.]+):(\d{1,5})$/i.exec(v.trim());
  if (!m) throw new ConfigError([name], `${name}: "${v}" is not <address>:<port>`);
  return { address: m[1]!, port: Number(m[2]) };
}

/** `80,443,8000-8100` → port ranges. */
function portRanges(name: string, v: string): { from: number; to: number }[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(\d+)(?:-(\d+))?$/.exec(s);
      if (!m) throw new ConfigError([name], `${name}: "${s}" is not a port or a range`);
      return { from: Number(m[1]), to: Number(m[2] ?? m[1]) };
    });
}

const list = (_: string, v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const text = (_: string, v: string) => v;

/** Environment variables and the config path each one sets. */
export const ENV_OVERRIDES: Record<
  string,
  { path: string[]; parse: (name: string, v: string) => unknown }
> = {
  SKYMESH_DATA_DIR: { path: ['dataDir'], parse: text },
  SKYMESH_LISTEN: { path: ['listen'], parse: endpointList },
  SKYMESH_ADVERTISE: { path: ['advertise'], parse: endpointList },
  SKYMESH_RELAY: { path: ['roles', 'relay'], parse: bool },
  SKYMESH_EXIT: { path: ['roles', 'exit'], parse: bool },
  SKYMESH_EXIT_PORTS: { path: ['exitPolicy', 'ports'], parse: portRanges },
  SKYMESH_EXIT_HOSTS: { path: ['exitPolicy', 'hosts'], parse: list },
  SKYMESH_PRICE_PER_MIB: { path: ['pricePerMiB'], parse: text },
  SKYMESH_DIRECTORY_FILE: { path: ['directoryFile'], parse: text },
  SKYMESH_HOPS: { path: ['hops'], parse: intOf },
  SKYMESH_LOG_LEVEL: { path: ['logLevel'], parse: text },
  SKYMESH_DESCRIPTOR_OUT: { path: ['descriptorOut'], parse: text },
  SKYMESH_ROUTE_SERVER_KEY: { path: ['routeServer', 'key'], parse: text },
  SKYMESH_ROUTE_SERVER_URL: { path: ['routeServer', 'url'], parse: text },
  SKYMESH_ROUTE_SERVER_PUBLISH_URL: { path: ['routeServer', 'publishUrl'], parse: text },
  SKYMESH_ROUTE_SERVER_MESH: { path: ['routeServer', 'mesh'], parse: meshService },
};

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    const next = o[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[path[path.length - 1]!] = value;
}

/** Options of loadConfig. */
export interface LoadConfigOptions<S extends z.ZodType = typeof nodeConfigSchema> {
  /** Command-line arguments (only `--config <file>` / `--config=<file>` is read). @default process.argv.slice(2) */
  argv?: readonly string[];
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /** A schema extending nodeConfigSchema (local apps add their sections). @default nodeConfigSchema */
  schema?: S;
}

/** The config file named by `--config` or SKYMESH_CONFIG, if any. */
export function configPath(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config') return argv[i + 1];
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  return env.SKYMESH_CONFIG || undefined;
}

/**
 * Reads the config file (if any), applies SKYMESH_* overrides and
 * validates. Relative paths in the result stay relative to the working
 * directory.
 * @throws ConfigError NODE_CONFIG_INVALID naming every bad field
 */
export async function loadConfig<S extends z.ZodType>(
  options: LoadConfigOptions<S> & { schema: S },
): Promise<z.infer<S>>;
export async function loadConfig(
  options?: LoadConfigOptions<typeof nodeConfigSchema>,
): Promise<NodeConfig>;
export async function loadConfig<S extends z.ZodType>(
  options: LoadConfigOptions<S> = {},
): Promise<z.infer<S>> {
  const argv = options.argv ?? process.argv.slice(2);
  const env = options.env ?? process.env;
  const file = configPath(argv, env);
  let raw: Record<string, unknown> = {};
  if (file) {
    let textIn: string;
    try {
      textIn = await readFile(file, 'utf8');
    } catch {
      throw new ConfigError(['config'], `cannot read config file ${file}`);
    }
    try {
      raw = JSON.parse(textIn) as Record<string, unknown>;
    } catch {
      throw new ConfigError(['config'], `config file ${file} is not JSON`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ConfigError(['config'], `config file ${file} must hold a JSON object`);
    }
  }
  const from = new Map<string, string>();
  for (const [name, o] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    setPath(raw, o.path, o.parse(name, v));
    from.set(o.path.join('.'), name);
  }
  const schema = (options.schema ?? nodeConfigSchema) as S;
  const r = schema.safeParse(raw);
  if (!r.success) {
    const fields = r.error.issues.map((i) => i.path.map(String).join('.') || '(root)');
    const msg = r.error.issues
      .map((i, k) => {
        const field = fields[k]!;
        const source = [...from].find(([p]) => field === p || field.startsWith(`${p}.`))?.[1];
        return `${field}${source ? ` (from ${source})` : ''}: ${i.message}`;
      })
      .join('; ');
    throw new ConfigError(fields, `invalid configuration: ${msg}`);
  }
  return r.data;
}

/**
 * The node's identity from dataDir/identity.key (64 hex digits), made on
 * first start. The directory is created with mode 0700 and the file with
 * 0600, so only the node's user can read the seed.
 * @throws ConfigError NODE_CONFIG_INVALID when the file exists but holds no seed
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<Identity> {
  const path = join(resolve(dataDir), 'identity.key');
  let textIn: string | undefined;
  try {
    textIn = (await readFile(path, 'utf8')).trim();
  } catch {
    // Not there yet.
  }
  if (textIn !== undefined) {
    if (!/^[0-9a-f]{64}$/.test(textIn)) {
      throw new ConfigError(['dataDir'], `${path} does not hold a 64-hex-digit seed`);
    }
    return Identity.fromSeed(fromHex(textIn));
  }
  await mkdir(resolve(dataDir), { recursive: true, mode: 0o700 });
  const seed = randomBytes(32);
  await writeFile(path, `${toHex(seed)}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
  return Identity.fromSeed(seed);
}

/** The createNode options a validated config gives (identity, logger and apps are the caller's). */
export function nodeInitFromConfig(config: NodeConfig): NodeInit {
  return {
    dataDir: config.dataDir,
    listen: config.listen,
    ...(config.advertise ? { advertise: config.advertise } : {}),
    roles: config.roles,
    exitPolicy: config.exitPolicy,
    pricePerMiB: config.pricePerMiB,
    directory: config.directory,
    ...(config.directoryFile ? { directoryFile: config.directoryFile } : {}),
    hops: config.hops,
    ...(config.routeServer ? { routeServer: routeServerSettings(config.routeServer) } : {}),
  };
}

/** The agent's settings from the config section. */
export function routeServerSettings(
  r: NonNullable<NodeConfig['routeServer']>,
): NonNullable<NodeInit['routeServer']> {
  return {
    key: /^[0-9a-f]{64}$/.test(r.key) ? fromHex(r.key) : parseAddress(r.key),
    ...(r.url ? { url: r.url } : {}),
    ...(r.publishUrl ? { publishUrl: r.publishUrl } : {}),
    ...(r.mesh
      ? { mesh: { address: r.mesh.address.replace(/\.mesh$/i, ''), port: r.mesh.port } }
      : {}),
    publishIntervalMs: r.publishIntervalS * 1000,
    reportIntervalMs: r.reportIntervalS * 1000,
    syncIntervalMs: r.syncIntervalS * 1000,
    timeoutMs: r.timeoutMs,
    ...(r.staleAfterS !== undefined ? { staleAfterMs: r.staleAfterS * 1000 } : {}),
    linkCapacity: r.linkCapacity,
    ask: r.ask,
  };
}
