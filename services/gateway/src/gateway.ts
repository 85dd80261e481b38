/**
 * Assembles a running gateway from a Config: database (migrated), gateway
 * key, chain adapter, ledger, background jobs (deposits, withdrawals,
 * checkpoints) and the fastify app. main.ts and the tests both use it.
 */
import { fromHex, randomBytes, toHex } from '@skymesh/crypto';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { DevChain } from './chain/devchain.js';
import { SkycoinChain } from './chain/skycoin.js';
import type { ChainAdapter } from './chain/types.js';
import type { Config } from './config.js';
import { type Database, type Db, openDatabase, rows } from './db/client.js';
import { scanDeposits } from './deposits.js';
import { Ledger } from './ledger.js';
import { processWithdrawals } from './withdrawals.js';

export interface Gateway {
  app: FastifyInstance;
  ledger: Ledger;
  database: Database;
  chain: ChainAdapter;
  devChain: DevChain | undefined;
  /** Runs one deposit scan now (tests; the timer does it otherwise). */
  scanDeposits(): Promise<number>;
  /** Runs one withdrawal pass now. */
  processWithdrawals(): Promise<void>;
  /** Stops jobs, drains the ledger, closes app, chain and database. */
  stop(): Promise<void>;
}

/** The gateway seed: from config, else (development only) kept in the meta table. */
async function gatewaySeed(db: Db, config: Config, logger?: Logger): Promise<Uint8Array> {
  if (config.GATEWAY_KEY) return fromHex(config.GATEWAY_KEY);
  const r = await rows<{ value: string }>(
    db,
    sql`SELECT value FROM meta WHERE key = 'dev_gateway_key'`,
  );
  if (r[0]) return fromHex(r[0].value);
  const seed = randomBytes(32);
  await db.execute(sql`INSERT INTO meta (key, value) VALUES ('dev_gateway_key', ${toHex(seed)})
    ON CONFLICT (key) DO NOTHING`);
  logger?.warn('no GATEWAY_KEY: generated a development key and stored it in the database');
  const again = await rows<{ value: string }>(
    db,
    sql`SELECT value FROM meta WHERE key = 'dev_gateway_key'`,
  );
  return fromHex(again[0]!.value);
}

/** Opens everything and starts the background jobs (the app is built, not listening). */
export async function startGateway(
  config: Config,
  opts: { logger?: Logger; jobs?: boolean } = {},
): Promise<Gateway> {
  const logger = opts.logger;
  const database = await openDatabase({
    url: config.DATABASE_URL,
    pgliteDir: config.PGLITE_DIR,
    poolSize: config.DB_POOL,
  });
  const db = database.db;
  let devChain: DevChain | undefined;
  let chain: ChainAdapter;
  if (config.CHAIN === 'skycoin') {
    chain = new SkycoinChain({
      nodeUrl: config.SKYCOIN_NODE_URL,
      walletId: config.SKYCOIN_WALLET_ID!,
      walletPassword: config.SKYCOIN_WALLET_PASSWORD,
    });
  } else {
    devChain = new DevChain({ file: config.DEVCHAIN_FILE });
    if (config.DEVCHAIN_BLOCK_MS > 0) devChain.autoMine(config.DEVCHAIN_BLOCK_MS);
    chain = devChain;
  }
  const ledger = await Ledger.open({
    database,
    gatewaySeed: await gatewaySeed(db, config, logger),
    chain,
    logger,
    batchMax: config.BATCH_MAX,
    queueMax: config.QUEUE_MAX,
    cryptoWorkers: config.CRYPTO_WORKERS,
  });
  const devEndpoints = config.DEV_ENDPOINTS ?? config.CHAIN === 'devchain';
  const app = await buildApp({
    ledger,
    db,
    chain,
    devChain: devEndpoints ? devChain : undefined,
    logger,
  });

  const deposits = () =>
    scanDeposits({ db, chain, minConfirmations: config.MIN_CONFIRMATIONS, logger });
  const withdrawals = () =>
    processWithdrawals({ db, chain, confirmations: config.MIN_CONFIRMATIONS, logger });

  // Each job runs alone: a slow pass delays the next instead of overlapping it.
  const timers: ReturnType<typeof setTimeout>[] = [];
  let stopping = false;
  const every = (ms: number, job: () => Promise<unknown>, name: string) => {
    const tick = async () => {
      try {
        await job();
      } catch (err) {
        logger?.error({ err }, `${name} failed`);
      }
      if (!stopping) timers.push(setTimeout(tick, ms).unref());
    };
    timers.push(setTimeout(tick, ms).unref());
  };
  if (opts.jobs !== false) {
    every(config.DEPOSIT_POLL_MS, deposits, 'deposit scan');
    every(config.WITHDRAW_POLL_MS, withdrawals, 'withdrawal pass');
    every(config.CHECKPOINT_INTERVAL_MS, () => ledger.checkpointIfGrown(), 'checkpoint');
  }

  return {
    app,
    ledger,
    database,
    chain,
    devChain,
    scanDeposits: deposits,
    processWithdrawals: withdrawals,
    async stop() {
      stopping = true;
      for (const t of timers) clearTimeout(t);
      await app.close();
      await ledger.close();
      await chain.close?.();
      await database.close();
    },
  };
}
