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
 * in-memory gateway forgets the accounts then. The file is created, never
 * taken over: a path that already holds something (another running stack's
 * seeds, a mistyped path) is refused, except a seeds file left by a stack
 * whose process is gone; and on close it is removed only if it is still
 * the file this stack created.
 */
import { type FileHandle, lstat, mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SkymeshError } from '@skymesh/crypto';
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
  const accountsFile = options.accountsFile ?? null;
  // Claimed before anything starts, so a refused path costs nothing.
  const seeds = accountsFile ? await claimAccountsFile(accountsFile) : undefined;
  let dev: DevGateway;
  try {
    dev = await startDevGateway({ port: options.port ?? 8402 });
  } catch (err) {
    await seeds?.remove();
    throw err;
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await dev.close();
      await seeds?.remove();
    })();
    return closing;
  };
  try {
    const n = options.demoAccounts ?? 3;
    const funded: DemoAccount[] =
      n > 0 ? await dev.fundDemoAccounts(n, options.demoBalance ?? 10_000_000n) : [];
    await seeds?.write(dev.publicKey, funded);
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

/** Thrown when the seeds file's path already holds a file this stack may not replace. */
export class StackError extends SkymeshError<'STACK_ACCOUNTS_FILE_EXISTS'> {}

const NOTE =
  'Demo accounts of the local stack gateway (in memory: gone when the stack stops). Seeds are secret keys.';

/** The seeds file this stack created, written and removed through what it created. */
interface AccountsFile {
  write(gatewayKey: string, accounts: readonly DemoAccount[]): Promise<void>;
  /** Removes the file if the path still names the one created here. Idempotent. */
  remove(): Promise<void>;
}

/**
 * Creates the seeds file (mode 0600, exclusively: never through a file that
 * exists), first holding only this process's id, so a file left by a stack
 * that died is told apart from a live one's. An existing file is refused
 * with STACK_ACCOUNTS_FILE_EXISTS unless it is such a leftover.
 */
async function claimAccountsFile(path: string): Promise<AccountsFile> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let handle: FileHandle | undefined;
  for (let attempt = 0; !handle; attempt++) {
    try {
      handle = await open(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (attempt > 0 || !(await leftBehind(path))) {
        throw new StackError(
          'STACK_ACCOUNTS_FILE_EXISTS',
          `${path} already exists and is not a seeds file left by a stopped stack (another stack running, or the wrong path?): remove it or choose another --accounts-file`,
          { path },
        );
      }
      await rm(path, { force: true });
    }
  }
  const h = handle;
  const write = async (body: object) => {
    const text = `${JSON.stringify({ note: NOTE, pid: process.pid, ...body }, null, 2)}\n`;
    await h.truncate(0);
    await h.write(text, 0, 'utf8');
  };
  let removing: Promise<void> | undefined;
  try {
    await write({ gatewayKey: null, accounts: [] });
  } catch (err) {
    await h.close();
    await rm(path, { force: true });
    throw err;
  }
  return {
    write: (gatewayKey, accounts) =>
      write({
        gatewayKey,
        accounts: accounts.map(({ id, publicKey, balance, seed }) => ({
          id,
          publicKey,
          balance,
          seed,
        })),
      }),
    remove: () => {
      removing ??= (async () => {
        const ours = await h.stat();
        const now = await lstat(path).catch(() => undefined);
        if (now && now.ino === ours.ino && now.dev === ours.dev) await rm(path, { force: true });
        await h.close();
      })();
      return removing;
    },
  };
}

/** True when `path` is a seeds file written by a stack whose process no longer runs. */
async function leftBehind(path: string): Promise<boolean> {
  try {
    const st = await lstat(path);
    if (!st.isFile() || st.size > 1 << 20) return false;
    const body = JSON.parse(await readFile(path, 'utf8')) as { note?: unknown; pid?: unknown };
    if (body.note !== NOTE || !Number.isSafeInteger(body.pid) || (body.pid as number) <= 0) {
      return false;
    }
    process.kill(body.pid as number, 0);
    return false; // its writer still runs
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
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
