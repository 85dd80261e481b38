/**
 * A node's side of the route server (docs/route-server.md, docs/node.md
 * §Route server):
 *
 * - registers: publishes its signed descriptor, re-signed every
 *   `publishIntervalMs` so the server's TTL keeps it listed;
 * - reports its links: every `reportIntervalMs` a signed link report with
 *   each open link's measured round trip (keepalive RTT, or a ping when
 *   none is known yet) and its capacity: the most it was seen to carry
 *   (bytes both ways per second over a report period, the peak of the
 *   last ten periods), never less than the configured `linkCapacity`;
 * - keeps a verified copy of the directory (DirectoryReplica): one snapshot
 *   at start (bootstrap), then diffs every `syncIntervalMs`; the copy's
 *   descriptors feed the node's own directory so it can dial every hop;
 * - chooses paths: asks the route server (k disjoint latency-aware paths,
 *   without naming itself as source) and takes one without itself, after
 *   checking the answer's signature under `key` (bound to the query and a
 *   fresh nonce: whoever carries the query cannot choose the path) and that
 *   every hop is in the verified copy, and re-checking the diversity policy
 *   (netgroup.ts pathDiverse) on the copy's descriptors: a path breaking it
 *   is refused when the copy has one that keeps it; when the server cannot be reached,
 *   answers an error or an answer fails a check, it picks from its copy
 *   with the same route finding (`pathSources.local`), and only when the copy
 *   has no path either, at random among known relays (`pathSources.random`).
 *
 * Staleness: the copy's age is the time since the route server last signed a
 * snapshot or diff that brought or confirmed it (DirectoryReplica.issuedAt);
 * past `staleAfterMs` the copy is stale (stats().staleness, one warning per
 * episode) and a sync tries a fresh snapshot, at most once per
 * `staleAfterMs` (over the mesh when `mesh` is set, never directly),
 * keeping the stale copy when none comes.
 *
 * Transport: `url` is the route server reached directly (bootstrap,
 * publishing); `mesh` is the route server published as a .mesh service by
 * some node. With `mesh`, diffs and route queries go through the mesh only
 * (a multi-hop route to the publishing node, which connects to the server),
 * never directly, so the server sees the publisher's connection, not this
 * node's. Only snapshots (the same bytes for every node) are fetched from
 * `url`, and only while the node holds no copy; until one loads, no query
 * is sent at all and paths are random. Paths to the publisher itself are
 * chosen locally, never asked for.
 */
import { encodeAddress, type Identity, parseAddress, SkymeshError, toHex } from '@skymesh/crypto';
import { encodeDescriptor, type NodeDescriptor } from '@skymesh/protocol';
import {
  DirectoryError,
  DirectoryReplica,
  encodeLinkReport,
  MAX_EXCLUDE,
  MAX_LINKS_PER_REPORT,
  MAX_RTT_MICROS,
  pathDiverse,
  RouteServerClient,
  signLinkReport,
} from '@skymesh/protocol/directory';
import type { NodeLogger } from '../log.js';
import type { PathHop } from '../route/index.js';

/** How a node reaches its route server (the `routeServer` config section). */
export interface RouteServerSettings {
  /** The route server's (or the mirror's) Ed25519 public key: snapshots, diffs and route answers must be signed by it. */
  readonly key: Uint8Array;
  /** Base URL reached directly: bootstrap snapshot, publishing, and everything when `mesh` is unset. */
  readonly url?: string;
  /** Where descriptors and link reports go instead of `url` (a node reading from a private mirror publishes upstream). @default url */
  readonly publishUrl?: string;
  /** The fetch for `url` and `publishUrl` (tests count requests). @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** The route server as a .mesh service (publisher's address and mesh port): diffs and queries go here, never to `url`. */
  readonly mesh?: { readonly address: string; readonly port: number };
  /** Descriptor re-signed and published this often (ms). @default 900000 (15 min) */
  readonly publishIntervalMs?: number;
  /** Link report this often (ms). @default 60000 */
  readonly reportIntervalMs?: number;
  /** Directory diff fetched this often (ms). @default 30000 */
  readonly syncIntervalMs?: number;
  /** The copy counts as stale once the route server signed nothing newer for this long (ms). @default max(4 × syncIntervalMs, ROUTE_SERVER_RESIGN_MS + 2 × syncIntervalMs) */
  readonly staleAfterMs?: number;
  /** Bound on one request to the route server (ms). @default 5000 */
  readonly timeoutMs?: number;
  /** Capacity (KiB/s) reported for a link until it was seen carrying more. @default 10240 */
  readonly linkCapacity?: number;
  /** Ask the route server for paths; false = always choose from the local copy. @default true */
  readonly ask?: boolean;
}

