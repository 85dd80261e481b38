/**
 * Route finding: latency ordering, near-best randomisation, node-disjoint
 * paths, exclusions, exits, network diversity, expiry and query errors; and
 * against a brute force on a synthetic directory.
 */
import { encodeAddress, Identity } from '@skymesh/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signDescriptor } from '../src/descriptor/index.js';
import {
  DirectoryState,
  findRoutes,
  keyedRandom,
  keyHex,
  nodeGroups,
  RouteGraph,
  type RoutePath,
  seededRandom,
  syntheticDirectory,
  syntheticSeed,
} from '../src/directory/index.js';
import { runs, thrown } from './_fuzz.js';

const T = 1_800_000_000;
const code = (fn: () => unknown) => (thrown(fn) as { code?: string } | undefined)?.code;

interface Spec {
  ip: string;
  relay?: boolean;
  exitPorts?: number[];
  expiresAt?: number;
}

// Named nodes with given IPs, and links with given RTTs.
function build(specs: Record<string, Spec>, links: [string, string, number][]) {
  const state = new DirectoryState();
  const id: Record<string, Identity> = {};
  const key: Record<string, string> = {};
  let n = 0;
  for (const [name, s] of Object.entries(specs)) {
    const ident = Identity.fromSeed(syntheticSeed(3, n++));
    id[name] = ident;
    key[name] = keyHex(ident.publicKey);
    const exit = (s.exitPorts ?? []).length > 0;
    state.putNode(
      signDescriptor(
        {
          roles: { relay: s.relay ?? true, exit },
          endpoints: [{ transport: 'ws', host: s.ip, port: 443 }],
          pricePerMiB: 1n,
          exitPolicy: exit
            ? { ports: s.exitPorts!.map((p) => ({ from: p, to: p })), hosts: ['*'] }
            : undefined,
          issuedAt: T,
          expiresAt: s.expiresAt ?? T + 86_400,
        },
        ident,
      ),
    );
  }
  for (const [a, b, rtt] of links) state.putLink(key[a]!, key[b]!, rtt, 1000);
  state.commit();
  const name = (k: string) => Object.keys(key).find((x) => key[x] === k)!;
  const names = (p: RoutePath) => p.hops.map((h) => name(h.key));
  return { state, graph: RouteGraph.from(state), addr: (x: string) => id[x]!.address, names };
}

// S — R1..R6 — D, three disjoint ways of 3000, 4000 and 6500 µs, and a crossing R1–R5.
const specs: Record<string, Spec> = {
  S: { ip: '10.1.0.1' },
  R1: { ip: '10.2.0.1' },
  R2: { ip: '10.3.0.1' },
  R3: { ip: '10.4.0.1' },
  R4: { ip: '10.5.0.1' },
  R5: { ip: '10.6.0.1' },
  R6: { ip: '10.7.0.1' },
  D: { ip: '10.8.0.1', relay: false },
};
const links: [string, string, number][] = [
  ['S', 'R1', 1000],
  ['S', 'R2', 2000],
  ['S', 'R3', 5000],
  ['R1', 'R4', 1000],
  ['R4', 'D', 1000],
  ['R2', 'R5', 1000],
  ['R5', 'D', 1000],
  ['R3', 'R6', 1000],
  ['R6', 'D', 500],
  ['R1', 'R5', 3000],
];

