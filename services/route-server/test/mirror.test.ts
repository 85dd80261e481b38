/**
 * Mirrors: a read-only route server following an upstream over real HTTP on
 * 127.0.0.1, checking every signature itself; tampered, foreign, forged and
 * rolled-back answers are refused.
 */
import { ed25519PublicKey } from '@skymesh/crypto';
import { decodeDescriptor } from '@skymesh/protocol';
import {
  DirectoryState,
  encodeSnapshot,
  RouteServerClient,
  syntheticSeed,
} from '@skymesh/protocol/directory';
import { describe, expect, it } from 'vitest';
import { Mirror } from '../src/mirror.js';
import {
  descriptorBytes,
  harness,
  node,
  populate,
  postBytes,
  reportBytes,
  T0,
} from './_harness.js';

async function upstream() {
  const h = await harness();
  const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
  return { h, url };
}

async function mirrorOf(url: string, key: Uint8Array, fetchFn?: typeof fetch) {
  const m = await harness(
    { readOnly: true },
    (service) => new Mirror(service, { upstreamUrl: url, upstreamKey: key, fetch: fetchFn }),
  );
  return { m, mirror: m.mirror! };
}

const linkSet = (s: DirectoryState) =>
  [...s.links()].map((l) => `${l.a}${l.b}:${l.rttMicros}`).sort();
const nodeSet = (s: DirectoryState) => [...s.nodes()].map((n) => n.key).sort();

// A fetch that returns the given bytes for /v1/snapshot and 410 for diffs.
const serving = (bytes: Uint8Array): typeof fetch =>
  (async (u: string | URL) =>
    String(u).includes('/v1/snapshot')
      ? new Response(bytes, { status: 200 })
      : new Response('{}', { status: 410 })) as typeof fetch;

/** An upstream holding nodes 1–2–3 and a mirror of it, not synced yet. */
async function chainOf3() {
  const up = await upstream();
  await populate(
    up.h.app,
    [1, 2, 3],
    [
      [1, 2, 100],
      [2, 3, 200],
    ],
  );
  return { up, ...(await mirrorOf(up.url, up.h.service.publicKey)) };
}

