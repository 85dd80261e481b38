/**
 * Gateway configuration from environment variables, validated once at start
 * with zod (through @skymesh/service-kit). A bad value stops the service with
 * a message naming the variable.
 */
import { envBool, envInt, envLevel, envLoader, envSeed } from '@skymesh/service-kit';
import { z } from 'zod';
import { defaultPoolSize } from './crypto-pool.js';

export { ConfigError } from '@skymesh/service-kit';

const schema = z
  .object({
    /** postgres:// URL; unset → embedded PGlite. */
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    /** PGlite data directory when DATABASE_URL is unset; unset → in memory. */
    PGLITE_DIR: z.string().min(1).optional(),
    DB_POOL: envInt(1, 100, 10),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: envInt(0, 65535, 8402),
    /** Gateway Ed25519 seed, 64 hex digits. Required in production. */
    GATEWAY_KEY: envSeed.optional(),
    NODE_ENV: z.string().default('development'),
    CHAIN: z.enum(['devchain', 'skycoin']).default('devchain'),
    /** devchain: JSON file keeping the chain across restarts; mine a block every N ms (0 = never). */
    DEVCHAIN_FILE: z.string().min(1).optional(),
    DEVCHAIN_BLOCK_MS: envInt(0, 3_600_000, 2000),
    SKYCOIN_NODE_URL: z.string().url().default('http://127.0.0.1:6420'),
    SKYCOIN_WALLET_ID: z.string().min(1).optional(),
    SKYCOIN_WALLET_PASSWORD: z.string().optional(),
    MIN_CONFIRMATIONS: envInt(1, 1000, 1),
    DEPOSIT_POLL_MS: envInt(100, 3_600_000, 5000),
    WITHDRAW_POLL_MS: envInt(100, 3_600_000, 5000),
    CHECKPOINT_INTERVAL_MS: envInt(100, 86_400_000, 10_000),
    BATCH_MAX: envInt(1, 10_000, 512),
    QUEUE_MAX: envInt(1, 1_000_000, 20_000),
    /** Worker threads verifying calls and signing receipts; 0 = on the main thread. Default: cores, at most 4. */
    CRYPTO_WORKERS: envInt(0, 64, defaultPoolSize()),
    /** Development-only /dev/faucet and /dev/mine routes; default on for devchain. */
    DEV_ENDPOINTS: envBool.optional(),
    LOG_LEVEL: envLevel,
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

/** Reads and validates the configuration (default: process.env). @throws ConfigError naming every bad variable. */
export const loadConfig = envLoader(schema);
