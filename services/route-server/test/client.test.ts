/**
 * The protocol package's RouteServerClient against a real route server on
 * 127.0.0.1: publish, report, verified route answers, replica sync, error
 * codes; a lying server's forged hop descriptor is caught; and whoever
 * carries the query (a publishing relay, a man in the middle) can neither
 * choose the paths, nor replay an answer, nor change the query: route
 * answers are signed by the server's key over the query's digest (nonce
 * included) and the paths.
 */
import { Identity } from '@skymesh/crypto';
import { fromBase64Url, toBase64Url } from '@skymesh/protocol';
import {
  DirectoryReplica,
  type RouteQueryJSON,
  RouteServerClient,
  routeQueryDigest,
  signRouteAnswer,
} from '@skymesh/protocol/directory';
import { describe, expect, it } from 'vitest';
import {
  descriptorBytes,
  type Harness,
  harness,
  node,
  populate,
  reportBytes,
  routeQuery,
  T0,
} from './_harness.js';

describe('RouteServerClient', () => {
  it('publishes, reports, routes with verified hops and keeps a replica in sync', async () => {
    const h = await harness();
    const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const client = new RouteServerClient({ baseUrl: url, serverKey: h.service.publicKey });
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
    const [path] = await client.route(routeQuery(1, 3, { minHops: 2, maxHops: 2 }), T0);
    expect(path!.hops.map((x) => x.address)).toEqual([node(2).address, node(3).address]);
    expect(path!.rttMicros).toBe(300);
    expect(path!.hops[0]!.desc.publicKey).toEqual(node(2).publicKey);

    const replica = new DirectoryReplica({ serverKey: h.service.publicKey, now: () => T0 });
    expect(await client.sync(replica)).toBe('snapshot');
    await client.publishDescriptor(descriptorBytes(4));
    expect(await client.sync(replica)).toBe('diff');
    expect(replica.version).toBe(h.service.state.version);
    expect(replica.state!.nodeCount).toBe(4);
    const [local] = replica.find(routeQuery(1, 3, { minHops: 2, maxHops: 2 }));
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
    const h = await harness();
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
    const client = new RouteServerClient({
      baseUrl: 'http://127.0.0.1:9',
      fetch: fake,
      serverKey: h.service.publicKey,
    });
    await expect(
      client.route({ destination: { address: node(5).address } }, T0),
    ).rejects.toMatchObject({
      code: 'DIRECTORY_BAD_DESCRIPTOR',
    });
  });
});

// Nodes 1..6: 1–2–3 (fast) and 1–4–5–3, 6 linked to 2 and 3 only.
const LINKS: [number, number, number][] = [
  [1, 2, 100],
  [2, 3, 100],
  [1, 4, 500],
  [4, 5, 500],
  [5, 3, 500],
  [2, 6, 900],
  [6, 3, 900],
];

type Answer = {
  version: number;
  signature?: string;
  paths: { rttMicros: number; diverse: boolean; hops: { address: string; descriptor: string }[] }[];
};

