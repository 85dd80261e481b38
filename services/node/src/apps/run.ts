/**
 * Runs a mesh node with its local apps: the stream acceptor (published
 * services, exit) plugged into createNode's onStream, the dialer over the
 * node's sessions and directory, the SOCKS5 proxy and the HTTP API. Used by
 * `skymesh node` and the local mesh; stops everything in reverse order.
 */
import { type Identity, parseAddress } from '@skymesh/crypto';
import { type ApiServer, startApi } from '../api/app.js';
import { nodeInitFromConfig } from '../config.js';
import type { NodeLogger } from '../log.js';
import { createNode, type MeshNode, type NodeInit } from '../node.js';
import { createStreamAcceptor, type StreamAcceptor } from './acceptor.js';
import type { NodeAppsConfig } from './config.js';
import { createStreamDialer, type StreamDialer } from './dialer.js';
import { createSocksServer, type SocksServer } from './socks5.js';
import { topologyPathChooser } from './topology.js';

/** A node with its apps running. */
export interface NodeWithApps {
  readonly node: MeshNode;
  readonly acceptor: StreamAcceptor;
  readonly dialer: StreamDialer;
  /** Null when socks.enabled is false. */
  readonly socks: SocksServer | null;
  /** Null when api.enabled is false. */
  readonly api: ApiServer | null;
  /** Stops the API, the proxy, the dialer's sessions, the acceptor's streams, then the node. */
  close(): Promise<void>;
}

/** Options of startNodeWithApps besides the config. */
export interface StartAppsOptions {
  readonly identity: Identity;
  readonly logger?: NodeLogger;
  /** Extra createNode options (tests, the local mesh's tuning). */
  readonly nodeInit?: Partial<NodeInit>;
}

/** Starts the node and its apps as `config` says. */
export async function startNodeWithApps(
  config: NodeAppsConfig,
  options: StartAppsOptions,
): Promise<NodeWithApps> {
  let node: MeshNode | undefined;
  const acceptor = createStreamAcceptor({
    address: options.identity.address,
    publish: config.publish,
    descriptor: () => node?.descriptor ?? null,
  });
  const topology = config.topology;
  const ownIndex = topology?.nodes.indexOf(options.identity.address) ?? -1;
  node = await createNode({
    ...nodeInitFromConfig(config),
    ...(topology && ownIndex >= 0
      ? {
          choosePath: topologyPathChooser(
            topology.nodes.map((a) => parseAddress(a)),
            topology.edges,
            ownIndex,
          ),
        }
      : {}),
    ...options.nodeInit,
    identity: options.identity,
    ...(options.logger ? { logger: options.logger } : {}),
    onStream: (stream, target) => acceptor.onStream(stream, target),
  });
  const running = node;
  const dialer = createStreamDialer({
    openSession: (destination) => running.connectSession(destination),
    descriptors: () => running.directory(),
    self: running.publicKey,
    rotateMs: Math.round(config.rotateMinutes * 60_000),
    connectTimeoutMs: config.connectTimeoutMs,
  });
  let socks: SocksServer | null = null;
  let api: ApiServer | null = null;
  const close = async () => {
    await api?.close();
    await socks?.close();
    await dialer.close();
    acceptor.close();
    await running.close();
  };
  try {
    if (config.socks.enabled) {
      socks = createSocksServer({
        dialer,
        host: config.socks.host,
        port: config.socks.port,
        ...(config.socks.users ? { users: config.socks.users } : {}),
        isolateByAuth: config.socks.isolateByAuth,
      });
      await socks.listen();
    }
    if (config.api.enabled) {
      api = await startApi({
        node: running,
        acceptor,
        dialer,
        socks,
        host: config.api.host,
        port: config.api.port,
        ...(config.api.token ? { token: config.api.token } : {}),
      });
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { node: running, acceptor, dialer, socks, api, close };
}
