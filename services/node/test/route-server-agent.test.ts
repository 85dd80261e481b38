/**
 * The route-server agent on its own, against a scripted route server (a
 * fetch answering from a signed directory made here): registration and
 * link reports (RTT from the link or a ping, rising sequence, registering
 * again when the server forgot the node, one run at a time), and where paths come from —
 * the server's first usable path, else the node's verified copy, else
 * random — with `ask: false` never asking; answers not signed by the
 * configured key for the query sent, or naming a node outside the copy,
 * are refused, and so are answers whose paths put two hops in one network
 * group while the copy has a path that does not; with `mesh` set, queries
 * and diffs never go direct; a copy the route server stopped vouching for
 * (old signed time) is flagged stale and a fresh snapshot is tried.
 */
import { Identity, toHex } from '@skymesh/crypto';
import { encodeDescriptor, signDescriptor, toBase64Url } from '@skymesh/protocol';
import {
  DirectoryState,
  encodeDiff,
  encodeSnapshot,
  keyHex,
  type LinkReport,
  routeQueryDigest,
  signRouteAnswer,
  verifyLinkReport,
} from '@skymesh/protocol/directory';
import { describe, expect, it } from 'vitest';
import { type NodeLogger, silentLogger } from '../src/log.js';
import {
  createRouteServerAgent,
  type PathAsk,
  type RouteServerAgent,
  type RouteServerSettings,
} from '../src/route-server/agent.js';

const serverSeed = new Uint8Array(32).fill(9);
const server = Identity.fromSeed(serverSeed);
// X is a valid node the route server's directory does not hold; R3 shares R2's /16,
// R4 (linked to nobody) shares S's.
const names = ['S', 'R1', 'R2', 'D', 'X', 'R3', 'R4'] as const;
const SHARED_HOST: Partial<Record<Name, string>> = { R3: '10.2.0.9', R4: '10.0.0.7' };
const hostOf = (n: Name, i: number) => SHARED_HOST[n] ?? `10.${i}.0.1`;
const listed = names.filter((n) => n !== 'X');
type Name = (typeof names)[number];
const ids = Object.fromEntries(
  names.map((n, i) => [n, Identity.fromSeed(new Uint8Array(32).fill(i + 1))]),
) as Record<Name, Identity>;
const desc = Object.fromEntries(
  names.map((n, i) => [
    n,
    encodeDescriptor(
      signDescriptor(
        {
          roles: { relay: true, exit: false },
          endpoints: [{ transport: 'ws', host: hostOf(n, i), port: 7000 }],
          pricePerMiB: 0n,
        },
        ids[n],
      ),
    ),
  ]),
) as Record<Name, Uint8Array>;

/** The directory: S–R1, R1–R2, R2–D, R1–D, R2–R3, R3–D confirmed (and X listed, when told). */
function directory(withX = false): DirectoryState {
  const s = new DirectoryState();
  for (const n of withX ? names : listed)
    s.putNode(
      signDescriptor(
        { roles: { relay: true, exit: false }, endpoints: [], pricePerMiB: 0n },
        ids[n],
      ),
      desc[n],
    );
  const k = (n: Name) => keyHex(ids[n].publicKey);
  s.putLink(k('S'), k('R1'), 1000, 100);
  s.putLink(k('R1'), k('R2'), 1000, 100);
  s.putLink(k('R2'), k('D'), 1000, 100);
  s.putLink(k('R1'), k('D'), 5000, 100);
  s.putLink(k('R2'), k('R3'), 1000, 100);
  s.putLink(k('R3'), k('D'), 1000, 100);
  s.commit();
  return s;
}
const snapshot = (issuedAt?: number) => encodeSnapshot(directory(), serverSeed, issuedAt);

/** A signed diff from the snapshot's version adding a link R1–X to a node the copy does not hold. */
function brokenDiff(): Uint8Array {
  const s = directory(true);
  const since = s.version;
  s.putLink(keyHex(ids.R1.publicKey), keyHex(ids.X.publicKey), 1000, 100);
  s.commit();
  return encodeDiff(s, since, serverSeed);
}

