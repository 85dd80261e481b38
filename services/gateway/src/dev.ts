/**
 * A development gateway in one call, for the local mesh and demos: embedded
 * PGlite (in memory, or in `dataDir`), the devchain, background jobs, and the
 * API listening on a loopback port. `fundDemoAccounts` opens accounts with the
 * client library (over the gateway's own HTTP API, like any client), pays
 * their deposit addresses from the devchain faucet, confirms a block and
 * waits for the deposits to be credited.
 */
import { join } from 'node:path';
import { toHex } from '@skymesh/crypto';
import {
  GatewayClient,
  GatewayError,
  generateAccount,
  httpTransport,
} from '@skymesh/protocol/gateway';
import type { Logger } from 'pino';
import { loadConfig } from './config.js';
import { type Gateway, startGateway } from './gateway.js';

/** Options of startDevGateway. */
export interface DevGatewayOptions {
  /** Port on `host` (0 = chosen by the OS). @default 0 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Keeps the database (PGlite) and the devchain here; unset → memory only. */
  dataDir?: string;
  /** Mine a devchain block every N ms (0 = only when asked). @default 0 */
  blockMs?: number;
  logger?: Logger;
}

/** One funded demo account: what a client needs to use it. */
export interface DemoAccount {
  /** Account id (decimal string). */
  id: string;
  /** Ed25519 seed of the account key (64 hex). Demo use only. */
  seed: string;
  /** Account public key (64 hex). */
  publicKey: string;
  /** Balance in droplets (decimal string), from a gateway-signed balance receipt. */
  balance: string;
  /** The account's verified calls and receipts so far (GatewayClient `links` option). */
  client: GatewayClient;
}

/** A running development gateway. */
export interface DevGateway {
  readonly gateway: Gateway;
  /** http://host:port */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Gateway public key (64 hex). */
  readonly publicKey: string;
  /** Opens `n` accounts (1..1000) and funds each with `amount` droplets (credited before it returns). */
  fundDemoAccounts(n: number, amount: bigint): Promise<DemoAccount[]>;
  /** Stops the gateway and frees the port. */
  close(): Promise<void>;
}

/** Starts a gateway on PGlite + devchain, listening on `host:port`. */
export async function startDevGateway(opts: DevGatewayOptions = {}): Promise<DevGateway> {
  const host = opts.host ?? '127.0.0.1';
  const config = loadConfig({
    CHAIN: 'devchain',
    HOST: host,
    PORT: String(opts.port ?? 0),
    DEVCHAIN_BLOCK_MS: String(opts.blockMs ?? 0),
    DEV_ENDPOINTS: 'true',
    LOG_LEVEL: 'silent',
    CRYPTO_WORKERS: '1',
    DEPOSIT_POLL_MS: '1000',
    ...(opts.dataDir
      ? {
          PGLITE_DIR: join(opts.dataDir, 'pglite'),
          DEVCHAIN_FILE: join(opts.dataDir, 'devchain.json'),
        }
      : {}),
  });
  const gateway = await startGateway(config, opts.logger ? { logger: opts.logger } : {});
  let address: string;
  try {
    address = await gateway.app.listen({ host, port: config.PORT });
  } catch (e) {
    await gateway.stop();
    throw e;
  }
  const url = new URL(address);
  const port = Number(url.port);
  const gatewayKey = gateway.ledger.gatewayKey;
  const transport = httpTransport({ baseUrl: address });

  return {
    gateway,
    url: address,
    host,
    port,
    publicKey: toHex(gatewayKey),
    async fundDemoAccounts(n, amount) {
      if (!Number.isInteger(n) || n < 1 || n > 1000) {
        throw new GatewayError('GW_BAD_FIELD', 'n must be 1..1000', { field: 'n' });
      }
      if (typeof amount !== 'bigint' || amount <= 0n) {
        throw new GatewayError('GW_BAD_AMOUNT', 'amount must be a positive bigint');
      }
      const dev = gateway.devChain!;
      const clients = await Promise.all(
        Array.from({ length: n }, async () => {
          const account = generateAccount();
          const client = new GatewayClient({ gatewayKey, transport, account });
          await client.createAccount();
          dev.faucet(await client.depositAddress(), amount);
          return { client, account };
        }),
      );
      dev.mine();
      await gateway.scanDeposits();
      return Promise.all(
        clients.map(async ({ client, account }) => ({
          id: account.id.toString(),
          seed: toHex(account.seed),
          publicKey: toHex(client.publicKey),
          balance: (await client.fetchBalance()).toString(),
          client,
        })),
      );
    },
    close: () => gateway.stop(),
  };
}
