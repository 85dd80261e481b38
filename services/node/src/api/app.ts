/**
 * The node's local HTTP API (fastify): status, links, routes, streams,
 * published services and SOCKS settings as JSON under /api, a websocket at
 * /api/live pushing live counters once a second for a dashboard, and
 * /metrics in Prometheus text. Bound to 127.0.0.1 by default; with a token
 * every request needs `Authorization: Bearer <token>` (required when bound
 * beyond loopback). buildApi makes the app (tests use inject), startApi
 * listens. Documented in docs/api.md.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { StreamAcceptor } from '../apps/acceptor.js';
import type { StreamDialer } from '../apps/dialer.js';
import { AppError } from '../apps/errors.js';
import type { SocksServer } from '../apps/socks5.js';
import type { MeshNode } from '../node.js';
import { createMetricsRenderer } from './metrics.js';

/** What the API reads. */
export interface ApiInit {
  readonly node: Pick<MeshNode, 'address' | 'descriptor' | 'endpoints' | 'stats'> &
    Partial<Pick<MeshNode, 'routeServer'>>;
  readonly acceptor?: StreamAcceptor;
  readonly dialer?: StreamDialer;
  readonly socks?: SocksServer | null;
  /** Bearer token; when set, every request must carry it. */
  readonly token?: string;
  /** Interval of /api/live messages. @default 1000 */
  readonly liveIntervalMs?: number;
  /** Websocket clients at once on /api/live. @default 16 */
  readonly maxLiveClients?: number;
}

/** Options of startApi. */
export interface ApiListenInit extends ApiInit {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 lets the OS choose. @default 8600 */
  readonly port?: number;
}

/** A listening API. */
export interface ApiServer {
  readonly app: FastifyInstance;
  readonly url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const digest = (s: string) => createHash('sha256').update(s).digest();

/** Builds the fastify app (not listening). */
export async function buildApi(init: ApiInit): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1024 });
  const started = Date.now();
  const metrics = createMetricsRenderer();
  const want = init.token === undefined ? null : digest(init.token);
  const liveMs = init.liveIntervalMs ?? 1000;
  const maxLive = init.maxLiveClients ?? 16;
  let live = 0;

  await app.register(websocket, { options: { maxPayload: 1024 } });

  app.addHook('onRequest', async (req, reply) => {
    if (want === null) return;
    const h = req.headers.authorization ?? '';
    const got = h.startsWith('Bearer ') ? digest(h.slice(7)) : null;
    if (got === null || !timingSafeEqual(got, want)) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ code: 'API_UNAUTHORIZED', message: 'a valid bearer token is required' });
    }
  });

  const status = () => {
    const s = init.node.stats();
    const d = init.node.descriptor;
    return {
      address: init.node.address,
      roles: d.roles,
      exitPolicy: d.exitPolicy,
      endpoints: init.node.endpoints,
      uptimeSeconds: Math.floor((Date.now() - started) / 1000),
      links: s.links.length,
      routes: s.routes.length,
      streams: s.streams,
      sessions: { client: s.sessions.client, server: s.sessions.server.sessions },
      directory: (init.node as Partial<Pick<MeshNode, 'directory'>>).directory?.().length ?? null,
    };
  };

  const counters = () => {
    const s = init.node.stats();
    return {
      at: Date.now(),
      links: s.links.length,
      routes: s.routes.length,
      streams: s.streams,
      bytesIn: s.links.reduce((a, l) => a + l.bytesIn, 0),
      bytesOut: s.links.reduce((a, l) => a + l.bytesOut, 0),
      cellsForwarded: s.counters.cellsForwarded,
      bytesForwarded: s.counters.bytesForwarded,
      routesBuilt: s.counters.routesBuilt,
      routesFailed: s.counters.routesFailed,
      socksConnections: init.socks?.stats().active ?? 0,
    };
  };

  app.get('/health', async () => ({ ok: true }));
  app.get('/api/status', async () => status());
  app.get('/api/links', async () => ({ links: init.node.stats().links }));
  app.get('/api/routes', async () => ({ routes: init.node.stats().routes }));
  app.get('/api/streams', async () => ({
    open: init.node.stats().streams,
    sessions: init.dialer?.sessions() ?? [],
    dialer: init.dialer?.stats() ?? null,
    served: init.acceptor?.stats() ?? null,
  }));
  app.get('/api/services', async () => ({
    address: init.node.address,
    services: (init.acceptor?.services ?? []).map((s) => ({
      port: s.port,
      target: `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.localPort}`,
      url: `http://${init.node.address}.mesh${s.port === 80 ? '' : `:${s.port}`}/`,
    })),
  }));
  app.get('/api/socks', async () => {
    const s = init.socks;
    if (!s) return { enabled: false };
    return { enabled: true, listen: s.address(), auth: s.auth, stats: s.stats() };
  });
  app.get('/metrics', async (_req, reply) => {
    const text = metrics.render({
      node: init.node.stats(),
      ...(init.node.routeServer ? { routeServer: init.node.routeServer.stats() } : {}),
      ...(init.acceptor ? { acceptor: init.acceptor.stats() } : {}),
      ...(init.dialer ? { dialer: init.dialer.stats() } : {}),
      ...(init.socks ? { socks: init.socks.stats() } : {}),
    });
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text);
  });
  app.get('/api/live', { websocket: true }, (socket) => {
    if (live >= maxLive) {
      socket.close(1013, 'too many live clients');
      return;
    }
    live++;
    const push = () => {
      // A client that does not read is not sent more (bounded buffering).
      if (socket.readyState === socket.OPEN && socket.bufferedAmount < 64 * 1024) {
        socket.send(JSON.stringify(counters()));
      }
    };
    push();
    const timer = setInterval(push, liveMs);
    socket.on('close', () => {
      live--;
      clearInterval(timer);
    });
  });
  return app;
}

/**
 * Builds the API and listens.
 * @throws AppError APP_BAD_CONFIG when bound beyond loopback without a token
 */
export async function startApi(init: ApiListenInit): Promise<ApiServer> {
  const host = init.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && !init.token) {
    throw new AppError('APP_BAD_CONFIG', 'an API bound beyond loopback needs a token', { host });
  }
  const app = await buildApi(init);
  await app.listen({ host, port: init.port ?? 8600 });
  const a = app.server.address();
  const port = typeof a === 'object' && a ? a.port : (init.port ?? 8600);
  const shown = host.includes(':') ? `[${host}]` : host;
  return { app, url: `http://${shown}:${port}`, close: () => app.close() };
}
