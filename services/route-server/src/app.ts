/**
 * The route server's HTTP and WebSocket API (fastify). `buildApp` wires the
 * routes to a DirectoryService; main.ts listens. Every failure answers
 * `{ error: { code, message } }` with a stable code and the status of
 * errors.ts. Request logging is off: the server keeps no per-request record
 * of who asked what (behind the mesh it would only see relays anyway).
 *
 * HTTP (docs/route-server.md §API):
 *   GET  /v1/info                  server key, version, counts, mirror state
 *   POST /v1/descriptors           signed descriptor (octet-stream, or JSON { descriptor })
 *   POST /v1/link-reports          signed link report (octet-stream, or JSON { report })
 *   POST /v1/routes                route query (JSON)
 *   GET  /v1/snapshot              signed snapshot (octet-stream)
 *   GET  /v1/diff?since=N          signed diff (octet-stream)
 *   GET  /v1/nodes/:address        one descriptor (JSON form)
 *   GET  /health, GET /metrics
 * WebSocket /v1/ws: JSON requests { id, op, ... } answered { id, ... } or
 * { id, error }; `subscribe` adds pushes { event: "version", version }.
 */
import websocket from '@fastify/websocket';
import { encodeAddress, parseAddress, SkymeshError, toHex } from '@skymesh/crypto';
import {
  descriptorToJSON,
  fromBase64Url,
  MAX_DESCRIPTOR_SIZE,
  toBase64Url,
} from '@skymesh/protocol';
import {
  MAX_LINK_REPORT_SIZE,
  type RoutePath,
  type RouteQuery,
  routeQueryDigest,
} from '@skymesh/protocol/directory';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { DirectoryService } from './directory.js';
import { RouteServerError, statusOf } from './errors.js';
import type { Mirror } from './mirror.js';

/** Largest request body or WebSocket message: a full link report in base64url, with room. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

export interface AppOptions {
  service: DirectoryService;
  /** Set in mirror mode: /health and /metrics report its sync state. */
  mirror?: Mirror | undefined;
  logger?: Logger | undefined;
  /** Take the client address from X-Forwarded-For. @default false */
  trustProxy?: boolean;
  /** Run expire() every this many ms (0 = never; tests call it). @default 10000 */
  expireIntervalMs?: number;
}

/** Maps anything thrown to a coded error (fastify's own errors included). */
export function toCodedError(e: unknown): SkymeshError {
  if (e instanceof SkymeshError) return e;
  const code = (e as { code?: string })?.code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new RouteServerError('RS_TOO_LARGE', 'body too large');
  if (typeof code === 'string' && code.startsWith('FST_ERR_CTP')) {
    return new RouteServerError('RS_MALFORMED', 'body is not in a supported form');
  }
  if ((e as { statusCode?: number })?.statusCode === 400) {
    return new RouteServerError('RS_MALFORMED', 'malformed request');
  }
  return new RouteServerError('RS_INTERNAL', 'internal error');
}

function errorBody(e: SkymeshError) {
  return { error: { code: e.code, message: e.message } };
}

// A signed object from a body: raw bytes, or base64url in a JSON field.
function signedBytes(body: unknown, field: string, max: number): Uint8Array {
  if (body instanceof Uint8Array) return body;
  const v = (body as Record<string, unknown> | null)?.[field];
  if (typeof v !== 'string') {
    throw new RouteServerError('RS_MALFORMED', `send octet-stream bytes or JSON { ${field} }`);
  }
  if (v.length > Math.ceil((max * 4) / 3) + 4)
    throw new RouteServerError('RS_TOO_LARGE', `${field} too large`);
  return fromBase64Url(v, max, field);
}

/** The JSON form of route query answers. */
export function pathsToJSON(paths: RoutePath[]) {
  return paths.map((p) => ({
    rttMicros: p.rttMicros,
    diverse: p.diverse,
    hops: p.hops.map((h) => ({
      address: encodeAddress(h.desc.publicKey),
      descriptor: toBase64Url(h.bytes),
    })),
  }));
}

