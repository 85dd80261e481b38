/**
 * The apps' sections of a node's configuration, extending the node schema
 * (config.ts) so one file and one validation cover both:
 *
 *   {
 *     "publish": { "80": "127.0.0.1:8080" },
 *     "socks": { "enabled": true, "host": "127.0.0.1", "port": 1080, "users": { "u": "p" } },
 *     "api": { "enabled": true, "host": "127.0.0.1", "port": 8600, "token": "…" },
 *     "rotateMinutes": 10, "connectTimeoutMs": 15000
 *   }
 *
 * Environment overrides: SKYMESH_SOCKS_PORT, SKYMESH_API_PORT, SKYMESH_API_TOKEN,
 * SKYMESH_PUBLISH ("80=127.0.0.1:8080,22=127.0.0.1:22").
 */
import { isAddress } from '@skymesh/crypto';
import { z } from 'zod';
import { ConfigError, nodeConfigSchema } from '../config.js';
import { parsePublishMap } from './acceptor.js';
import type { AppError } from './errors.js';

const port = z.number().int().min(0).max(65535);
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** The apps' sections; every field has a default. */
export const appsConfigSchema = z.object({
  /** Mesh port → local "host:port". */
  publish: z
    .record(z.string(), z.string())
    .default({})
    .superRefine((m, ctx) => {
      try {
        parsePublishMap(m);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as AppError).message });
      }
    }),
  socks: z
    .object({
      enabled: z.boolean().default(true),
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(1080),
      users: z.record(z.string().max(255), z.string().max(255)).optional(),
      isolateByAuth: z.boolean().default(true),
    })
    .strict()
    .prefault({})
    .refine(
      (s) => LOOPBACK.has(s.host) || (s.users !== undefined && Object.keys(s.users).length > 0),
      'a SOCKS5 proxy bound beyond loopback needs users',
    ),
  api: z
    .object({
      enabled: z.boolean().default(true),
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(8600),
      /** Bearer token; required when host is not loopback. */
      token: z.string().min(16).optional(),
    })
    .strict()
    .prefault({})
    .refine(
      (a) => LOOPBACK.has(a.host) || a.token !== undefined,
      'an API bound beyond loopback needs a token',
    ),
  /**
   * Restricts paths to a fixed topology (the local mesh and its docker
   * twin): node addresses, and edges between their indices.
   */
  topology: z
    .object({
      nodes: z.array(z.string().refine(isAddress, 'must be a node address')).min(2).max(64),
      edges: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])).max(1024),
    })
    .strict()
    .refine((t) => t.edges.every(([a, b]) => a < t.nodes.length && b < t.nodes.length), {
      message: 'edges must name node indices',
    })
    .optional(),
  /** New streams move to a fresh session after this many minutes. */
  rotateMinutes: z
    .number()
    .min(0.01)
    .max(24 * 60)
    .default(10),
  /** Bound on opening a stream (session, route and the destination's connect). */
  connectTimeoutMs: z.number().int().min(100).max(120_000).default(15_000),
});

/** Node and apps configuration in one schema. */
export const nodeAppsConfigSchema = nodeConfigSchema.extend(appsConfigSchema.shape).strict();
export type NodeAppsConfig = z.infer<typeof nodeAppsConfigSchema>;

/**
 * The schema to give loadConfig: applies the apps' environment overrides
 * (from `env`), then validates node and apps sections together.
 */
export function nodeAppsSchemaWithEnv(env: Record<string, string | undefined> = process.env) {
  return z.preprocess((raw) => {
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
      appsEnvOverrides(raw as Record<string, unknown>, env);
    }
    return raw;
  }, nodeAppsConfigSchema);
}

/** SKYMESH_* variables of the apps, applied on top of the file before validation. */
export function appsEnvOverrides(
  raw: Record<string, unknown>,
  env: Record<string, string | undefined>,
): void {
  const int = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v)) throw new ConfigError([name], `${name} must be an integer`);
    return Number(v);
  };
  const section = (k: string) => {
    const o = raw[k];
    if (typeof o === 'object' && o !== null && !Array.isArray(o))
      return o as Record<string, unknown>;
    raw[k] = {};
    return raw[k] as Record<string, unknown>;
  };
  const socksPort = int('SKYMESH_SOCKS_PORT');
  if (socksPort !== undefined) section('socks').port = socksPort;
  const apiPort = int('SKYMESH_API_PORT');
  if (apiPort !== undefined) section('api').port = apiPort;
  if (env.SKYMESH_API_TOKEN) section('api').token = env.SKYMESH_API_TOKEN;
  if (env.SKYMESH_PUBLISH) {
    const m: Record<string, string> = {};
    for (const part of env.SKYMESH_PUBLISH.split(',').filter(Boolean)) {
      const i = part.indexOf('=');
      if (i < 1) {
        throw new ConfigError(
          ['SKYMESH_PUBLISH'],
          `SKYMESH_PUBLISH: "${part}" is not port=host:port`,
        );
      }
      m[part.slice(0, i).trim()] = part.slice(i + 1).trim();
    }
    raw.publish = m;
  }
}
