// Test helpers: a fresh PostgreSQL database per test file (dropped after), a
// gateway on it (or on in-memory PGlite), and a client transport over
// fastify's inject so no socket is needed.

import { Writable } from 'node:stream';
import { randomBytes, toHex } from '@skymesh/crypto';
import {
  GatewayClient,
  GatewayError,
  type GatewayTransport,
  generateAccount,
} from '@skymesh/protocol/gateway';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import postgres from 'postgres';
import { loadConfig } from '../src/config.js';
import { type Gateway, startGateway } from '../src/gateway.js';

/**
 * The server to make test databases on: TEST_DATABASE_URL (what the test
 * command exports) first; its own database is only used to connect.
 */
export const ADMIN_URL =
  process.env.TEST_DATABASE_URL ??
  process.env.GW_TEST_ADMIN_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

/** Creates an empty database; `drop()` removes it. */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const name = `gw_${toHex(randomBytes(6))}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** Starts a gateway without timers (tests drive deposits and withdrawals by hand). */
export async function testGateway(env: Record<string, string> = {}): Promise<Gateway> {
  const config = loadConfig({
    GATEWAY_KEY: toHex(randomBytes(32)),
    DEVCHAIN_BLOCK_MS: '0',
    LOG_LEVEL: 'silent',
    ...env,
  });
  return startGateway(config, { jobs: false });
}

/** A GatewayTransport over app.inject. */
export function injectTransport(app: FastifyInstance): GatewayTransport {
  async function req<T>(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<T> {
    const res = await app.inject({
      method,
      url,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    const json = res.json() as { error?: { code: string; message: string } };
    if (res.statusCode !== 200) {
      throw new GatewayError(json.error!.code as GatewayError['code'], json.error!.message);
    }
    return json as T;
  }
  return {
    call: (c) => req('POST', '/v1/call', c),
    checkpoint: () => req('GET', '/v1/log/checkpoint'),
    inclusionProof: async (i, s) =>
      (await req<{ proof: string[] }>('GET', `/v1/log/inclusion?index=${i}&size=${s}`)).proof,
    consistencyProof: async (a, b) =>
      (await req<{ proof: string[] }>('GET', `/v1/log/consistency?first=${a}&second=${b}`)).proof,
  };
}

/** A new client with an open account. */
export async function openAccount(gw: Gateway): Promise<GatewayClient> {
  const c = new GatewayClient({
    gatewayKey: gw.ledger.gatewayKey,
    transport: injectTransport(gw.app),
    account: generateAccount(),
  });
  await c.createAccount();
  return c;
}

/** Funds an account through the dev chain: deposit address, faucet, block, scan. */
export async function fund(gw: Gateway, c: GatewayClient, amount: bigint): Promise<void> {
  const address = await c.depositAddress();
  gw.devChain!.faucet(address, amount);
  gw.devChain!.mine();
  await gw.scanDeposits();
}

/** Runs a promise and returns the GatewayError code it failed with (undefined on success). */
export async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof GatewayError ? e.code : `unexpected: ${String(e)}`;
  }
  return undefined;
}

/**
 * A gateway on a fresh PostgreSQL database, listening on 127.0.0.1 (OS port),
 * logging everything (trace) into `logged`; `close()` stops it and drops the database.
 */
export async function listeningGateway(): Promise<{
  gw: Gateway;
  /** http://127.0.0.1:port */
  address: string;
  logged: string[];
  close(): Promise<void>;
}> {
  const d = await freshDatabase();
  const logged: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logged.push(String(chunk));
      cb();
    },
  });
  const gw = await startGateway(
    loadConfig({
      DATABASE_URL: d.url,
      GATEWAY_KEY: toHex(randomBytes(32)),
      DEVCHAIN_BLOCK_MS: '0',
    }),
    { logger: pino({ level: 'trace' }, sink), jobs: false },
  );
  const address = await gw.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    gw,
    address,
    logged,
    async close() {
      await gw.stop();
      await d.drop();
    },
  };
}
