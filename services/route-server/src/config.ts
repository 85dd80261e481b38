/**
 * Route server configuration from environment variables, validated once at
 * start with zod (through @skymesh/service-kit). A bad value stops the service with a message naming the
 * variable.
 */
import { fromHex, parseAddress } from '@skymesh/crypto';
import { envBool, envInt, envLevel, envLoader, envSeed } from '@skymesh/service-kit';
import { z } from 'zod';

export { ConfigError } from '@skymesh/service-kit';

const rate = (def: number) => z.coerce.number().min(0).max(1_000_000).default(def);

const schema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: envInt(0, 65535, 8401),
    /** Ed25519 seed, 64 hex digits: signs snapshots and diffs. Required in production. */
    ROUTE_SERVER_KEY: envSeed.optional(),
    NODE_ENV: z.string().default('development'),
    LOG_LEVEL: envLevel,
    /** Seconds a descriptor is held after publication unless refreshed. */
    DESCRIPTOR_TTL_S: envInt(60, 30 * 86_400, 10_800),
    REPORT_TTL_S: envInt(60, 86_400, 1800),
    CLOCK_SKEW_S: envInt(0, 3600, 300),
    MAX_TOMBSTONES: envInt(1000, 10_000_000, 200_000),
    EXPIRE_INTERVAL_MS: envInt(100, 3_600_000, 10_000),
    SNAPSHOT_MIN_INTERVAL_MS: envInt(0, 3_600_000, 1000),
    GRAPH_MIN_INTERVAL_MS: envInt(0, 3_600_000, 1000),
    REQ_RATE_PER_IP: rate(20),
    REQ_BURST_PER_IP: rate(100),
    REQ_RATE_PER_PREFIX: rate(100),
    REQ_BURST_PER_PREFIX: rate(500),
    NODES_PER_IP: envInt(0, 1_000_000, 4),
    NODES_PER_PREFIX: envInt(0, 1_000_000, 16),
    /** Comma-separated source IPs never limited (a local mesh, a trusted relay). */
    LIMIT_EXEMPT: z.string().default(''),
    /** Take the client address from X-Forwarded-For (behind a reverse proxy). */
    TRUST_PROXY: envBool.default(false),
    /** Mirror mode: the route server to follow (http:// or https:// base URL). */
    UPSTREAM_URL: z.string().url().optional(),
    /** The upstream's public key: 64 hex digits or its .mesh address. */
    UPSTREAM_KEY: z
      .string()
      .refine(
        (v) => /^[0-9a-f]{64}$/.test(v) || isAddress(v),
        'must be 64 hex digits or an address',
      )
      .optional(),
    SYNC_INTERVAL_MS: envInt(100, 3_600_000, 5000),
  })
  .superRefine((c, ctx) => {
    if (c.NODE_ENV === 'production' && !c.ROUTE_SERVER_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['ROUTE_SERVER_KEY'],
        message: 'is required in production',
      });
    }
    if (c.UPSTREAM_URL && !c.UPSTREAM_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['UPSTREAM_KEY'],
        message: 'is required with UPSTREAM_URL',
      });
    }
    if (c.UPSTREAM_KEY && !c.UPSTREAM_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['UPSTREAM_URL'],
        message: 'is required with UPSTREAM_KEY',
      });
    }
  });

function isAddress(v: string): boolean {
  try {
    parseAddress(v);
    return true;
  } catch {
    return false;
  }
}

export type Config = z.infer<typeof schema>;

/** Reads and validates the configuration (default: process.env). @throws ConfigError naming every bad variable. */
export const loadConfig = envLoader(schema);

/** The upstream key as bytes (hex or address form). */
export function upstreamKeyBytes(text: string): Uint8Array {
  if (/^[0-9a-f]{64}$/.test(text)) return fromHex(text);
  return parseAddress(text);
}
