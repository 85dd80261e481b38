/**
 * The local stack: Skymesh's services and a local mesh in one process on
 * 127.0.0.1 (what `pnpm mesh` / `npm start` run).
 *
 *   1. services  — the route server (more go in SERVICES' place below:
 *                  each starts, may be published at the service node's
 *                  .mesh address, and is closed after the mesh)
 *   2. the mesh  — startLocalMesh from @skymesh/node: its nodes register
 *                  with the route server, keep links along the topology,
 *                  report them, and take their paths from it over the mesh
 *
 * close() stops the mesh, then the services, freeing every port.
 */
import type { LocalMesh, LocalMeshOptions } from '@skymesh/node/local-mesh';
import { startLocalMesh } from '@skymesh/node/local-mesh';
import { type RunningRouteServer, startRouteServer } from './route-server.js';

/** Options of startLocalStack: the mesh's, plus the services'. */
export interface LocalStackOptions extends Omit<LocalMeshOptions, 'routeServer'> {
  /** Start a route server and have the nodes use it. @default true */
  readonly routeServer?: boolean;
  /** Its port on 127.0.0.1 (0 = chosen by the OS). @default 8401 */
  readonly routeServerPort?: number;
  /** Mesh port the service node publishes the route server on. @default 8401 */
  readonly routeServerMeshPort?: number;
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
  let mesh: LocalMesh;
  try {
    // SERVICES: each one starts here and is pushed to `services`.
    if (options.routeServer ?? true) {
      routeServer = await startRouteServer({ port: options.routeServerPort ?? 8401 });
      services.push({ name: 'route-server', url: routeServer.url, close: routeServer.close });
    }
    const { routeServer: _, routeServerPort: __, routeServerMeshPort, ...meshOptions } = options;
    mesh = await startLocalMesh({
      ...meshOptions,
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
