/**
 * The route server API over fastify inject and a websocket: descriptor
 * validation (forged, expired, replayed-older, oversized), link reports,
 * route queries and their errors, snapshots and diffs (signed again once a
 * minute old), expiry, health and metrics.
 */
import { toBase64Url } from '@skymesh/protocol';
import {
  applyDiff,
  stateFromSnapshot,
  verifyDiff,
  verifySnapshot,
} from '@skymesh/protocol/directory';
import { describe, expect, it } from 'vitest';
import {
  codeOf,
  descriptorBytes,
  harness,
  node,
  populate,
  postBytes,
  reportBytes,
  routeQuery,
  T0,
} from './_harness.js';

describe('descriptors', () => {
  it('accepts a signed descriptor as bytes or JSON, and an identical one again as unchanged', async () => {
    const h = await harness();
    const r = await postBytes(h.app, '/v1/descriptors', descriptorBytes(1));
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ address: node(1).address, changed: true, version: 1 });
    const again = await h.app.inject({
      method: 'POST',
      url: '/v1/descriptors',
      payload: { descriptor: toBase64Url(descriptorBytes(1)) },
    });
    expect(again.json()).toMatchObject({ changed: false, version: 1 });
    const got = await h.app.inject({ url: `/v1/nodes/${node(1).address}` });
    expect(got.json().address).toBe(node(1).address);
  });

  it('refuses forged, expired, future, replayed-older, oversized and garbage descriptors with their codes', async () => {
    const h = await harness();
    const forged = descriptorBytes(2).slice();
    forged[forged.length - 5]! ^= 1;
    const cases: [Uint8Array, number, string][] = [
      [forged, 401, 'DESCRIPTOR_BAD_SIGNATURE'],
      [
        descriptorBytes(2, { issuedAt: T0 - 7200, expiresAt: T0 - 3600 }),
        422,
        'DESCRIPTOR_EXPIRED',
      ],
      [descriptorBytes(2, { issuedAt: T0 + 3600 }), 422, 'DESCRIPTOR_NOT_YET_VALID'],
      [new Uint8Array(5000), 413, 'DESCRIPTOR_TOO_LARGE'],
      [Uint8Array.of(1, 2, 3), 400, 'DECODE_TRUNCATED'],
    ];
    for (const [body, status, code] of cases) {
      const r = await postBytes(h.app, '/v1/descriptors', body);
      expect([r.statusCode, codeOf(r)]).toEqual([status, code]);
    }
    expect(
      (await postBytes(h.app, '/v1/descriptors', descriptorBytes(2, { issuedAt: T0 }))).statusCode,
    ).toBe(200);
    const older = await postBytes(
      h.app,
      '/v1/descriptors',
      descriptorBytes(2, { issuedAt: T0 - 10 }),
    );
    expect([older.statusCode, codeOf(older)]).toEqual([409, 'DIRECTORY_DESCRIPTOR_REPLAYED']);
    const huge = await postBytes(h.app, '/v1/descriptors', new Uint8Array(100_000));
    expect([huge.statusCode, codeOf(huge)]).toEqual([413, 'RS_TOO_LARGE']);
    const json = await h.app.inject({
      method: 'POST',
      url: '/v1/descriptors',
      payload: { nope: 1 },
    });
    expect([json.statusCode, codeOf(json)]).toEqual([400, 'RS_MALFORMED']);
    expect(h.service.state.nodeCount).toBe(1);
    const m = await h.app.inject({ url: '/metrics' });
    expect(m.body).toMatch(/routeserver_rejected_total\{code="DESCRIPTOR_BAD_SIGNATURE"\} 1/);
  });

  it('drops nodes after the descriptor TTL unless refreshed, and at their own expiry', async () => {
    const h = await harness({ descriptorTtl: 600 });
    await populate(h.app, [1, 2], [[1, 2, 1000]]);
    h.clock.ms += 300_000;
    await postBytes(h.app, '/v1/descriptors', descriptorBytes(2, { issuedAt: T0 + 300 }));
    h.clock.ms += 300_000;
    h.service.expire();
    expect(h.service.state.node(node(1).publicKey)).toBeUndefined();
    expect(h.service.state.node(node(2).publicKey)).toBeDefined();
    expect(h.service.state.linkCount).toBe(0);
    expect((await h.app.inject({ url: `/v1/nodes/${node(1).address}` })).statusCode).toBe(404);
  });
});