describe('signed route answers', () => {
  const query: RouteQueryJSON = {
    destination: { address: node(3).address },
    minHops: 2,
    maxHops: 2,
  };

  /** A client of the real server through `tamper`, which sees and may change each query and answer. */
  let h: Harness;
  let url = '';
  function carried(
    tamper: (q: Record<string, unknown>, a: Answer) => { q?: Record<string, unknown>; a?: Answer },
    serverKey = h.service.publicKey,
  ) {
    const relay: typeof fetch = async (input, init) => {
      const sent = JSON.parse(String(init?.body)) as Record<string, unknown>;
      // Ask the real server once to get a genuine answer, then let the carrier act.
      const genuine = async (q: Record<string, unknown>) =>
        (await (
          await fetch(String(input), {
            method: 'POST',
            body: JSON.stringify(q),
            headers: { 'content-type': 'application/json' },
          })
        ).json()) as Answer;
      const first = tamper(sent, await genuine(sent));
      const answer = first.a ?? (await genuine(first.q ?? sent));
      return new Response(JSON.stringify(answer), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    };
    return new RouteServerClient({ baseUrl: url, fetch: relay, serverKey });
  }

  it('verify under the server key for the query asked; a carrier cannot choose, replay or re-ask', async () => {
    h = await harness();
    await populate(h.app, [1, 2, 3, 4, 5, 6], LINKS);
    url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = (i: number) => node(i).address;
    // Honest carrier: verified, with a fresh nonce each time.
    const nonces: string[] = [];
    const honest = carried((q) => {
      nonces.push(String(q.nonce));
      return {};
    });
    const [p] = await honest.route(query, T0);
    expect(p!.hops.map((x) => x.address)).toEqual([addr(2), addr(3)]);
    await honest.route(query, T0);
    expect(nonces).toHaveLength(2);
    expect(nonces[0]).not.toBe(nonces[1]);
    expect(fromBase64Url(nonces[0]!, 32)).toHaveLength(32);

    const refuse = async (c: RouteServerClient, q: RouteQueryJSON = query) =>
      expect(c.route(q, T0)).rejects.toMatchObject({ code: 'DIRECTORY_BAD_SIGNATURE' });
    // The carrier puts its own relays in (valid, self-signed descriptors), keeping the signature.
    const mine = { address: addr(6), descriptor: toBase64Url(descriptorBytes(6)) };
    await refuse(
      carried((_q, a) => ({
        a: { ...a, paths: a.paths.map((x) => ({ ...x, hops: [mine, x.hops.at(-1)!] })) },
      })),
    );
    // ... or signs its own answer with its own key.
    const carrierKey = Identity.generate();
    await refuse(
      carried((q, a) => {
        const hops = [
          { publicKey: node(6).publicKey, bytes: descriptorBytes(6) },
          { publicKey: node(3).publicKey, bytes: descriptorBytes(3) },
        ];
        const sig = signRouteAnswer(
          carrierKey,
          { queryDigest: routeQueryDigest(q), version: a.version },
          [{ rttMicros: 1, diverse: true, hops }],
        );
        return {
          a: {
            version: a.version,
            signature: toBase64Url(sig),
            paths: [{ rttMicros: 1, diverse: true, hops: [mine, a.paths[0]!.hops.at(-1)!] }],
          },
        };
      }),
    );
    // ... or changes a path's latency or diversity flag.
    await refuse(carried((_q, a) => ({ a: { ...a, paths: [{ ...a.paths[0]!, rttMicros: 1 }] } })));
    await refuse(
      carried((_q, a) => ({ a: { ...a, paths: [{ ...a.paths[0]!, diverse: false }] } })),
    );
    // ... or drops the signature, or sends the one of another version.
    await refuse(carried((_q, a) => ({ a: { ...a, signature: undefined } })));
    await refuse(carried((_q, a) => ({ a: { ...a, version: a.version - 1 } })));
    // ... or replays an earlier genuine answer to the same question (another nonce).
    let earlier: Answer | undefined;
    const replaying = carried((_q, a) => {
      if (!earlier) earlier = a;
      return { a: earlier };
    });
    await replaying.route(query, T0);
    await refuse(replaying);
    // ... or asks the server another question (exclusions dropped, so node 2 can be chosen).
    await refuse(
      carried((q) => ({ q: { ...q, exclude: [] } })),
      { ...query, exclude: [addr(2)] },
    );
    // A client trusting another key refuses the genuine answer.
    await refuse(carried(() => ({}), Identity.generate().publicKey));
    // The server refuses a malformed nonce.
    const bad = await h.app.inject({
      method: 'POST',
      url: '/v1/routes',
      payload: { ...query, nonce: 'short' },
    });
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'RS_MALFORMED']);
  });

  it('a client without the server key does not ask', async () => {
    let asked = 0;
    const client = new RouteServerClient({
      baseUrl: 'http://127.0.0.1:9',
      fetch: (async () => {
        asked++;
        return new Response('{}');
      }) as typeof fetch,
    });
    await expect(client.route(query, T0)).rejects.toMatchObject({
      code: 'DIRECTORY_WRONG_SERVER',
    });
    expect(asked).toBe(0);
  });
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
