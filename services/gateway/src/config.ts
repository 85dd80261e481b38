/**
 * Gateway configuration from environment variables, validated once at start
 * with zod. A bad value stops the service with a message naming the variable.
 */
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number, def: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

const schema = z
  .object({
    /** postgres:// URL; unset → embedded PGlite. */
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    /** PGlite data directory when DATABASE_URL is unset; unset → in memory. */
    PGLITE_DIR: z.string().min(1).optional(),
    DB_POOL: int(1, 100, 10),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: int(0, 65535, 8402),
    /** Gateway Ed25519 seed, 64 hex digits. Required in production. */
    GATEWAY_KEY: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')
      .optional(),
    NODE_ENV: z.string().default('development'),
    CHAIN: z.enum(['devchain', 'skycoin']).default('devchain'),
    /** devchain: JSON file keeping the chain across restarts; mine a block every N ms (0 = never). */
    DEVCHAIN_FILE: z.string().min(1).optional(),
    DEVCHAIN_BLOCK_MS: int(0, 3_600_000, 2000),
    SKYCOIN_NODE_URL: z.string().url().default('http://127.0.0.1:6420'),
    SKYCOIN_WALLET_ID: z.string().min(1).optional(),
    SKYCOIN_WALLET_PASSWORD: z.string().optional(),
    MIN_CONFIRMATIONS: int(1, 1000, 1),
    DEPOSIT_POLL_MS: int(100, 3_600_000, 5000),
    WITHDRAW_POLL_MS: int(100, 3_600_000, 5000),
    CHECKPOINT_INTERVAL_MS: int(100, 86_400_000, 10_000),
    BATCH_MAX: int(1, 10_000, 512),
    QUEUE_MAX: int(1, 1_000_000, 20_000),
    /** Development-only /dev/faucet and /dev/mine routes; default on for devchain. */
    DEV_ENDPOINTS: bool.optional(),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
  })
  .superRefine((c, ctx) => {
    if (c.NODE_ENV === 'production' && !c.GATEWAY_KEY) {
      ctx.addIssue({ code: 'custom', path: ['GATEWAY_KEY'], message: 'is required in production' });
    }
    if (c.CHAIN === 'skycoin' && !c.SKYCOIN_WALLET_ID) {
      ctx.addIssue({
        code: 'custom',
        path: ['SKYCOIN_WALLET_ID'],
        message: 'is required with CHAIN=skycoin',
      });
    }
  });

export type Config = z.infer<typeof schema>;

/** Thrown when the environment holds a bad value; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(
    readonly variables: string[],
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the configuration. @throws ConfigError */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means unset (as in `FOO= cmd`).
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const r = schema.safeParse(present);
  if (!r.success) {
    const vars = r.error.issues.map((i) => String(i.path[0] ?? '?'));
    const msg = r.error.issues.map((i) => `${String(i.path[0] ?? '?')} ${i.message}`).join('; ');
    throw new ConfigError(vars, `invalid configuration: ${msg}`);
  }
  return r.data;
}