// Route queries arrive as JSON: only these fields pass, with JSON types.
function routeQuery(body: unknown): RouteQuery {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RouteServerError('RS_MALFORMED', 'a route query is a JSON object');
  }
  const b = body as Record<string, unknown>;
  const q: RouteQuery = { destination: b.destination as RouteQuery['destination'] };
  if (b.source !== undefined) q.source = b.source as string;
  if (b.minHops !== undefined) q.minHops = b.minHops as number;
  if (b.maxHops !== undefined) q.maxHops = b.maxHops as number;
  if (b.k !== undefined) q.k = b.k as number;
  if (b.exclude !== undefined) q.exclude = b.exclude as string[];
  // The nonce only goes into routeQueryDigest: signed over, and keying the paths' randomisation.
  if (
    b.nonce !== undefined &&
    (typeof b.nonce !== 'string' || !/^[A-Za-z0-9_-]{16,128}$/.test(b.nonce))
  ) {
    throw new RouteServerError('RS_MALFORMED', 'nonce must be 16..128 base64url characters');
  }
  if (b.spread !== undefined) {
    if (typeof b.spread !== 'number' || !(b.spread >= 0 && b.spread <= 1)) {
      throw new RouteServerError('RS_MALFORMED', 'spread must be a number in 0..1');
    }
    q.spread = b.spread;
  }
  // Only strings reach the query: a Uint8Array cannot come from JSON, but an array could.
  for (const v of [q.source, ...(Array.isArray(q.exclude) ? q.exclude : [])]) {
    if (v !== undefined && typeof v !== 'string') {
      throw new RouteServerError('RS_MALFORMED', 'addresses are strings');
    }
  }
  return q;
}

function sinceParam(v: unknown): number {
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(v)) {
    throw new RouteServerError('RS_MALFORMED', 'since must be a non-negative integer');
  }
  return Number(v);
}

