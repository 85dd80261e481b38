/**
 * The development gateway as a local-stack service, and how a client on a
 * mesh node reaches it: startDevGateway (PGlite + devchain) on loopback,
 * demo accounts funded from the devchain faucet, and `gatewayOverMesh`,
 * the client library's wsTransport carried by a mesh stream to the node
 * that publishes the gateway (its .mesh address, mesh port 443 by
 * default, the convention of docs/gateway.md "Over the mesh").
 *
 * Demo account secrets (Ed25519 seeds) are never printed: with
 * `accountsFile` they are written there (mode 0600, in a 0700 folder made
 * if missing) and the file is removed when the stack closes, since the
 * in-memory gateway forgets the accounts then.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type DemoAccount, type DevGateway, startDevGateway } from '@skymesh/gateway';
import { deferredStream, type NodeWithApps, webSocketOverStream } from '@skymesh/node/apps';
import { type WebSocketLike, type WsTransport, wsTransport } from '@skymesh/protocol/gateway';

/** Mesh port the service node publishes the gateway on (docs/gateway.md). */
export const GATEWAY_MESH_PORT = 443;

/** Options of startStackGateway. */
export interface StackGatewayOptions {
  /** Its port on 127.0.0.1 (0 = chosen by the OS). @default 8402 */
  readonly port?: number;
  /** Demo accounts to open and fund (0 = none). @default 3 */
  readonly demoAccounts?: number;
  /** Droplets each demo account is funded with. @default 10_000_000n (10 SKY) */
  readonly demoBalance?: bigint;
  /** Where the demo accounts' seeds go (JSON, mode 0600); unset → not written. */
  readonly accountsFile?: string;
}

/** A demo account as the stack reports it (no secret). */
export interface StackDemoAccount {
  readonly id: string;
  readonly publicKey: string;
  /** Droplets, from a gateway-signed balance receipt. */
  readonly balance: string;
}

/** The running gateway service. */
export interface StackGateway {
  readonly dev: DevGateway;
  /** http://127.0.0.1:port */
  readonly url: string;
  readonly port: number;
  readonly publicKey: string;
  readonly accounts: readonly StackDemoAccount[];
  /** The same accounts with their seeds and clients (for code in this process; never printed). */
  readonly demoAccounts: readonly DemoAccount[];
  /** Where the seeds were written, or null. */
  readonly accountsFile: string | null;
  /** Stops the gateway, frees its port, removes the accounts file. Idempotent. */
  close(): Promise<void>;
}

/** Starts the dev gateway on loopback and funds the demo accounts. */
export async function startStackGateway(options: StackGatewayOptions = {}): Promise<StackGateway> {
  const dev = await startDevGateway({ port: options.port ?? 8402 });
  const accountsFile = options.accountsFile ?? null;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await dev.close();
      if (accountsFile) await rm(accountsFile, { force: true });
    })();
    return closing;
  };
  try {
    const n = options.demoAccounts ?? 3;
    const funded: DemoAccount[] =
      n > 0 ? await dev.fundDemoAccounts(n, options.demoBalance ?? 10_000_000n) : [];
    if (accountsFile) await writeAccountsFile(accountsFile, dev, funded);
    return {
      dev,
      url: dev.url,
      port: dev.port,
      publicKey: dev.publicKey,
      accounts: funded.map(({ id, publicKey, balance }) => ({ id, publicKey, balance })),
      demoAccounts: funded,
      accountsFile,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function writeAccountsFile(
  path: string,
  dev: DevGateway,
  accounts: readonly DemoAccount[],
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const body = {
    note: 'Demo accounts of the local stack gateway (in memory: gone when the stack stops). Seeds are secret keys.',
    gatewayKey: dev.publicKey,
    accounts: accounts.map(({ id, publicKey, balance, seed }) => ({
      id,
      publicKey,
      balance,
      seed,
    })),
  };
  // Removed first: writeFile's mode applies only to a file it creates.
  await rm(path, { force: true });
  await writeFile(path, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
}

/**
 * A wsTransport to the gateway published at `address`.mesh:`port`, from
 * `client`'s node: each (re)connection opens a mesh stream over an onion
 * route and runs a `ws` client on it.
 */
export function gatewayOverMesh(
  client: NodeWithApps,
  address: string,
  port = GATEWAY_MESH_PORT,
): WsTransport {
  return wsTransport({
    connect: () =>
      webSocketOverStream(
        deferredStream(() => client.dialer.open({ kind: 'service', address, port })),
        `ws://${address}.mesh/v1/ws`,
      ) as unknown as WebSocketLike,
  });
}