describe('mirror', () => {
  it('syncs a snapshot then diffs, ends equal to the upstream, and stays read-only', async () => {
    const { up, m, mirror } = await chainOf3();
    const before = await m.app.inject({ url: '/v1/snapshot' });
    expect([before.statusCode, before.json().error.code]).toEqual([503, 'RS_UNAVAILABLE']);
    expect(await mirror.syncOnce()).toEqual({
      kind: 'snapshot',
      version: up.h.service.state.version,
    });
    await populate(up.h.app, [4], []);
    await postBytes(up.h.app, '/v1/link-reports', reportBytes(3, 2, [[4, 7]]));
    await postBytes(up.h.app, '/v1/link-reports', reportBytes(4, 2, [[3, 7]]));
    expect(await mirror.syncOnce()).toEqual({ kind: 'diff', version: up.h.service.state.version });
    expect(await mirror.syncOnce()).toEqual({ kind: 'none', version: up.h.service.state.version });
    expect(nodeSet(m.service.state)).toEqual(nodeSet(up.h.service.state));
    expect(linkSet(m.service.state)).toEqual(linkSet(up.h.service.state));
    const pub = await postBytes(m.app, '/v1/descriptors', descriptorBytes(9));
    expect([pub.statusCode, pub.json().error.code]).toEqual([405, 'RS_READ_ONLY']);
    const route = await m.app.inject({
      method: 'POST',
      url: '/v1/routes',
      payload: { destination: { address: node(4).address }, minHops: 2, maxHops: 2 },
    });
    expect(route.statusCode).toBe(200);
  });

  it("signs route answers with its own key: they verify under the mirror's key, not the upstream's", async () => {
    const { up, m, mirror } = await chainOf3();
    await mirror.syncOnce();
    const url = await m.app.listen({ host: '127.0.0.1', port: 0 });
    const query = { destination: { address: node(3).address }, minHops: 2, maxHops: 2 };
    const viaMirror = new RouteServerClient({ baseUrl: url, serverKey: m.service.publicKey });
    const [path] = await viaMirror.route(query, T0);
    expect(path!.hops.map((h) => h.address)).toEqual([node(2).address, node(3).address]);
    expect(m.service.counters.routeQueries).toBe(1);
    const trustingUpstream = new RouteServerClient({
      baseUrl: url,
      serverKey: up.h.service.publicKey,
    });
    await expect(trustingUpstream.route(query, T0)).rejects.toMatchObject({
      code: 'DIRECTORY_BAD_SIGNATURE',
    });
  });

  it('keeps syncing on its own once started, until stopped', async () => {
    const up = await upstream();
    await populate(up.h.app, [1, 2], [[1, 2, 100]]);
    const m = await harness(
      { readOnly: true },
      (service) =>
        new Mirror(service, {
          upstreamUrl: up.url,
          upstreamKey: up.h.service.publicKey,
          intervalMs: 20,
        }),
    );
    m.mirror!.start();
    await populate(up.h.app, [3], []);
    for (let i = 0; i < 200 && m.service.state.version !== up.h.service.state.version; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await m.mirror!.stop();
    expect(m.service.state.version).toBe(up.h.service.state.version);
    expect(m.service.state.nodeCount).toBe(3);
    expect((await m.app.inject({ url: '/health' })).json().status).toBe('ok');
  });

  it('refuses a tampered snapshot, one signed by another key, and a forged descriptor', async () => {
    const up = await upstream();
    await populate(up.h.app, [1, 2], [[1, 2, 100]]);
    const good = new Uint8Array((await up.h.app.inject({ url: '/v1/snapshot' })).rawPayload);
    const key = up.h.service.publicKey;
    const tampered = good.slice();
    tampered[80]! ^= 1;
    const t = await mirrorOf(up.url, key, serving(tampered));
    await expect(t.mirror.syncOnce()).rejects.toMatchObject({
      code: expect.stringMatching(/^(DIRECTORY_BAD_SIGNATURE|DECODE_|DESCRIPTOR_)/),
    });
    expect(t.mirror.ready).toBe(false);
    expect(t.m.service.state.nodeCount).toBe(0);
    const other = await mirrorOf(up.url, ed25519PublicKey(syntheticSeed(5, 5)));
    await expect(other.mirror.syncOnce()).rejects.toMatchObject({ code: 'DIRECTORY_WRONG_SERVER' });
    // An upstream that signs a descriptor the node never signed.
    const evil = syntheticSeed(6, 6);
    const s = new DirectoryState();
    const d = decodeDescriptor(descriptorBytes(1));
    s.putNode({ ...d, pricePerMiB: 999n });
    s.commit();
    const forged = await mirrorOf(up.url, ed25519PublicKey(evil), serving(encodeSnapshot(s, evil)));
    await expect(forged.mirror.syncOnce()).rejects.toMatchObject({
      code: 'DIRECTORY_BAD_DESCRIPTOR',
    });
    expect(forged.mirror.failures).toBe(1);
  });

  it('follows an upstream that restarted empty (versions keep increasing by default)', async () => {
    const up = await upstream();
    await populate(up.h.app, [1, 2], [[1, 2, 100]]);
    const { m, mirror } = await mirrorOf(up.url, up.h.service.publicKey);
    await mirror.syncOnce();
    // The same server key restarted later with the default initial version (its clock).
    const restarted = await harness({
      initialVersion: undefined,
      clock: () => up.h.clock.ms + 60_000,
    });
    await populate(restarted.app, [3], []);
    const url = await restarted.app.listen({ host: '127.0.0.1', port: 0 });
    expect(restarted.service.state.version).toBeGreaterThan(m.service.state.version);
    const follow = new Mirror(m.service, {
      upstreamUrl: url,
      upstreamKey: restarted.service.publicKey,
    });
    expect((await follow.syncOnce()).kind).toBe('snapshot');
    expect(m.service.state.nodeCount).toBe(1);
  });

  it('refuses a snapshot older than the copy held', async () => {
    const up = await upstream();
    await populate(up.h.app, [1, 2], [[1, 2, 100]]);
    const old = new Uint8Array((await up.h.app.inject({ url: '/v1/snapshot' })).rawPayload);
    const { m, mirror } = await mirrorOf(up.url, up.h.service.publicKey);
    await populate(up.h.app, [3], []);
    await mirror.syncOnce();
    const replay = new Mirror(m.service, {
      upstreamUrl: up.url,
      upstreamKey: up.h.service.publicKey,
      fetch: serving(old),
    });
    await expect(replay.syncOnce()).rejects.toMatchObject({ code: 'DIRECTORY_ROLLBACK' });
    expect(m.service.state.nodeCount).toBe(3);
  });
});