describe('route finding', () => {
  const g = build(specs, links);
  const q = (extra: object = {}) => ({
    source: g.addr('S'),
    destination: { address: g.addr('D') },
    now: T,
    spread: 0,
    ...extra,
  });

  it('returns the cheapest path by latency when not randomised', () => {
    const [p] = g.graph.find(q());
    expect(g.names(p!)).toEqual(['R1', 'R4', 'D']);
    expect(p!.rttMicros).toBe(3000);
    expect(p!.diverse).toBe(true);
  });

  it('returns k node-disjoint paths, cheapest first', () => {
    const ps = g.graph.find(q({ k: 3 }));
    expect(ps.map(g.names)).toEqual([
      ['R1', 'R4', 'D'],
      ['R2', 'R5', 'D'],
      ['R3', 'R6', 'D'],
    ]);
    expect(ps.map((p) => p.rttMicros)).toEqual([3000, 4000, 6500]);
    const inner = ps.flatMap((p) => p.hops.slice(0, -1).map((h) => h.key));
    expect(new Set(inner).size).toBe(inner.length);
    // Only three disjoint ways exist.
    expect(g.graph.find(q({ k: 5 }))).toHaveLength(3);
  });

  it('randomises within the near-best band only', () => {
    const seen = new Map<string, number>();
    const random = seededRandom(5);
    for (let i = 0; i < 200; i++) {
      const [p] = g.graph.find(q({ spread: 0.5, random }));
      expect(p!.rttMicros).toBeLessThanOrEqual(3000 * 1.5);
      const k = g.names(p!).join('>');
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    // 3000 (R1 R4) and 4000 (R2 R5) are in the band; 5000 (R1 R5) and 6500 are not.
    expect([...seen.keys()].sort()).toEqual(['R1>R4>D', 'R2>R5>D']);
  });

  it('keyedRandom: the ChaCha20 keystream of the seed as [0, 1) numbers, the same for the same seed', () => {
    // RFC 8439 A.1 test vectors 1 and 2: all-zero key and nonce, blocks 0 and 1.
    const zero = keyedRandom(new Uint8Array(32));
    const first = Array.from({ length: 80 }, zero);
    expect(first[0]! * 2 ** 32).toBe(0x76b8e0ad);
    expect(first[1]! * 2 ** 32).toBe(0xa0f13d90);
    expect(first[16]! * 2 ** 32).toBe(0x9f07e7be);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
    // Past the first buffered 256 bytes too.
    const again = keyedRandom(new Uint8Array(32));
    expect(Array.from({ length: 80 }, again)).toEqual(first);
    const other = new Uint8Array(32);
    other[31] = 1;
    expect(Array.from({ length: 80 }, keyedRandom(other))).not.toEqual(first);
    // Same seed, same paths.
    const seed = new Uint8Array(32).fill(9);
    const a = g.graph.find(q({ spread: 0.5, k: 2, random: keyedRandom(seed) }));
    const b = g.graph.find(q({ spread: 0.5, k: 2, random: keyedRandom(seed) }));
    expect(b.map(g.names)).toEqual(a.map(g.names));
    expect(code(() => keyedRandom(new Uint8Array(16)))).toBe('CRYPTO_BAD_LENGTH');
  });

  it('never uses excluded or expired nodes', () => {
    const [p] = g.graph.find(q({ exclude: [g.addr('R4')] }));
    expect(g.names(p!)).toEqual(['R2', 'R5', 'D']);
    const e = build({ ...specs, R4: { ip: '10.5.0.1', expiresAt: T + 10 } }, links);
    const [p2] = e.graph.find({
      ...q(),
      source: e.addr('S'),
      destination: { address: e.addr('D') },
      now: T + 10,
    });
    expect(e.names(p2!)).toEqual(['R2', 'R5', 'D']);
  });

  it('keeps hops of one path in distinct network groups where possible', () => {
    const same = build({ ...specs, R4: { ip: '10.2.9.9' } }, links); // R4 in R1's /16
    const [p] = same.graph.find({
      ...q(),
      source: same.addr('S'),
      destination: { address: same.addr('D') },
    });
    expect(same.names(p!)).toEqual(['R2', 'R5', 'D']);
    expect(p!.diverse).toBe(true);
    // When every path breaks the policy, the cheapest one comes back marked.
    const only = build(
      {
        S: { ip: '10.1.0.1' },
        A: { ip: '10.2.0.1' },
        B: { ip: '10.2.0.2' },
        D: { ip: '10.9.0.1' },
      },
      [
        ['S', 'A', 10],
        ['A', 'B', 10],
        ['B', 'D', 10],
      ],
    );
    const [p2] = only.graph.find({
      source: only.addr('S'),
      destination: { address: only.addr('D') },
      now: T,
    });
    expect(only.names(p2!)).toEqual(['A', 'B', 'D']);
    expect(p2!.diverse).toBe(false);
  });

  it('ends at an exit allowing the port, and honours hop bounds', () => {
    const x = build(
      {
        ...specs,
        E443: { ip: '10.10.0.1', exitPorts: [443] },
        E80: { ip: '10.11.0.1', exitPorts: [80] },
      },
      [...links, ['R4', 'E80', 10], ['R4', 'E443', 900], ['R5', 'E443', 100]],
    );
    const base = { source: x.addr('S'), now: T, spread: 0 };
    const [p] = x.graph.find({
      ...base,
      destination: { exit: { host: 'example.com', port: 443 } },
    });
    expect(x.names(p!)).toEqual(['R1', 'R4', 'E443']);
    const [p80] = x.graph.find({
      ...base,
      destination: { exit: { host: 'example.com', port: 80 } },
    });
    expect(x.names(p80!).at(-1)).toBe('E80');
    const [two] = x.graph.find({
      ...base,
      destination: { exit: { host: 'example.com', port: 443 } },
      minHops: 2,
      maxHops: 2,
    });
    // No link from S to a neighbour of E443: the first hop costs unknownRttMicros (150 ms).
    expect(x.names(two!)).toEqual(['R5', 'E443']);
    expect(two!.rttMicros).toBe(150_100);
    expect(
      code(() => x.graph.find({ ...base, destination: { exit: { host: 'a.b', port: 22 } } })),
    ).toBe('DIRECTORY_NO_ROUTE');
  });

  it('works without a source (first hop at no cost)', () => {
    const [p] = g.graph.find({ destination: { address: g.addr('D') }, now: T, spread: 0 });
    expect(p!.rttMicros).toBe(1500); // R3 → R6 → D
    expect(g.names(p!)).toEqual(['R3', 'R6', 'D']);
  });

  it('refuses malformed queries with DIRECTORY_BAD_QUERY and unknown destinations with NO_ROUTE', () => {
    const d = { address: g.addr('D') };
    for (const bad of [
      { destination: d, k: 0 },
      { destination: d, k: 99 },
      { destination: d, minHops: 4, maxHops: 3 },
      { destination: d, minHops: 0 },
      { destination: d, maxHops: 9 },
      { destination: d, spread: -1 },
      { destination: { address: 'nope' } },
      { destination: {} },
      { destination: { exit: { host: '', port: 80 } } },
      { destination: { exit: { host: 'x', port: 0 } } },
      { destination: d, exclude: ['bad'] },
      { destination: d, source: 42 },
    ]) {
      expect(code(() => g.graph.find(bad as never))).toBe('DIRECTORY_BAD_QUERY');
    }
    const stranger = encodeAddress(Identity.fromSeed(syntheticSeed(4, 1)).publicKey);
    expect(code(() => g.graph.find({ destination: { address: stranger } }))).toBe(
      'DIRECTORY_NO_ROUTE',
    );
  });
});

describe('route finding on a synthetic directory', () => {
  const syn = syntheticDirectory({ nodes: 150, links: 900, seed: 11, issuedAt: T });
  const graph = RouteGraph.from(syn.state);
  const st = syn.state;
  const groups = new Map([...st.nodes()].map((n) => [n.key, nodeGroups(n.desc)]));
  const clash = (xs: string[]) => {
    const all = xs.flatMap((x) => groups.get(x)!);
    return new Set(all).size !== all.length;
  };

  // Cheapest 3-hop path source → h1 → h2 → dest by enumeration.
  function brute(s: string, d: string, diverse: boolean): number {
    let best = Number.POSITIVE_INFINITY;
    for (const h1 of st.nodes()) {
      if (h1.key === s || h1.key === d) continue;
      const first = st.link(s, h1.key)?.rttMicros ?? 150_000;
      for (const [h2, l12] of st.neighbours(h1.key) ?? []) {
        if (h2 === s || h2 === d) continue;
        const l2d = st.link(h2, d);
        if (!l2d) continue;
        if (diverse && clash([s, h1.key, h2, d])) continue;
        best = Math.min(best, first + l12.rttMicros + l2d.rttMicros);
      }
    }
    return best;
  }

  it('finds the same cheapest cost as a brute force, and stays in the band when randomised', () => {
    fc.assert(
      fc.property(fc.nat(149), fc.nat(149), fc.integer({ min: 1, max: 1000 }), (a, b, seed) => {
        fc.pre(a !== b);
        const s = syn.publicKeys[a]!;
        const d = syn.publicKeys[b]!;
        const [sk, dk] = [keyHex(s), keyHex(d)];
        let want = brute(sk, dk, true);
        let diverse = true;
        if (want === Number.POSITIVE_INFINITY) {
          want = brute(sk, dk, false);
          diverse = false;
        }
        const query = { source: s, destination: { address: d }, now: T };
        if (want === Number.POSITIVE_INFINITY) {
          expect(code(() => graph.find({ ...query, spread: 0 }))).toBe('DIRECTORY_NO_ROUTE');
          return;
        }
        const [p] = graph.find({ ...query, spread: 0 });
        expect(p!.rttMicros).toBe(want);
        expect(p!.diverse).toBe(diverse);
        const [r] = graph.find({ ...query, spread: 0.3, random: seededRandom(seed) });
        expect(r!.rttMicros).toBeLessThanOrEqual(want * 1.3);
        expect(r!.rttMicros).toBeGreaterThanOrEqual(want);
      }),
      { numRuns: runs(60) },
    );
  });

  it('the widest query (k = 8 over 1..8 hops) stays bounded and well-formed', () => {
    const ps = graph.find({
      destination: { exit: { host: 'example.org', port: 443 } },
      minHops: 1,
      maxHops: 8,
      k: 8,
      now: T,
    });
    expect(ps.length).toBeGreaterThan(0);
    expect(ps.length).toBeLessThanOrEqual(8);
    const all = ps.flatMap((p) => p.hops.map((h) => h.key));
    expect(new Set(all).size).toBe(all.length);
    for (const p of ps) expect(p.hops.length).toBeLessThanOrEqual(8);
  });

  it('k paths are node-disjoint and each path is simple', () => {
    for (let i = 0; i < 20; i++) {
      const ps = findRoutes(st, {
        source: syn.publicKeys[i]!,
        destination: { exit: { host: 'example.org', port: 80 } },
        k: 3,
        now: T,
      });
      const all = ps.flatMap((p) => p.hops.map((h) => h.key));
      expect(new Set(all).size).toBe(all.length);
      for (const p of ps) {
        expect(p.hops.at(-1)!.desc.roles.exit).toBe(true);
        expect(p.hops).toHaveLength(3);
        let cost = st.link(keyHex(syn.publicKeys[i]!), p.hops[0]!.key)?.rttMicros ?? 150_000;
        for (let h = 1; h < p.hops.length; h++) {
          cost += st.link(p.hops[h - 1]!.key, p.hops[h]!.key)!.rttMicros;
        }
        expect(cost).toBe(p.rttMicros);
      }
    }
  });
});