/** Builds the fastify app (not listening). Close it with `app.close()`. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { service, mirror } = opts;
  const app = Fastify({
    logger: false,
    bodyLimit: MAX_MESSAGE_BYTES,
    trustProxy: opts.trustProxy ?? false,
  });
  await app.register(websocket, { options: { maxPayload: MAX_MESSAGE_BYTES } });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, new Uint8Array(body as Buffer)),
  );

  app.setErrorHandler((err, _req, reply) => {
    const e = toCodedError(err);
    if (e.code === 'RS_INTERNAL') opts.logger?.error({ err }, 'request failed');
    reply.status(statusOf(e.code)).send(errorBody(e));
  });
  app.setNotFoundHandler((_req, reply) => {
    reply.status(404).send(errorBody(new RouteServerError('RS_NOT_FOUND', 'no such route')));
  });
  // Every /v1 request is charged to its source IP and prefix.
  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (req.url.startsWith('/v1/')) service.charge(req.ip);
  });

  const ops = {
    info: () => ({
      publicKey: toHex(service.publicKey),
      address: service.address,
      version: service.state.version,
      nodes: service.state.nodeCount,
      links: service.state.linkCount,
      mirror: mirror ? { ready: mirror.ready, lastError: mirror.lastError } : null,
    }),
    publish: (body: unknown, ip: string) =>
      service.publishDescriptor(signedBytes(body, 'descriptor', MAX_DESCRIPTOR_SIZE), ip),
    report: (body: unknown) =>
      service.publishReport(signedBytes(body, 'report', MAX_LINK_REPORT_SIZE)),
    route: (body: unknown) => {
      ready();
      const a = service.answerRoute(routeQuery(body), routeQueryDigest(body));
      return {
        version: a.version,
        paths: pathsToJSON(a.paths),
        signature: toBase64Url(a.signature),
      };
    },
  };
  const ready = () => {
    if (mirror && !mirror.ready) {
      throw new RouteServerError('RS_UNAVAILABLE', 'mirror not synced with its upstream yet');
    }
  };

  app.get('/v1/info', async () => ops.info());
  app.post('/v1/descriptors', async (req) => ops.publish(req.body, req.ip));
  app.post('/v1/link-reports', async (req) => ops.report(req.body));
  app.post('/v1/routes', async (req) => ops.route(req.body));
  app.get('/v1/snapshot', async (_req, reply) => {
    ready();
    const s = service.snapshot();
    reply.header('content-type', 'application/octet-stream');
    reply.header('x-directory-version', String(s.version));
    return Buffer.from(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength);
  });
  app.get('/v1/diff', async (req, reply) => {
    ready();
    const bytes = service.diff(sinceParam((req.query as Record<string, unknown>).since));
    reply.header('content-type', 'application/octet-stream');
    reply.header('x-directory-version', String(service.state.version));
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  });
  app.get('/v1/nodes/:address', async (req) => {
    let key: Uint8Array;
    try {
      key = parseAddress((req.params as { address: string }).address);
    } catch {
      throw new RouteServerError('RS_MALFORMED', 'not a valid address');
    }
    const node = service.state.node(key);
    if (!node) throw new RouteServerError('RS_NOT_FOUND', 'no such node');
    return descriptorToJSON(node.desc);
  });

  // One socket carries many requests: { id, op, ... } → { id, ...result } or { id, error }.
  app.get('/v1/ws', { websocket: true }, (socket, req) => {
    const ip = req.ip;
    let unsubscribe: (() => void) | null = null;
    socket.on('close', () => unsubscribe?.());
    socket.on('message', (data, isBinary) => {
      let id: unknown = null;
      try {
        service.charge(ip);
        if (isBinary) throw new RouteServerError('RS_MALFORMED', 'send JSON text messages');
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(String(data));
        } catch {
          throw new RouteServerError('RS_MALFORMED', 'message is not JSON');
        }
        if (typeof msg !== 'object' || msg === null)
          throw new RouteServerError('RS_MALFORMED', 'message is not an object');
        id = typeof msg.id === 'string' || typeof msg.id === 'number' ? msg.id : null;
        socket.send(JSON.stringify({ id, ...wsOp(msg) }));
      } catch (e) {
        socket.send(JSON.stringify({ id, ...errorBody(toCodedError(e)) }));
      }
    });
    const wsOp = (msg: Record<string, unknown>): Record<string, unknown> => {
      switch (msg.op) {
        case 'info':
          return ops.info();
        case 'publish':
          return { ...ops.publish(msg, ip) };
        case 'report':
          return ops.report(msg);
        case 'route':
          return ops.route(msg.query);
        case 'snapshot': {
          ready();
          const s = service.snapshot();
          return { version: s.version, snapshot: toBase64Url(s.bytes) };
        }
        case 'diff':
          ready();
          return {
            version: service.state.version,
            diff: toBase64Url(service.diff(sinceParam(String(msg.since)))),
          };
        case 'subscribe':
          unsubscribe ??= service.onVersion((version) => {
            if (socket.readyState === socket.OPEN && socket.bufferedAmount < MAX_MESSAGE_BYTES) {
              socket.send(JSON.stringify({ event: 'version', version }));
            }
          });
          return { version: service.state.version };
        default:
          throw new RouteServerError('RS_MALFORMED', 'unknown op');
      }
    };
  });

  app.get('/health', async (_req, reply) => {
    const ok = !mirror || mirror.ready;
    reply.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'syncing', ...service.summary() };
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', 'text/plain; version=0.0.4');
    return metricsText(service, mirror);
  });

  const every = opts.expireIntervalMs ?? 10_000;
  if (every > 0) {
    const timer = setInterval(() => {
      try {
        service.expire();
      } catch (err) {
        opts.logger?.error({ err }, 'expiry failed');
      }
    }, every);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  }
  return app;
}

/** Prometheus text exposition of the service counters. */
export function metricsText(service: DirectoryService, mirror?: Mirror): string {
  const c = service.counters;
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, value: number, labels = '') => {
    if (!out.some((l) => l.startsWith(`# TYPE ${name} `))) {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    }
    out.push(`${name}${labels} ${value}`);
  };
  metric('routeserver_version', 'gauge', 'Directory version', service.state.version);
  metric('routeserver_nodes', 'gauge', 'Nodes in the directory', service.state.nodeCount);
  metric('routeserver_links', 'gauge', 'Confirmed links', service.state.linkCount);
  metric('routeserver_reports', 'gauge', 'Link reports held', service.reportCount);
  metric(
    'routeserver_descriptors_accepted_total',
    'counter',
    'Descriptors stored',
    c.descriptorsAccepted,
  );
  metric(
    'routeserver_descriptors_unchanged_total',
    'counter',
    'Descriptors published again unchanged',
    c.descriptorsUnchanged,
  );
  metric(
    'routeserver_reports_accepted_total',
    'counter',
    'Link reports ingested',
    c.reportsAccepted,
  );
  metric('routeserver_route_queries_total', 'counter', 'Route queries', c.routeQueries);
  metric(
    'routeserver_route_failures_total',
    'counter',
    'Route queries that failed',
    c.routeFailures,
  );
  metric(
    'routeserver_snapshots_signed_total',
    'counter',
    'Snapshots encoded and signed',
    c.snapshotsSigned,
  );
  metric('routeserver_diffs_signed_total', 'counter', 'Diffs encoded and signed', c.diffsSigned);
  metric('routeserver_nodes_expired_total', 'counter', 'Nodes dropped by expiry', c.nodesExpired);
  metric(
    'routeserver_reports_expired_total',
    'counter',
    'Reports dropped by expiry',
    c.reportsExpired,
  );
  metric(
    'routeserver_rate_limited_total',
    'counter',
    'Requests refused by rate limits',
    service.guard.rateLimited,
  );
  metric(
    'routeserver_node_limited_total',
    'counter',
    'Descriptors refused by node limits',
    service.guard.nodeLimited,
  );
  for (const [code, n] of c.rejected) {
    metric(
      'routeserver_rejected_total',
      'counter',
      'Inputs rejected, by code',
      n,
      `{code="${code}"}`,
    );
  }
  if (mirror) {
    metric('routeserver_mirror_syncs_total', 'counter', 'Successful upstream syncs', mirror.syncs);
    metric(
      'routeserver_mirror_failures_total',
      'counter',
      'Failed upstream syncs',
      mirror.failures,
    );
    metric(
      'routeserver_mirror_ready',
      'gauge',
      '1 once the first snapshot was taken',
      mirror.ready ? 1 : 0,
    );
  }
  return `${out.join('\n')}\n`;
}