const pathJSON = (hops: Name[]) => ({
  rttMicros: 3000,
  diverse: true,
  hops: hops.map((h) => ({ address: ids[h].address, descriptor: toBase64Url(desc[h]) })),
});

/** A route answer to `query`, signed by `seed` (the route server's unless told). */
function answer(query: unknown, paths: Name[][], seed: Uint8Array = serverSeed) {
  const signature = signRouteAnswer(
    seed,
    { queryDigest: routeQueryDigest(query), version: 1 },
    paths.map((hops) => ({
      rttMicros: 3000,
      diverse: true,
      hops: hops.map((h) => ({ publicKey: ids[h].publicKey, bytes: desc[h] })),
    })),
  );
  return { version: 1, paths: paths.map(pathJSON), signature: toBase64Url(signature) };
}

interface Script {
  requests: string[];
  reports: LinkReport[];
  /** Answers to /v1/routes in turn: paths, signed by another key, or 'down' (the fetch rejects). */
  routes: (Name[][] | { signedBy: Uint8Array; paths: Name[][] } | 'down')[];
  /** Report answers: true = 422 DIRECTORY_UNKNOWN_NODE. */
  forgetOnce: boolean;
  /** Snapshot requests that fail (the fetch rejects) before one is served. */
  snapshotsDown?: number;
  /** Diff answers: 410 (default), a signed diff that does not fit the copy, or an empty one (nothing changed). */
  diff?: 'gone' | 'broken' | 'empty';
  /** Signed time (Unix seconds) of snapshots and empty diffs served. @default now */
  issuedAt?: number;
}

function scriptedFetch(script: Script): typeof fetch {
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  return (async (input: string | URL, init?: RequestInit) => {
    const path = new URL(String(input)).pathname;
    script.requests.push(path);
    const body = init?.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : {};
    switch (path) {
      case '/v1/descriptors':
        return json(200, { address: 'x', changed: true, heldUntil: 0, version: 1 });
      case '/v1/link-reports': {
        if (script.forgetOnce) {
          script.forgetOnce = false;
          return json(422, { error: { code: 'DIRECTORY_UNKNOWN_NODE', message: 'who?' } });
        }
        const bytes = Uint8Array.from(Buffer.from(String(body.report), 'base64url'));
        script.reports.push(verifyLinkReport(bytes));
        return json(200, { confirmed: 0, version: 1 });
      }
      case '/v1/snapshot':
        if ((script.snapshotsDown ?? 0) > 0) {
          script.snapshotsDown!--;
          throw new TypeError('fetch failed');
        }
        return new Response(snapshot(script.issuedAt), { status: 200 });
      case '/v1/diff':
        if (script.diff === 'broken') return new Response(brokenDiff(), { status: 200 });
        if (script.diff === 'empty') {
          const s = directory();
          return new Response(encodeDiff(s, s.version, serverSeed, script.issuedAt), {
            status: 200,
          });
        }
        return json(410, { error: { code: 'DIRECTORY_DIFF_UNAVAILABLE', message: 'gone' } });
      case '/v1/routes': {
        const next = script.routes.shift() ?? 'down';
        if (next === 'down') throw new TypeError('fetch failed');
        if (Array.isArray(next)) return json(200, answer(body, next));
        return json(200, answer(body, next.paths, next.signedBy));
      }
      default:
        return json(404, { error: { code: 'RS_NOT_FOUND', message: path } });
    }
  }) as typeof fetch;
}

/** The node publishing the route server on the mesh (in the mesh tests). */
const publisher = Identity.fromSeed(new Uint8Array(32).fill(42));