/** What the agent needs from its node. */
export interface RouteServerAgentDeps {
  readonly identity: Identity;
  /** The node's descriptor signed now (a later issuedAt than the last one). */
  resign(): NodeDescriptor;
  /** Open links: peer key, smoothed RTT (ms) and a ping. */
  links(): readonly AgentLink[];
  /** Verifies and adds descriptors to the node's directory. */
  addDescriptors(list: readonly (NodeDescriptor | Uint8Array)[]): unknown;
  /** A fetch through the mesh to `mesh` (set when `mesh` is). */
  meshFetch?: typeof fetch;
  /** The last resort when neither the server nor the copy has a path. */
  randomPath(request: PathAsk): PathHop[];
  readonly logger: NodeLogger;
}

/** An open link as the agent sees it (SecureLink has all of it). */
export interface AgentLink {
  readonly peerKey: Uint8Array;
  readonly rttMs: number | undefined;
  ping(): Promise<number>;
  /** Bytes carried so far (for the capacity measure). */
  stats(): { readonly bytesIn: number; readonly bytesOut: number };
}

/** Report periods whose peak throughput a link's capacity remembers. */
const CAPACITY_PERIODS = 10;

/** A path wanted (PathRequest of node.ts without its relay list). */
export interface PathAsk {
  readonly destination: Uint8Array;
  readonly hops: number;
  readonly exclude: readonly Uint8Array[];
}

/** Counters, for stats and tests. */
export interface RouteServerAgentStats {
  readonly published: number;
  readonly reports: number;
  readonly snapshots: number;
  readonly diffs: number;
  /** Where the paths of built routes came from. */
  readonly pathSources: { server: number; local: number; random: number };
  /** Requests to the route server that failed (unreachable or an error answer). */
  readonly failures: number;
  /** Route queries sent over the mesh / directly. */
  readonly queries: { mesh: number; direct: number };
  readonly lastError: string | null;
  /** Version of the directory copy, null before the first snapshot. */
  readonly version: number | null;
  /** Route answers refused because their paths broke the diversity policy while the copy had one keeping it. */
  readonly diversityRefused: number;
  readonly staleness: StalenessStats;
}

/** How current the directory copy is (see the module comment). */
export interface StalenessStats {
  /** The copy's age past staleAfterMs. */
  readonly stale: boolean;
  /** Milliseconds since the route server signed the newest snapshot/diff behind the copy; null without a copy. */
  readonly copyAgeMs: number | null;
  readonly staleAfterMs: number;
  /** Times the copy became stale. */
  readonly episodes: number;
  /** Snapshots fetched because the copy was stale, and those that failed or brought nothing newer. */
  readonly freshSnapshots: { tried: number; failed: number };
}

/** A running agent. */
export interface RouteServerAgent {
  readonly replica: DirectoryReplica;
  /**
   * Starts the timers and the first refresh (registration, links, bootstrap
   * snapshot); the promise settles when that refresh is over (never rejects).
   */
  start(): Promise<void>;
  /** Chooses a path (server, else local copy, else random). */
  choosePath(ask: PathAsk): Promise<PathHop[]>;
  /** Publishes the descriptor, reports links and syncs the copy now; errors are counted, not thrown. */
  refresh(): Promise<void>;
  publish(): Promise<void>;
  report(): Promise<void>;
  sync(): Promise<void>;
  stats(): RouteServerAgentStats;
  /** Stops the timers. */
  close(): void;
}

const PING_TIMEOUT_MS = 2000;

/**
 * How often a route server re-signs an unchanged snapshot and diffs (its
 * default `resignAfterMs`, services/route-server): a copy cannot look
 * fresher than this, so staleness bounds below it would flap.
 */
export const ROUTE_SERVER_RESIGN_MS = 60_000;

