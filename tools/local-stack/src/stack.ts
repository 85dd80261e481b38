/**
 * The local stack: Skymesh's services and a local mesh in one process on
 * 127.0.0.1 (what `pnpm mesh` / `npm start` run).
 *
 *   1. services  — the route server, then the development gateway
 *                  (PGlite + devchain, demo accounts funded; published at
 *                  the service node's .mesh address on mesh port 443).
 *                  More go in SERVICES' place below: each starts, may be
 *                  published there, and is closed after the mesh
 *   2. the mesh  — startLocalMesh from @skymesh/node: its nodes register
 *                  with the route server, keep links along the topology,
 *                  report them, and take their paths from it over the mesh
 *
 * close() stops the mesh, then the services, freeing every port.
 */
import type { LocalMesh, LocalMeshOptions } from '@skymesh/node/local-mesh';
import { startLocalMesh } from '@skymesh/node/local-mesh';
import {
  GATEWAY_MESH_PORT,
  type StackGateway,
  type StackGatewayOptions,
  startStackGateway,
} from './gateway.js';
import { type RunningRouteServer, startRouteServer } from './route-server.js';

/** Options of startLocalStack: the mesh's, plus the services'. */
export interface LocalStackOptions extends Omit<LocalMeshOptions, 'routeServer'> {
  /** Start a route server and have the nodes use it. @default true */
  readonly routeServer?: boolean;
  /** Its port on 127.0.0.1 (0 = chosen by the OS). @default 8401 */
  readonly routeServerPort?: number;
  /** Mesh port the service node publishes the route server on. @default 8401 */
  readonly routeServerMeshPort?: number;
  /** Start the development gateway and publish it on the mesh. @default true */
  readonly gateway?: boolean;
  /** The gateway's port (8402), demo accounts (3) and their balance (10 SKY), seeds file (none). */
  readonly gatewayOptions?: StackGatewayOptions;
  /** Mesh port the service node publishes the gateway on. @default 443 */
  readonly gatewayMeshPort?: number;
}

/** A service the stack runs beside the mesh. */
export interface StackService {
  readonly name: string;
  readonly url: string;
  close(): Promise<void>;
}

/** A running stack. */
export interface LocalStack {
  readonly mesh: LocalMesh;
  /** Null with `routeServer: false`. */
  readonly routeServer: RunningRouteServer | null;
  /** Null with `gateway: false`. */
  readonly gateway: StackGateway | null;
  /** Where the gateway is reached over the mesh (`<service address>.mesh:443`), or null. */
  readonly gatewayMesh: string | null;
  /** Every service started, in start order. */
  readonly services: readonly StackService[];
  /** Stops the mesh, then the services (in reverse order). Idempotent. */
  close(): Promise<void>;
}

/** Starts the services, then the mesh using them. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const services: StackService[] = [];
  const stopServices = async () => {
    for (const s of [...services].reverse()) await s.close().catch(() => {});
  };
  let routeServer: RunningRouteServer | null = null;
  let gateway: StackGateway | null = null;
  let mesh: LocalMesh;
  try {
    // SERVICES: each one starts here and is pushed to `services`.
    if (options.routeServer ?? true) {
      routeServer = await startRouteServer({ port: options.routeServerPort ?? 8401 });
      services.push({ name: 'route-server', url: routeServer.url, close: routeServer.close });
    }
    if (options.gateway ?? true) {
      gateway = await startStackGateway(options.gatewayOptions);
      services.push({ name: 'gateway', url: gateway.url, close: gateway.close });
    }
    const {
      routeServer: _rs,
      routeServerPort: _rsPort,
      routeServerMeshPort,
      gateway: _gw,
      gatewayOptions: _gwOptions,
      gatewayMeshPort = GATEWAY_MESH_PORT,
      ...meshOptions
    } = options;
    mesh = await startLocalMesh({
      ...meshOptions,
      publish: [
        ...(meshOptions.publish ?? []),
        ...(gateway ? [{ meshPort: gatewayMeshPort, host: '127.0.0.1', port: gateway.port }] : []),
      ],
      ...(routeServer
        ? {
            routeServer: {
              url: routeServer.url,
              key: routeServer.key,
              meshPort: routeServerMeshPort ?? 8401,
            },
          }
        : {}),
    });
  } catch (err) {
    await stopServices();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    mesh,
    routeServer,
    gateway,
    gatewayMesh: gateway
      ? `${mesh.serviceAddress}.mesh:${options.gatewayMeshPort ?? GATEWAY_MESH_PORT}`
      : null,
    services,
    close() {
      closing ??= (async () => {
        await mesh.close();
        await stopServices();
      })();
      return closing;
    },
  };
}
