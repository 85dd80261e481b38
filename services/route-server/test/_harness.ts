/** Shared test setup: signed nodes, a service with a settable clock, an app around it. */
import { Identity } from '@skymesh/crypto';
import { encodeDescriptor, type NodeRoles, signDescriptor } from '@skymesh/protocol';
import {
  encodeLinkReport,
  type RouteQueryJSON,
  signLinkReport,
  syntheticSeed,
} from '@skymesh/protocol/directory';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterEach } from 'vitest';
import { buildApp } from '../src/app.js';
import { DirectoryService, type DirectoryServiceOptions } from '../src/directory.js';
import { DEFAULT_LIMITS, type SybilLimits } from '../src/limits.js';
import type { Mirror } from '../src/mirror.js';

export const T0 = 1_800_000_000;

/** A node identity by number (deterministic). */
export const node = (i: number): Identity => Identity.fromSeed(syntheticSeed(77, i));

/** A signed descriptor of node i, as bytes. */
export function descriptorBytes(
  i: number,
  opts: {
    issuedAt?: number;
    expiresAt?: number;
    roles?: NodeRoles;
    ip?: string;
    exit?: boolean;
  } = {},
): Uint8Array {
  const exit = opts.exit ?? false;
  return encodeDescriptor(
    signDescriptor(
      {
        roles: opts.roles ?? { relay: true, exit },
        endpoints: [
          { transport: 'ws', host: opts.ip ?? `10.${i % 250}.${i >> 8}.1`, port: 7000 + i },
        ],
        pricePerMiB: 1n,
        exitPolicy: exit ? { ports: [{ from: 443, to: 443 }], hosts: ['*'] } : undefined,
        issuedAt: opts.issuedAt ?? T0,
        ...(opts.expiresAt === undefined ? {} : { expiresAt: opts.expiresAt }),
      },
      node(i),
    ),
  );
}

/** A signed link report of node i listing [peer, rtt] pairs. */
export function reportBytes(i: number, seq: number, links: [number, number][], issuedAt = T0) {
  return encodeLinkReport(
    signLinkReport(
      {
        sequence: seq,
        issuedAt,
        links: links.map(([p, rtt]) => ({
          peer: node(p).publicKey,
          rttMicros: rtt,
          capacity: 100,
        })),
      },
      node(i),
    ),
  );
}

export const NO_LIMITS: SybilLimits = {
  ...DEFAULT_LIMITS,
  requestRatePerIp: 0,
  requestRatePerPrefix: 0,
  nodesPerIp: 0,
  nodesPerPrefix: 0,
};

export interface Harness {
  service: DirectoryService;
  app: FastifyInstance;
  clock: { ms: number };
  mirror: Mirror | undefined;
}

/** Every harness made in the running test; their apps are closed after it. */
const open: Harness[] = [];
afterEach(async () => {
  for (const x of open.splice(0)) await x.app.close();
});

/**
 * A service at T0 (move `clock.ms` to move time) and its app, not listening.
 * The app is closed after the test that made it.
 */
export async function harness(
  opts: Partial<DirectoryServiceOptions> = {},
  makeMirror?: (service: DirectoryService) => Mirror,
): Promise<Harness> {
  const clock = { ms: T0 * 1000 };
  const service = new DirectoryService({
    key: syntheticSeed(78, opts.readOnly ? 2 : 1),
    limits: NO_LIMITS,
    snapshotMinIntervalMs: 0,
    graphMinIntervalMs: 0,
    clock: () => clock.ms,
    initialVersion: 0,
    ...opts,
  });
  const mirror = makeMirror?.(service);
  const app = await buildApp({ service, mirror, expireIntervalMs: 0 });
  const h = { service, app, clock, mirror };
  open.push(h);
  return h;
}

/** POSTs raw bytes. */
export function postBytes(
  app: FastifyInstance,
  url: string,
  body: Uint8Array,
  ip = '198.51.100.7',
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    payload: Buffer.from(body),
    headers: { 'content-type': 'application/octet-stream' },
    remoteAddress: ip,
  });
}

/** Publishes descriptors of nodes `ids` and mutual reports for `links` ([a, b, rtt]). */
export async function populate(
  app: FastifyInstance,
  ids: number[],
  links: [number, number, number][],
  opts: { exits?: number[]; seq?: number } = {},
): Promise<void> {
  for (const i of ids) {
    const r = await postBytes(
      app,
      '/v1/descriptors',
      descriptorBytes(i, { exit: opts.exits?.includes(i) }),
    );
    if (r.statusCode !== 200) throw new Error(`publish ${i}: ${r.body}`);
  }
  for (const i of ids) {
    const mine = links.flatMap(([a, b, rtt]): [number, number][] =>
      a === i ? [[b, rtt]] : b === i ? [[a, rtt]] : [],
    );
    const r = await postBytes(app, '/v1/link-reports', reportBytes(i, opts.seq ?? 1, mine));
    if (r.statusCode !== 200) throw new Error(`report ${i}: ${r.body}`);
  }
}

/** The error code of an API answer. */
export const codeOf = (r: { body: string }): string | undefined =>
  (JSON.parse(r.body) as { error?: { code: string } }).error?.code;

/** A route query from node `from` to node `to`, with the query's other fields. */
export function routeQuery<T extends Partial<RouteQueryJSON>>(
  from: number,
  to: number,
  rest: T,
): RouteQueryJSON & T {
  return { source: node(from).address, destination: { address: node(to).address }, ...rest };
}