describe('link reports and routes', () => {
  // 1 — 2 — 3 — 4 and 1 — 5 — 6 — 4 (slower), 7 is an exit behind 3.
  const links: [number, number, number][] = [
    [1, 2, 1000],
    [2, 3, 1000],
    [3, 4, 1000],
    [1, 5, 3000],
    [5, 6, 3000],
    [6, 4, 3000],
    [3, 7, 500],
  ];

  it('confirms two-sided links and answers route queries', async () => {
    const h = await harness();
    await populate(h.app, [1, 2, 3, 4, 5, 6, 7], links, { exits: [7] });
    expect(h.service.state.linkCount).toBe(links.length);
    const r = await h.app.inject({
      method: 'POST',
      url: '/v1/routes',
      payload: routeQuery(1, 4, { k: 2, spread: 0 }),
    });
    expect(r.statusCode).toBe(200);
    const body = r.json() as { paths: { rttMicros: number; hops: { address: string }[] }[] };
    expect(body.paths.map((p) => p.hops.map((x) => x.address))).toEqual([
      [node(2).address, node(3).address, node(4).address],
      [node(5).address, node(6).address, node(4).address],
    ]);
    expect(body.paths.map((p) => p.rttMicros)).toEqual([3000, 9000]);
    const exit = await h.app.inject({
      method: 'POST',
      url: '/v1/routes',
      payload: {
        source: node(1).address,
        destination: { exit: { host: 'example.org', port: 443 } },
      },
    });
    expect(exit.json().paths[0].hops.at(-1).address).toBe(node(7).address);
  });

  it('refuses replayed, forged and orphan reports', async () => {
    const h = await harness();
    await populate(h.app, [1, 2], [[1, 2, 1000]]);
    const replay = await postBytes(h.app, '/v1/link-reports', reportBytes(1, 1, [[2, 10]]));
    expect([replay.statusCode, codeOf(replay)]).toEqual([409, 'DIRECTORY_REPORT_REPLAYED']);
    const forged = reportBytes(1, 2, [[2, 10]]).slice();
    forged[45]! ^= 1; // in the sequence
    const f = await postBytes(h.app, '/v1/link-reports', forged);
    expect([f.statusCode, codeOf(f)]).toEqual([401, 'DIRECTORY_BAD_SIGNATURE']);
    const orphan = await postBytes(h.app, '/v1/link-reports', reportBytes(9, 1, [[1, 10]]));
    expect([orphan.statusCode, codeOf(orphan)]).toEqual([422, 'DIRECTORY_UNKNOWN_NODE']);
    const stale = await postBytes(h.app, '/v1/link-reports', reportBytes(1, 3, [], T0 - 7200));
    expect([stale.statusCode, codeOf(stale)]).toEqual([422, 'DIRECTORY_REPORT_STALE']);
  });

  it('answers bad route queries with 4xx and a code', async () => {
    const h = await harness();
    await populate(h.app, [1, 2, 3, 4], links.slice(0, 3));
    const cases: [unknown, number, string][] = [
      [{ destination: { address: 'not-an-address' } }, 400, 'DIRECTORY_BAD_QUERY'],
      [{ destination: { address: node(4).address }, k: 0 }, 400, 'DIRECTORY_BAD_QUERY'],
      [
        { destination: { address: node(4).address }, minHops: 5, maxHops: 2 },
        400,
        'DIRECTORY_BAD_QUERY',
      ],
      [{ destination: { exit: { host: 'x.org', port: 70000 } } }, 400, 'DIRECTORY_BAD_QUERY'],
      [{ destination: { address: node(4).address }, spread: 5 }, 400, 'RS_MALFORMED'],
      [{ destination: { address: node(4).address }, exclude: [[1, 2]] }, 400, 'RS_MALFORMED'],
      [[1, 2, 3], 400, 'RS_MALFORMED'],
      [{ destination: { address: node(50).address } }, 404, 'DIRECTORY_NO_ROUTE'],
      [
        { destination: { address: node(4).address }, minHops: 6, maxHops: 6 },
        404,
        'DIRECTORY_NO_ROUTE',
      ],
    ];
    for (const [payload, status, code] of cases) {
      const r = await h.app.inject({
        method: 'POST',
        url: '/v1/routes',
        payload: payload as object,
      });
      expect([r.statusCode, codeOf(r)], JSON.stringify(payload)).toEqual([status, code]);
    }
    const notJson = await h.app.inject({
      method: 'POST',
      url: '/v1/routes',
      payload: '{oops',
      headers: { 'content-type': 'application/json' },
    });
    expect([notJson.statusCode, codeOf(notJson)]).toEqual([400, 'RS_MALFORMED']);
    expect((await h.app.inject({ url: '/v1/nowhere' })).statusCode).toBe(404);
  });
});

