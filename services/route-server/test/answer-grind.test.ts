/**
 * Signed route answers cannot be re-rolled: the server draws an answer's
 * randomisation from its secret, the query digest (nonce included) and the
 * version, so re-sending one query body gets byte-identical paths, while
 * another nonce draws afresh. A carrier re-asking a node's query until the
 * path enters through its relay gets the same answer every time.
 */
import { toBase64Url } from '@skymesh/protocol';
import { type RouteQueryJSON, RouteServerClient } from '@skymesh/protocol/directory';
import { describe, expect, it } from 'vitest';
import { type Harness, harness, node, populate, T0 } from './_harness.js';

let h: Harness;

// Four ways into 3 (via 2, 4, 5 or 6), all within the default 0.2 band.
const LINKS: [number, number, number][] = [
  [2, 3, 100],
  [4, 3, 104],
  [5, 3, 108],
  [6, 3, 112],
];
const nonceOf = (i: number) => toBase64Url(new Uint8Array(32).fill(i));
const body = (i: number) => ({
  destination: { address: node(3).address },
  minHops: 2,
  maxHops: 2,
  k: 1,
  nonce: nonceOf(i),
});
interface Answer {
  version: number;
  paths: { rttMicros: number; hops: { address: string }[] }[];
  signature: string;
}
const ask = async (payload: object): Promise<Answer> => {
  const r = await h.app.inject({ method: 'POST', url: '/v1/routes', payload });
  expect(r.statusCode).toBe(200);
  return r.json() as Answer;
};
const firstHop = (a: Answer) => a.paths[0]!.hops[0]!.address;

describe('route answers are a function of the query and version', () => {
  it('re-posting one query body returns byte-identical paths and signature', async () => {
    h = await harness();
    await populate(h.app, [2, 3, 4, 5, 6], LINKS);
    const first = await ask(body(1));
    for (let i = 0; i < 24; i++) expect(await ask(body(1))).toEqual(first);
    // Without a nonce too: the digest is the same, so is the answer.
    const bare = { destination: { address: node(3).address }, minHops: 2, maxHops: 2 };
    const b = await ask(bare);
    for (let i = 0; i < 8; i++) expect(await ask(bare)).toEqual(b);
  });

  it('different nonces still draw every path in the band', async () => {
    h = await harness();
    await populate(h.app, [2, 3, 4, 5, 6], LINKS);
    const seen = new Map<string, number>();
    for (let i = 0; i < 80; i++) {
      const a = await ask(body(i));
      expect(a.paths[0]!.rttMicros).toBeLessThanOrEqual(120);
      seen.set(firstHop(a), (seen.get(firstHop(a)) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual([2, 4, 5, 6].map((i) => node(i).address).sort());
    // No way takes most of them (each has 1/4 in expectation).
    expect(Math.max(...seen.values())).toBeLessThan(45);
  });

  it('a new version from an unrelated node does not re-roll a held query', async () => {
    h = await harness();
    await populate(h.app, [2, 3, 4, 5, 6], LINKS);
    const before = await Promise.all(Array.from({ length: 24 }, (_, i) => ask(body(i))));
    // Node 7 joins behind 2 (a carrier could publish such a report itself).
    await populate(h.app, [7], [[7, 2, 50]], { seq: 1 });
    await populate(h.app, [2], [...LINKS.slice(0, 1), [7, 2, 50]], { seq: 2 });
    const after = await Promise.all(Array.from({ length: 24 }, (_, i) => ask(body(i))));
    expect(after[0]!.version).toBeGreaterThan(before[0]!.version);
    expect(after.map((a) => a.paths)).toEqual(before.map((a) => a.paths));
  });

  it('another server key draws differently for the same query', async () => {
    h = await harness();
    await populate(h.app, [2, 3, 4, 5, 6], LINKS);
    const mine = await Promise.all(Array.from({ length: 24 }, (_, i) => ask(body(i))));
    await h.app.close();
    h = await harness({ key: new Uint8Array(32).fill(42) });
    await populate(h.app, [2, 3, 4, 5, 6], LINKS);
    const theirs = await Promise.all(Array.from({ length: 24 }, (_, i) => ask(body(i))));
    expect(theirs.map((a) => a.version)).toEqual(mine.map((a) => a.version));
    expect(theirs.map(firstHop)).not.toEqual(mine.map(firstHop));
  });

  it('a carrier re-sending the asker’s query cannot change the path it gets', async () => {
    h = await harness();
    await populate(h.app, [2, 3, 4, 5, 6], LINKS);
    const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const wanted = node(6).address;
    let resent = 0;
    let changed = 0;
    let firstWanted = 0;
    // The carrier re-sends the exact body (same nonce) up to 12 times,
    // forwarding the first answer entering through its relay (node 6).
    const carrier: typeof fetch = async (input, init) => {
      if (!String(input).endsWith('/v1/routes')) return fetch(input, init);
      let firstText: string | null = null;
      let text = '';
      for (let n = 0; n < 12; n++) {
        const r = await fetch(input, { ...init, signal: null });
        text = await r.text();
        if (firstText === null) {
          firstText = text;
          if (firstHop(JSON.parse(text) as Answer) === wanted) firstWanted++;
        } else {
          resent++;
          if (text !== firstText) changed++;
        }
        if (firstHop(JSON.parse(text) as Answer) === wanted) break;
      }
      return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const client = new RouteServerClient({
      baseUrl: url,
      fetch: carrier,
      serverKey: h.service.publicKey,
    });
    const query: RouteQueryJSON = {
      destination: { address: node(3).address },
      minHops: 2,
      maxHops: 2,
    };
    let got = 0;
    for (let i = 0; i < 20; i++) {
      const [p] = await client.route(query, T0);
      if (p!.hops[0]!.address === wanted) got++;
    }
    expect(resent).toBeGreaterThan(0);
    expect(changed).toBe(0);
    // What the asker gets through the carrier is what the server first answered.
    expect(got).toBe(firstWanted);
    expect(got).toBeLessThan(20);
  });
});