/** Makes an agent; start() runs the first refresh and the timers. */
export function createRouteServerAgent(
  settings: RouteServerSettings,
  deps: RouteServerAgentDeps,
): RouteServerAgent {
  const log = deps.logger;
  const timeoutMs = settings.timeoutMs ?? 5000;
  const capacity = settings.linkCapacity ?? 10_240;
  const ask = settings.ask ?? true;
  const syncIntervalMs = settings.syncIntervalMs ?? 30_000;
  // A quiet route server re-signs its snapshot and diffs only every
  // ROUTE_SERVER_RESIGN_MS: the default bound leaves room for that plus two syncs.
  const staleAfterMs =
    settings.staleAfterMs ??
    Math.max(4 * syncIntervalMs, ROUTE_SERVER_RESIGN_MS + 2 * syncIntervalMs);
  const bounded =
    (f: typeof fetch): typeof fetch =>
    (input, init) =>
      f(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const directFetch = bounded(settings.fetch ?? globalThis.fetch.bind(globalThis));
  const direct = settings.url
    ? new RouteServerClient({ baseUrl: settings.url, fetch: directFetch, serverKey: settings.key })
    : undefined;
  // Publishing only (a node reading from a mirror publishes upstream, whose key it need not know).
  const upstream = settings.publishUrl
    ? new RouteServerClient({ baseUrl: settings.publishUrl, fetch: directFetch })
    : undefined;
  if (settings.mesh && !deps.meshFetch) {
    throw new SkymeshError('NODE_CONFIG_INVALID', 'routeServer.mesh needs a mesh fetch');
  }
  const mesh = settings.mesh
    ? new RouteServerClient({
        baseUrl: `http://${settings.mesh.address}.mesh:${settings.mesh.port}`,
        fetch: deps.meshFetch!,
        serverKey: settings.key,
      })
    : undefined;
  if (!direct && !mesh) {
    throw new SkymeshError('NODE_CONFIG_INVALID', 'routeServer needs url or mesh');
  }
  const publisherHex = settings.mesh
    ? toHex(parseAddress(settings.mesh.address.replace(/\.mesh$/i, '')))
    : '';
  const selfHex = toHex(deps.identity.publicKey);
  const replica = new DirectoryReplica({ serverKey: settings.key });
  const counters = {
    published: 0,
    reports: 0,
    snapshots: 0,
    diffs: 0,
    failures: 0,
    pathSources: { server: 0, local: 0, random: 0 },
    queries: { mesh: 0, direct: 0 },
    lastError: null as string | null,
    diversityRefused: 0,
    staleEpisodes: 0,
    freshSnapshots: { tried: 0, failed: 0 },
  };
  let staleNow = false;
  let sequence = 0;
  let fedVersion = -1;
  let closed = false;

  const failed = (what: string, err: unknown) => {
    counters.failures++;
    counters.lastError = `${what}: ${(err as { code?: string }).code ?? String(err)}`;
    log.debug({ err }, `route server ${what} failed`);
  };

  // Publishing and reports: direct when we have it (descriptors are public anyway).
  const publisher = () => (upstream ?? direct ?? mesh)!;
  // Queries: without `mesh`, direct; with it, over the mesh only, and only
  // once a copy exists (the route to the publisher is chosen from it).
  const asking = (): RouteServerClient | undefined =>
    !mesh ? direct : replica.version !== null ? mesh : undefined;

  /** The node's own descriptor as last signed: its network groups count in the diversity re-check. */
  let ownDescriptor: NodeDescriptor | undefined;

  async function publishNow(): Promise<void> {
    const desc = deps.resign();
    ownDescriptor = desc;
    await publisher().publishDescriptor(encodeDescriptor(desc));
    counters.published++;
  }

  // Per peer: bytes carried at the last report, and the rates (KiB/s) of the last periods.
  const traffic = new Map<string, { bytes: number; at: number; rates: number[] }>();

  /** The link's capacity: its peak observed throughput, at least the configured one. */
  function capacityOf(link: AgentLink, now: number): number {
    const s = link.stats();
    const key = toHex(link.peerKey);
    const bytes = s.bytesIn + s.bytesOut;
    const held = traffic.get(key);
    const rates = held?.rates ?? [];
    if (held && now > held.at && bytes >= held.bytes) {
      rates.push((bytes - held.bytes) / 1024 / ((now - held.at) / 1000));
      if (rates.length > CAPACITY_PERIODS) rates.shift();
    }
    traffic.set(key, { bytes, at: now, rates });
    return Math.min(0xffff_ffff, Math.max(capacity, Math.round(Math.max(0, ...rates))));
  }

  async function measure(link: AgentLink) {
    let ms = link.rttMs;
    if (ms === undefined) {
      ms = await Promise.race([
        link.ping().catch(() => undefined),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), PING_TIMEOUT_MS).unref()),
      ]);
    }
    if (ms === undefined) return undefined;
    const rttMicros = Math.min(MAX_RTT_MICROS, Math.max(1, Math.round(ms * 1000)));
    return { peer: link.peerKey, rttMicros, capacity: capacityOf(link, Date.now()) };
  }

  async function reportNow(): Promise<void> {
    const open = deps
      .links()
      .filter((l) => toHex(l.peerKey) !== selfHex)
      .slice(0, MAX_LINKS_PER_REPORT);
    const current = new Set(open.map((l) => toHex(l.peerKey)));
    for (const k of traffic.keys()) if (!current.has(k)) traffic.delete(k);
    const measured = await Promise.all(open.map(measure));
    // A strictly increasing sequence that survives restarts: the clock, bumped.
    sequence = Math.max(sequence + 1, Date.now());
    const signed = signLinkReport(
      { sequence, links: measured.filter((l) => l !== undefined) },
      deps.identity,
    );
    try {
      await publisher().publishReport(encodeLinkReport(signed));
    } catch (err) {
      // The server forgot us (restart, expiry): register again, then report.
      if ((err as { code?: string }).code !== 'DIRECTORY_UNKNOWN_NODE') throw err;
      await publish();
      await publisher().publishReport(encodeLinkReport(signed));
    }
    counters.reports++;
  }

  const copyAgeMs = (): number | null => {
    const at = replica.issuedAt;
    return at === null ? null : Math.max(0, Date.now() - at * 1000);
  };
  const isStale = () => (copyAgeMs() ?? 0) > staleAfterMs;
  let nextFreshAt = 0;

  // After every sync (done or failed): a stale copy is reported once, and a
  // fresh snapshot is tried — over the mesh when set, never directly then.
  async function checkFresh(): Promise<void> {
    if (closed) return;
    if (!isStale()) {
      if (staleNow) log.info({ version: replica.version }, 'directory copy current again');
      staleNow = false;
      return;
    }
    const firstTime = !staleNow;
    if (firstTime) {
      staleNow = true;
      counters.staleEpisodes++;
      log.warn(
        { ageMs: copyAgeMs(), staleAfterMs, version: replica.version },
        'directory copy is stale (route server signed nothing newer); trying a fresh snapshot',
      );
    }
    // A fresh snapshot (the whole directory) at most once per staleAfterMs.
    if (Date.now() < nextFreshAt) return;
    nextFreshAt = Date.now() + staleAfterMs;
    counters.freshSnapshots.tried++;
    try {
      replica.loadSnapshot(await (mesh ?? direct)!.snapshot());
      counters.snapshots++;
      feed();
    } catch (err) {
      failed('fresh snapshot', err);
    }
    if (!isStale()) return void (await checkFresh());
    counters.freshSnapshots.failed++;
    if (firstTime) {
      log.warn(
        { ageMs: copyAgeMs(), version: replica.version },
        'no fresher directory: keeping the stale copy',
      );
    }
  }

  async function syncNow(): Promise<void> {
    let kind: 'snapshot' | 'diff';
    if (!mesh) kind = await direct!.sync(replica);
    else if (replica.version !== null || !direct) kind = await mesh.sync(replica);
    else {
      // With `mesh` and no copy (first start, or a diff that failed half-way
      // dropped it): a snapshot from `url`, never a diff.
      replica.loadSnapshot(await direct.snapshot());
      kind = 'snapshot';
    }
    if (kind === 'snapshot') counters.snapshots++;
    else counters.diffs++;
    feed();
  }

  // Descriptors changed since the last feed go into the node's directory.
  function feed(): void {
    const state = replica.state;
    if (!state || state.version === fedVersion) return;
    const fresh: NodeDescriptor[] = [];
    for (const n of state.nodes()) {
      if (n.changed > fedVersion && n.key !== selfHex) fresh.push(n.desc);
    }
    if (fresh.length > 0) deps.addDescriptors(fresh);
    fedVersion = state.version;
  }

  async function step(what: string, f: () => Promise<void>): Promise<void> {
    if (closed) return;
    try {
      await f();
    } catch (err) {
      failed(what, err);
    }
  }

  // One run of each at a time: a timer firing during a manual call (or a
  // slow request) joins the run in flight instead of racing it.
  const running = new Map<() => Promise<void>, Promise<void>>();
  const once =
    (f: () => Promise<void>): (() => Promise<void>) =>
    () => {
      let p = running.get(f);
      if (!p) {
        p = f().finally(() => running.delete(f));
        running.set(f, p);
      }
      return p;
    };

  const publish = once(publishNow);
  const report = once(reportNow);
  const sync = once(async () => {
    try {
      await syncNow();
    } finally {
      await checkFresh();
    }
  });

  async function refresh(): Promise<void> {
    await step('publish', publish);
    await step('report', report);
    await step('sync', sync);
  }

  const exclusions = (a: PathAsk) =>
    a.exclude
      .filter((k) => toHex(k) !== selfHex)
      .slice(0, MAX_EXCLUDE)
      .map((k) => encodeAddress(k));

  async function fromServer(client: RouteServerClient, a: PathAsk): Promise<PathHop[] | undefined> {
    const viaMesh = client === mesh;
    if (viaMesh) counters.queries.mesh++;
    else counters.queries.direct++;
    const paths = await client.route({
      destination: { address: encodeAddress(a.destination) },
      minHops: a.hops,
      maxHops: a.hops,
      k: 3,
      exclude: exclusions(a),
    });
    const avoid = new Set([selfHex, ...a.exclude.map(toHex)]);
    const destHex = toHex(a.destination);
    const fitting = paths.filter(
      (p) =>
        p.hops.length === a.hops &&
        toHex(p.hops[p.hops.length - 1]!.desc.publicKey) === destHex &&
        p.hops.slice(0, -1).every((h) => !avoid.has(toHex(h.desc.publicKey))),
    );
    // Every hop must be in the verified copy when there is one.
    const held = replica.state;
    const known = fitting.filter((p) => !held || p.hops.every((h) => held.node(h.desc.publicKey)));
    if (known.length === 0 && fitting.length > 0) {
      throw new DirectoryError(
        'DIRECTORY_UNKNOWN_NODE',
        'route answer names a node not in the directory copy',
      );
    }
    // Diversity, re-checked on the copy's descriptors (the answer's flag is
    // the server's word): a path breaking it is taken only when the copy
    // has no path keeping it either.
    // The node's own groups count too (the server never learns the asker, so
    // even an honest answer may enter through the node's own /16).
    const self = held?.node(deps.identity.publicKey)?.desc ?? ownDescriptor;
    const usable = held
      ? (known.find((p) =>
          pathDiverse(
            p.hops.map((h) => held.node(h.desc.publicKey)!.desc),
            self,
          ),
        ) ?? (known[0] && fromCopy(a)?.diverse !== true ? known[0] : undefined))
      : known[0];
    if (!usable && known.length > 0) {
      counters.diversityRefused++;
      throw new DirectoryError(
        'DIRECTORY_NOT_DIVERSE',
        'route answer breaks path diversity where the directory copy keeps it',
      );
    }
    if (!usable) return undefined;
    deps.addDescriptors(usable.hops.map((h) => h.bytes));
    return usable.hops.map((h) => ({ publicKey: h.desc.publicKey }));
  }

  function fromCopy(a: PathAsk): { hops: PathHop[]; diverse: boolean } | undefined {
    if (replica.version === null) return undefined;
    try {
      const [p] = replica.find({
        source: deps.identity.publicKey,
        destination: { address: a.destination },
        minHops: a.hops,
        maxHops: a.hops,
        exclude: [deps.identity.publicKey, ...a.exclude].slice(0, MAX_EXCLUDE),
      });
      return (
        p && { hops: p.hops.map((h) => ({ publicKey: h.desc.publicKey })), diverse: p.diverse }
      );
    } catch (err) {
      if (!(err instanceof SkymeshError)) throw err;
      log.debug({ code: err.code }, 'no path in the directory copy');
      return undefined;
    }
  }

  async function choosePath(a: PathAsk): Promise<PathHop[]> {
    const toPublisher = toHex(a.destination) === publisherHex;
    const client = ask && !toPublisher ? asking() : undefined;
    if (client) {
      try {
        const p = await fromServer(client, a);
        if (p) {
          counters.pathSources.server++;
          return p;
        }
      } catch (err) {
        failed('route query', err);
      }
    }
    const local = fromCopy(a);
    if (local) {
      counters.pathSources.local++;
      return local.hops;
    }
    const p = deps.randomPath(a);
    counters.pathSources.random++;
    return p;
  }

  const timers: NodeJS.Timeout[] = [];
  let ready: Promise<void> | undefined;

  return {
    replica,
    start() {
      if (ready) return ready;
      timers.push(
        setInterval(() => void step('publish', publish), settings.publishIntervalMs ?? 900_000),
        setInterval(() => void step('report', report), settings.reportIntervalMs ?? 60_000),
        setInterval(() => void step('sync', sync), syncIntervalMs),
      );
      for (const t of timers) t.unref();
      ready = refresh();
      return ready;
    },
    choosePath,
    refresh,
    publish,
    report,
    sync,
    stats: () => {
      const { staleEpisodes, freshSnapshots, ...rest } = counters;
      return {
        ...rest,
        pathSources: { ...counters.pathSources },
        queries: { ...counters.queries },
        version: replica.version,
        staleness: {
          stale: isStale(),
          copyAgeMs: copyAgeMs(),
          staleAfterMs,
          episodes: staleEpisodes,
          freshSnapshots: { ...freshSnapshots },
        },
      };
    },
    close() {
      closed = true;
      for (const t of timers) clearInterval(t);
    },
  };
}
