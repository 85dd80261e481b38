/**
 * A route server in this process for the local stack and its tests: the
 * service core and its fastify app from @skymesh/route-server, listening on
 * 127.0.0.1, with limits off for loopback (every local node publishes from
 * 127.0.0.1) and snapshots/graph rebuilt at once (a handful of nodes). With
 * `upstream` it is a read-only mirror of another route server, the way a
 * user self-hosts one.
 */
import { randomBytes, toHex } from '@skymesh/crypto';
import {
  buildApp,
  DEFAULT_LIMITS,
  DirectoryService,
  Mirror,
  type SybilLimits,
} from '@skymesh/route-server';
import type { FastifyInstance } from 'fastify';

/** Options of startRouteServer. */
export interface RouteServerOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 lets the OS choose. @default 8401 */
  readonly port?: number;
  /** Ed25519 seed. @default a new one */
  readonly seed?: Uint8Array;
  /** Mirror mode: follow this route server (its URL and public key). */
  readonly upstream?: {
    readonly url: string;
    readonly key: Uint8Array;
    readonly intervalMs?: number;
  };
  /** Sybil limits. @default the defaults, with 127.0.0.1 and ::1 exempt */
  readonly limits?: SybilLimits;
  /** Called with the app before it listens (tests add hooks). */
  readonly configure?: (app: FastifyInstance) => void;
}

/** A running route server. */
export interface RunningRouteServer {
  /** Base URL, e.g. http://127.0.0.1:8401 */
  readonly url: string;
  readonly port: number;
  /** The key nodes trust, as 64 hex digits. */
  readonly key: string;
  readonly publicKey: Uint8Array;
  readonly service: DirectoryService;
  readonly app: FastifyInstance;
  readonly mirror: Mirror | null;
  /** Stops the mirror's sync and the listener. Idempotent. */
  close(): Promise<void>;
}

/** Starts a route server (or a mirror) on loopback. */
export async function startRouteServer(
  options: RouteServerOptions = {},
): Promise<RunningRouteServer> {
  const service = new DirectoryService({
    key: options.seed ?? randomBytes(32),
    limits: options.limits ?? {
      ...DEFAULT_LIMITS,
      exempt: ['127.0.0.1', '::1', '::ffff:127.0.0.1'],
    },
    snapshotMinIntervalMs: 0,
    graphMinIntervalMs: 0,
    readOnly: options.upstream !== undefined,
  });
  const mirror = options.upstream
    ? new Mirror(service, {
        upstreamUrl: options.upstream.url,
        upstreamKey: options.upstream.key,
        intervalMs: options.upstream.intervalMs ?? 1000,
      })
    : null;
  const app = await buildApp({ service, mirror: mirror ?? undefined, expireIntervalMs: 10_000 });
  options.configure?.(app);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 8401 });
  const port = (app.server.address() as { port: number }).port;
  mirror?.start();
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    key: toHex(service.publicKey),
    publicKey: service.publicKey,
    service,
    app,
    mirror,
    close() {
      closing ??= (async () => {
        await mirror?.stop();
        await app.close();
      })();
      return closing;
    },
  };
}