describe('snapshots and diffs', () => {
  it('serves a signed snapshot and diffs that bring a copy to the same state', async () => {
    const h = await harness();
    await populate(
      h.app,
      [1, 2, 3],
      [
        [1, 2, 100],
        [2, 3, 200],
      ],
    );
    const key = h.service.publicKey;
    const s1 = await h.app.inject({ url: '/v1/snapshot' });
    expect(s1.headers['content-type']).toBe('application/octet-stream');
    const copy = stateFromSnapshot(verifySnapshot(s1.rawPayload, { serverKey: key }));
    await populate(h.app, [4], []);
    await postBytes(h.app, '/v1/link-reports', reportBytes(3, 2, [[4, 50]]));
    await postBytes(h.app, '/v1/link-reports', reportBytes(4, 2, [[3, 50]]));
    await postBytes(h.app, '/v1/link-reports', reportBytes(1, 2, []));
    const d = await h.app.inject({ url: `/v1/diff?since=${copy.version}` });
    expect(d.statusCode).toBe(200);
    applyDiff(copy, verifyDiff(d.rawPayload, { serverKey: key }));
    const s2 = verifySnapshot((await h.app.inject({ url: '/v1/snapshot' })).rawPayload, {
      serverKey: key,
    });
    expect(copy.version).toBe(s2.version);
    expect([...copy.links()].map((l) => [l.a, l.b, l.rttMicros]).sort()).toEqual(
      s2.links.map((l) => [l.a, l.b, l.rttMicros]).sort(),
    );
    expect(copy.nodeCount).toBe(s2.nodes.length);
    const bad = await h.app.inject({ url: '/v1/diff?since=abc' });
    expect([bad.statusCode, codeOf(bad)]).toEqual([400, 'RS_MALFORMED']);
    const future = await h.app.inject({ url: '/v1/diff?since=999' });
    expect([future.statusCode, codeOf(future)]).toEqual([410, 'DIRECTORY_DIFF_UNAVAILABLE']);
  });

  it('signs its snapshot and diffs again once a minute old, even when nothing changed', async () => {
    const h = await harness();
    await populate(h.app, [1, 2], [[1, 2, 100]]);
    const key = h.service.publicKey;
    const signedAt = async (url: string) => {
      const bytes = (await h.app.inject({ url })).rawPayload;
      return url.startsWith('/v1/snapshot')
        ? verifySnapshot(bytes, { serverKey: key }).issuedAt
        : verifyDiff(bytes, { serverKey: key }).issuedAt;
    };
    const version = h.service.state.version;
    const urls = ['/v1/snapshot', `/v1/diff?since=${version}`];
    for (const url of urls) expect(await signedAt(url)).toBe(T0);
    h.clock.ms += 30_000; // cached: the same bytes
    for (const url of urls) expect(await signedAt(url)).toBe(T0);
    h.clock.ms += 30_000; // a minute old: signed again (a node's copy is seen current)
    for (const url of urls) expect(await signedAt(url)).toBe(T0 + 60);
    expect(h.service.state.version).toBe(version);
  });
});

describe('websocket API', () => {
  it('publishes, reports, routes, downloads and pushes version events over one socket', async () => {
    const h = await harness();
    await h.app.ready();
    const ws = await h.app.injectWS('/v1/ws');
    const pending = new Map<number, (v: Record<string, unknown>) => void>();
    const events: number[] = [];
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.event === 'version') events.push(m.version);
      else pending.get(m.id)?.(m);
    });
    let next = 0;
    const call = (msg: object) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const id = ++next;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, ...msg }));
      });
    expect(await call({ op: 'subscribe' })).toMatchObject({ version: 0 });
    for (const i of [1, 2, 3]) {
      expect(
        await call({ op: 'publish', descriptor: toBase64Url(descriptorBytes(i)) }),
      ).toMatchObject({
        address: node(i).address,
      });
    }
    const reports: [number, [number, number][]][] = [
      [1, [[2, 10]]],
      [
        2,
        [
          [1, 10],
          [3, 10],
        ],
      ],
      [3, [[2, 10]]],
    ];
    for (const [i, l] of reports) {
      await call({ op: 'report', report: toBase64Url(reportBytes(i, 1, l)) });
    }
    const route = await call({
      op: 'route',
      query: routeQuery(1, 3, { minHops: 2, maxHops: 2 }),
    });
    expect((route.paths as { hops: unknown[] }[])[0]!.hops).toHaveLength(2);
    const snap = await call({ op: 'snapshot' });
    expect(snap.version).toBe(h.service.state.version);
    const diff = await call({ op: 'diff', since: 0 });
    expect(typeof diff.diff).toBe('string');
    expect((await call({ op: 'nope' })).error).toMatchObject({ code: 'RS_MALFORMED' });
    expect((await call({ op: 'publish', descriptor: 'AAAA' })).error).toMatchObject({
      code: 'DECODE_BAD_VERSION',
    });
    expect(events.length).toBeGreaterThanOrEqual(3);
    expect(events.at(-1)).toBe(h.service.state.version);
    ws.terminate();
  });
});

describe('health and metrics', () => {
  it('report the directory', async () => {
    const h = await harness();
    await populate(h.app, [1, 2], [[1, 2, 5]]);
    const health = await h.app.inject({ url: '/health' });
    expect(health.json()).toMatchObject({ status: 'ok', nodes: 2, links: 1 });
    const m = await h.app.inject({ url: '/metrics' });
    expect(m.body).toMatch(/^routeserver_nodes 2$/m);
    expect(m.body).toMatch(/^routeserver_links 1$/m);
    expect(m.body).toMatch(/^# TYPE routeserver_reports_accepted_total counter$/m);
    const info = await h.app.inject({ url: '/v1/info' });
    expect(info.json()).toMatchObject({ address: h.service.address, nodes: 2 });
  });
});