function agentWith(
  script: Script,
  extra: Partial<RouteServerSettings> = {},
  meshScript?: Script,
  logger: NodeLogger = silentLogger,
) {
  const added: number[] = [];
  const randomAsks: PathAsk[] = [];
  let pings = 0;
  // Bytes the link to R1 carried so far (tests raise it between reports).
  const carried = { r1: 0 };
  const idle = () => ({ bytesIn: 0, bytesOut: 0 });
  const agent = createRouteServerAgent(
    {
      key: server.publicKey,
      url: 'http://rs.test',
      fetch: scriptedFetch(script),
      ...(meshScript ? { mesh: { address: publisher.address, port: 8401 } } : {}),
      ...extra,
    },
    {
      identity: ids.S,
      resign: () =>
        signDescriptor(
          { roles: { relay: true, exit: false }, endpoints: [], pricePerMiB: 0n },
          ids.S,
        ),
      links: () => [
        {
          peerKey: ids.R1.publicKey,
          rttMs: 1.5,
          ping: async () => 99,
          stats: () => ({ bytesIn: carried.r1, bytesOut: 0 }),
        },
        {
          peerKey: ids.R2.publicKey,
          rttMs: undefined,
          ping: async () => {
            pings++;
            return 3;
          },
          stats: idle,
        },
        {
          peerKey: ids.D.publicKey,
          rttMs: undefined,
          ping: () => Promise.reject(new Error('closed')),
          stats: idle,
        },
      ],
      addDescriptors: (list) => added.push(list.length),
      ...(meshScript ? { meshFetch: scriptedFetch(meshScript) } : {}),
      randomPath: (ask) => {
        randomAsks.push(ask);
        return [{ publicKey: ask.destination }];
      },
      logger,
    },
  );
  return { agent, added, randomAsks, pings: () => pings, carried };
}

const newScript = (over: Partial<Script> = {}): Script => ({
  requests: [],
  reports: [],
  routes: [],
  forgetOnce: false,
  ...over,
});
const hexes = (hops: { publicKey: Uint8Array }[]) => hops.map((h) => toHex(h.publicKey));
const keysOf = (...n: Name[]) => n.map((x) => toHex(ids[x].publicKey));
const ask = (dest: Name | Uint8Array, exclude: Uint8Array[] = []): PathAsk => ({
  destination: dest instanceof Uint8Array ? dest : ids[dest].publicKey,
  hops: 3,
  exclude: [ids.S.publicKey, ...exclude],
});

/** The server's answer to D was refused for diversity and the copy's R1–R2–D (three /16s) taken instead. */
async function expectCopyPathAfterDiversityRefusal(agent: RouteServerAgent): Promise<void> {
  expect(hexes(await agent.choosePath(ask('D')))).toEqual(keysOf('R1', 'R2', 'D'));
  expect(agent.stats().lastError).toBe('route query: DIRECTORY_NOT_DIVERSE');
  expect(agent.stats().diversityRefused).toBe(1);
  expect(agent.stats().pathSources).toEqual({ server: 0, local: 1, random: 0 });
}

