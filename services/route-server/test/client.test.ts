/**
 * The protocol package's RouteServerClient against a real route server on
 * 127.0.0.1: publish, report, verified route answers, replica sync, error
 * codes; and a lying server's forged hop descriptor is caught.
 */
import { toBase64Url } from '@skymesh/protocol';
import { DirectoryReplica, RouteServerClient } from '@skymesh/protocol/directory';
import { afterEach, describe, expect, it } from 'vitest';
import { descriptorBytes, type Harness, harness, node, reportBytes, T0 } from './_harness.js';

let h: Harness;
afterEach(async () => {
  await h?.app.close();
});

describe('RouteServerClient', () => {
  it('publishes, reports, routes with verified hops and keeps a replica in sync', async () => {
    h = await harness();
    const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const client = new RouteServerClient({ baseUrl: url });
    for (const i of [1, 2, 3]) {
      expect((await client.publishDescriptor(descriptorBytes(i))).address).toBe(node(i).address);
    }
    await client.publishReport(reportBytes(1, 1, [[2, 100]]));
    await client.publishReport(
      reportBytes(2, 1, [
        [1, 100],
        [3, 200],
      ]),
    );
    expect((await client.publishReport(reportBytes(3, 1, [[2, 200]]))).confirmed).toBe(1);
    const [path] = await client.route(
      {
        source: node(1).address,
        destination: { address: node(3).address },
        minHops: 2,
        maxHops: 2,
      },
      T0,
    );
    expect(path!.hops.map((x) => x.address)).toEqual([node(2).address, node(3).address]);
    expect(path!.rttMicros).toBe(300);
    expect(path!.hops[0]!.desc.publicKey).toEqual(node(2).publicKey);

    const replica = new DirectoryReplica({ serverKey: h.service.publicKey, now: () => T0 });
    expect(await client.sync(replica)).toBe('snapshot');
    await client.publishDescriptor(descriptorBytes(4));
    expect(await client.sync(replica)).toBe('diff');
    expect(replica.version).toBe(h.service.state.version);
    expect(replica.state!.nodeCount).toBe(4);
    const [local] = replica.find({
      source: node(1).address,
      destination: { address: node(3).address },
      minHops: 2,
      maxHops: 2,
    });
    expect(local!.hops.map((x) => x.key)).toEqual(path!.hops.map((x) => x.desc.publicKey).map(hex));

    await expect(
      client.publishDescriptor(descriptorBytes(1, { issuedAt: T0 - 5 })),
    ).rejects.toMatchObject({
      code: 'DIRECTORY_DESCRIPTOR_REPLAYED',
      details: { status: 409 },
    });
    expect(await client.diff(10_000)).toBeNull(); // 410: a version the server never had
  });

  it('catches a forged hop descriptor in a route answer', async () => {
    const forged = descriptorBytes(5).slice();
    forged[forged.length - 1]! ^= 1;
    const fake: typeof fetch = async () =>
      new Response(
        JSON.stringify({
          version: 1,
          paths: [
            {
              rttMicros: 1,
              diverse: true,
              hops: [{ address: node(5).address, descriptor: toBase64Url(forged) }],
            },
          ],
        }),
        { status: 200, headers: { 'content-type': 'application/json' } },
      );
    const client = new RouteServerClient({ baseUrl: 'http://127.0.0.1:9', fetch: fake });
    await expect(
      client.route({ destination: { address: node(5).address } }, T0),
    ).rejects.toMatchObject({
      code: 'DIRECTORY_BAD_DESCRIPTOR',
    });
  });
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