describe('route-server agent', () => {
  it('registers, reports measured links with a rising sequence, and registers again when forgotten', async () => {
    const script = newScript({ forgetOnce: true });
    const { agent, pings, carried } = agentWith(script);
    await agent.start();
    // R1's link carries 50 MiB before the next report (a few ms later).
    carried.r1 = 50 * 2 ** 20;
    await new Promise((r) => setTimeout(r, 20));
    // Two calls at once make one report (the second joins the first).
    await Promise.all([agent.report(), agent.report()]);
    agent.close();
    // start: publish, report (forgotten → publish, report), snapshot; then one more report.
    expect(script.requests).toEqual([
      '/v1/descriptors',
      '/v1/link-reports',
      '/v1/descriptors',
      '/v1/link-reports',
      '/v1/snapshot',
      '/v1/link-reports',
    ]);
    expect(script.reports).toHaveLength(2);
    const [first, second] = script.reports as [LinkReport, LinkReport];
    expect(second.sequence).toBeGreaterThan(first.sequence);
    expect(toHex(first.publicKey)).toBe(toHex(ids.S.publicKey));
    // R1 from its keepalive RTT, R2 from a ping; D answered no ping and is left out.
    const rtts = new Map(first.links.map((l) => [toHex(l.peer), l.rttMicros]));
    expect(rtts).toEqual(
      new Map([
        [toHex(ids.R1.publicKey), 1500],
        [toHex(ids.R2.publicKey), 3000],
      ]),
    );
    expect(pings()).toBe(2);
    // Capacity: the configured 10 MiB/s until a link is seen carrying more.
    const caps = (r: LinkReport) => r.links.map((l) => l.capacity);
    expect(caps(first)).toEqual([10_240, 10_240]);
    const [r1, r2] = caps(second) as [number, number];
    const [a, b] = toHex(ids.R1.publicKey) < toHex(ids.R2.publicKey) ? [r1, r2] : [r2, r1];
    expect(a).toBeGreaterThan(10_240); // ≥ 50 MiB in < 1 s
    expect(b).toBe(10_240);
    expect(agent.stats()).toMatchObject({ published: 2, reports: 2, snapshots: 1, failures: 0 });
  });

  it("takes the server's first path without itself, else its copy, else random", async () => {
    const script = newScript({
      routes: [
        [
          ['S', 'R2', 'D'],
          ['R1', 'R2', 'D'],
        ],
        [['S', 'R1', 'D']],
        'down',
      ],
    });
    const { agent, added, randomAsks } = agentWith(script);
    await agent.start();
    agent.close();
    expect(hexes(await agent.choosePath(ask('D')))).toEqual(keysOf('R1', 'R2', 'D'));
    expect(added.at(-1)).toBe(3); // the answer's descriptors went to the node's directory
    // Only a path through the asker: the copy answers (S is source, never a hop).
    const local = hexes(await agent.choosePath(ask('D')));
    expect(local).toHaveLength(3);
    expect(local.at(-1)).toBe(keysOf('D')[0]);
    expect(local).not.toContain(keysOf('S')[0]);
    // Server down: the copy again, and the failure is counted.
    const localBefore = agent.stats().pathSources.local;
    expect(hexes(await agent.choosePath(ask('D'))).at(-1)).toBe(keysOf('D')[0]);
    expect(agent.stats().pathSources.local).toBe(localBefore + 1);
    // A destination the copy does not hold: random.
    const stranger = Identity.generate().publicKey;
    await agent.choosePath(ask(stranger));
    expect(randomAsks.map((a) => toHex(a.destination))).toEqual([toHex(stranger)]);
    const st = agent.stats();
    expect(st.pathSources.server).toBe(1);
    expect(st.pathSources.random).toBe(1);
    expect(st.failures).toBeGreaterThanOrEqual(1);
    expect(st.lastError).toMatch(/^route query: /);
    expect(st.queries.direct).toBe(script.requests.filter((p) => p === '/v1/routes').length);
  });

  it('with ask: false never asks, and chooses the lowest-latency path of its copy', async () => {
    const script = newScript();
    const { agent } = agentWith(script, { ask: false });
    await agent.start();
    agent.close();
    // 3-hop paths to D in the copy: R1–R2–D costs 3 ms (S's own confirmed link to R1
    // included), R2–R1–D 156 ms (no link S–R2: the unknown first-hop cost): latency
    // decides, every time (far outside the randomisation band).
    for (let i = 0; i < 5; i++) {
      expect(hexes(await agent.choosePath(ask('D')))).toEqual(keysOf('R1', 'R2', 'D'));
    }
    expect(script.requests).not.toContain('/v1/routes');
    expect(agent.stats().pathSources).toEqual({ server: 0, local: 5, random: 0 });
  });

  it('refuses answers not signed by its route server, or naming a node outside its copy', async () => {
    const script = newScript({
      routes: [
        // A carrier's answer: its own relays, signed with its own key.
        { signedBy: new Uint8Array(32).fill(7), paths: [['R2', 'R1', 'D']] },
        // Signed by the route server, but through X, which the verified copy does not hold.
        [['X', 'R2', 'D']],
        [['R1', 'R2', 'D']],
      ],
    });
    const { agent, added } = agentWith(script);
    await agent.start();
    agent.close();
    const fed = added.length;
    for (const code of ['DIRECTORY_BAD_SIGNATURE', 'DIRECTORY_UNKNOWN_NODE']) {
      const p = hexes(await agent.choosePath(ask('D')));
      // From the copy: never the refused path, never X.
      expect(p).not.toContain(keysOf('X')[0]);
      expect(agent.stats().lastError).toBe(`route query: ${code}`);
    }
    expect(added.length).toBe(fed); // refused answers' descriptors are not taken in
    expect(agent.stats().pathSources).toEqual({ server: 0, local: 2, random: 0 });
    // A genuine answer for the query sent is taken.
    expect(hexes(await agent.choosePath(ask('D')))).toEqual(keysOf('R1', 'R2', 'D'));
    expect(agent.stats().pathSources.server).toBe(1);
  });

  it('with mesh set, never queries nor diffs directly: random paths until a snapshot loads', async () => {
    // The direct route server is unreachable for the first snapshot.
    const direct = newScript({ snapshotsDown: 1 });
    const mesh = newScript({ routes: [[['R1', 'R2', 'D']]], diff: 'gone' });
    const { agent, randomAsks } = agentWith(direct, {}, mesh);
    await agent.start();
    agent.close();
    expect(agent.stats().version).toBeNull();
    // No copy: a random path, and no query at all (neither direct nor over the mesh).
    await agent.choosePath(ask('D'));
    expect(randomAsks).toHaveLength(1);
    expect(agent.stats().queries).toEqual({ mesh: 0, direct: 0 });
    // The snapshot loads (directly): queries and diffs now go over the mesh.
    await agent.sync();
    expect(agent.stats().version).not.toBeNull();
    expect(hexes(await agent.choosePath(ask('D')))).toEqual(keysOf('R1', 'R2', 'D'));
    expect(agent.stats().queries).toEqual({ mesh: 1, direct: 0 });
    // A diff that does not fit drops the copy, and the mesh snapshot after it fails.
    mesh.diff = 'broken';
    mesh.snapshotsDown = 1;
    await expect(agent.sync()).rejects.toThrow('fetch failed');
    expect(agent.stats().version).toBeNull();
    expect(mesh.requests.slice(-2)).toEqual(['/v1/diff', '/v1/snapshot']);
    await agent.choosePath(ask('D'));
    expect(randomAsks).toHaveLength(2);
    expect(agent.stats().queries).toEqual({ mesh: 1, direct: 0 });
    // Without a copy the next sync takes a snapshot directly, never a diff.
    await agent.sync();
    expect(agent.stats().version).not.toBeNull();
    expect(direct.requests.filter((r) => r === '/v1/snapshot')).toHaveLength(3);
    expect(direct.requests).not.toContain('/v1/routes');
    expect(direct.requests).not.toContain('/v1/diff');
    expect(agent.stats().pathSources).toEqual({ server: 1, local: 0, random: 2 });
  });

  it('refuses a path putting two hops in one /16 when its copy has a diverse one', async () => {
    const script = newScript({
      routes: [
        // Signed by the route server, but R2 and R3 share 10.2/16 (the answer calls it diverse).
        [['R2', 'R3', 'D']],
        // Without R1 the copy has no diverse path either: the same kind of path is taken.
        [['R2', 'R3', 'D']],
      ],
    });
    const { agent } = agentWith(script);
    await agent.start();
    agent.close();
    // The copy's own choice instead: R1–R2–D (three /16s).
    await expectCopyPathAfterDiversityRefusal(agent);
    expect(hexes(await agent.choosePath(ask('D', [ids.R1.publicKey])))).toEqual(
      keysOf('R2', 'R3', 'D'),
    );
    expect(agent.stats().diversityRefused).toBe(1);
    expect(agent.stats().pathSources).toEqual({ server: 1, local: 1, random: 0 });
  });

  it("counts its own /16: refuses a path entering through a relay in the node's network group", async () => {
    // Signed, and diverse among its hops, but R4 shares S's 10.0/16: the server never learns the asker.
    const script = newScript({ routes: [[['R4', 'R2', 'D']]] });
    const { agent } = agentWith(script);
    await agent.start();
    agent.close();
    await expectCopyPathAfterDiversityRefusal(agent);
  });

  it('with a short sync interval, the default staleness bound still covers the server re-signing every 60 s', async () => {
    // A quiet directory a minute old is current, not stale, at 5 s syncs (4 × 5 s would flap).
    const script = newScript({ diff: 'empty', issuedAt: Math.floor(Date.now() / 1000) - 59 });
    const { agent } = agentWith(script, { syncIntervalMs: 5_000 });
    await agent.start();
    await agent.sync();
    expect(agent.stats().staleness).toMatchObject({
      stale: false,
      staleAfterMs: 70_000,
      episodes: 0,
      freshSnapshots: { tried: 0, failed: 0 },
    });
    agent.close();
  });

  it('flags a copy its route server stopped vouching for, once, and tries a fresh snapshot', async () => {
    const warnings: string[] = [];
    const logger: NodeLogger = {
      ...silentLogger,
      warn: (_o, msg) => void warnings.push(msg ?? ''),
    };
    // A frozen route server: every snapshot and diff it serves was signed an hour ago.
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    const script = newScript({ diff: 'empty', issuedAt: hourAgo });
    const { agent } = agentWith(script, { syncIntervalMs: 30_000 }, undefined, logger);
    await agent.start();
    await agent.sync();
    const st = agent.stats().staleness;
    expect(st.stale).toBe(true);
    // max(4 × 30 s, 60 s re-signing + 2 × 30 s)
    expect(st.staleAfterMs).toBe(120_000);
    expect(st.copyAgeMs).toBeGreaterThanOrEqual(3600_000);
    expect(st.episodes).toBe(1);
    // One fresh snapshot (at most one per staleAfterMs, though two syncs ran); it brought
    // nothing newer: the copy is kept.
    expect(st.freshSnapshots).toEqual({ tried: 1, failed: 1 });
    expect(script.requests.filter((r) => r === '/v1/snapshot')).toHaveLength(2);
    expect(agent.stats().version).not.toBeNull();
    expect(warnings).toHaveLength(2); // stale, keeping it: once for the episode
    // The server signs again (an empty diff now): current, without another snapshot.
    script.issuedAt = undefined;
    await agent.sync();
    expect(agent.stats().staleness).toMatchObject({ stale: false, episodes: 1 });
    expect(script.requests.filter((r) => r === '/v1/snapshot')).toHaveLength(2);
    agent.close();
  });

  it('with mesh set, fetches the fresh snapshot of a stale copy over the mesh only', async () => {
    // The bootstrap snapshot (direct) was signed 10 minutes ago; the mesh is down for one snapshot.
    const direct = newScript({ issuedAt: Math.floor(Date.now() / 1000) - 600 });
    const mesh = newScript({ diff: 'gone', snapshotsDown: 1 });
    const { agent } = agentWith(direct, { staleAfterMs: 60_000 }, mesh);
    await agent.start();
    // Stale at once; the fresh snapshot over the mesh failed: the stale copy is kept and used.
    expect(agent.stats().staleness).toMatchObject({
      stale: true,
      episodes: 1,
      freshSnapshots: { tried: 1, failed: 1 },
    });
    expect(agent.stats().version).not.toBeNull();
    expect(agent.stats().lastError).toBe('fresh snapshot: TypeError: fetch failed');
    expect(mesh.requests).toEqual(['/v1/snapshot']);
    // The next sync: no diff (410), a snapshot over the mesh signed now: current again.
    await agent.sync();
    expect(agent.stats().staleness).toMatchObject({ stale: false, episodes: 1 });
    expect(mesh.requests).toEqual(['/v1/snapshot', '/v1/diff', '/v1/snapshot']);
    // Only the bootstrap snapshot ever went direct.
    expect(
      direct.requests.filter(
        (r) => r.startsWith('/v1/') && r !== '/v1/descriptors' && r !== '/v1/link-reports',
      ),
    ).toEqual(['/v1/snapshot']);
    agent.close();
  });
});
