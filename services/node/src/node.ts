/**
 * createNode: one mesh node, with its three layers wired together.
 *
 *   links   (link/)    listen, dial neighbours on demand from the directory
 *   router  (route/)   every link attached; relays others' routes, builds ours
 *   session (session/) a server for routes ending here, clients for ours
 *
 * The node signs its own descriptor with the endpoints it really listens on,
 * keeps a verified static directory, picks a fresh random path for every
 * route it builds (avoiding relays of routes that just failed), and hands
 * streams that arrive for it to `onStream` (where local apps plug in
 * published services and exits). Failover comes from the session layer:
 * each time a route dies it calls openRoute again, which picks a new path.
 * With `routeServer` set, a route-server agent (route-server/agent.ts)
 * registers the node, reports its links, keeps a verified directory copy
 * and chooses paths (asking the server, else from the copy).
 */
import { encodeAddress, Identity, parseAddress, SkymeshError, toHex } from '@skymesh/crypto';
import {
  DEFAULT_DESCRIPTOR_LIFETIME,
  type Endpoint as DescriptorEndpoint,
  type ExitPolicy,
  type NodeDescriptor,
  type NodeRoles,
  signDescriptor,
  TRANSPORTS,
} from '@skymesh/protocol';
import type { StreamTarget } from '@skymesh/protocol/stream';
import { awaitConnectReply } from './apps/connect-reply.js';
import type { ChannelStatus, OpenStreamOptions, RouteChannel } from './contracts.js';
import {
  type AddResult,
  type DescriptorInput,
  readDirectoryFile,
  StaticDirectory,
} from './directory.js';
import {
  createLinkManager,
  type Endpoint,
  type HandshakeLimits,
  type LinkManager,
  type LinkManagerStats,
  type LinkOptions,
  loadOrCreateSelfSignedCert,
  type ReconnectPolicy,
  type SecureLink,
  type Transport,
  tcpTransport,
  webSocketTransport,
} from './link/index.js';
import { type NodeLogger, silentLogger } from './log.js';
import {
  choosePath,
  createRouter,
  DEFAULT_HOPS,
  type PathHop,
  RouteError,
  type Router,
  type RouterInit,
  type RouterStats,
} from './route/index.js';
import {
  createRouteServerAgent,
  type RouteServerAgent,
  type RouteServerSettings,
} from './route-server/agent.js';
import { streamFetch } from './route-server/stream-fetch.js';

export type {
  RouteServerAgent,
  RouteServerAgentStats,
  RouteServerSettings,
} from './route-server/agent.js';

import {
  createSessionClient,
  createSessionServer,
  type SessionClient,
  type SessionServer,
  type SessionServerStats,
  type SessionStream,
  type SessionTuning,
} from './session/index.js';

/** Where the node listens. */
export interface NodeListen {
  /** @default 'ws' */
  readonly transport?: 'ws' | 'wss' | 'tcp';
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 lets the OS choose. @default 0 */
  readonly port?: number;
}

/** What a path chooser is asked for. */
export interface PathRequest {
  /** The destination's Ed25519 key (last hop). */
  readonly destination: Uint8Array;
  /** Hops including the destination, 1..MAX_HOPS. */
  readonly hops: number;
  /** Keys not to use as relays (this node, caller's exclusions, relays that just failed). */
  readonly exclude: readonly Uint8Array[];
  /** Verified relay descriptors the node knows (this node excluded). */
  readonly relays: readonly NodeDescriptor[];
}

/**
 * Chooses a path (the route-server agent's latency-aware choice, a fixed
 * topology's, or random). Returns hops ending with the destination, now or
 * as a promise; throw RouteError ROUTE_BAD_PATH when no path fits.
 */
export type PathChooser = (request: PathRequest) => PathHop[] | Promise<PathHop[]>;

/** Tunables of the layers, passed through; each layer documents its defaults. */
export interface NodeTuning {
  readonly link?: LinkOptions;
  readonly handshake?: HandshakeLimits;
  readonly reconnect?: ReconnectPolicy;
  /** Router options (identity, getLink and admit are the node's). */
  readonly router?: Omit<RouterInit, 'identity' | 'getLink' | 'admit'>;
  /** Session tuning for both ends (windows, acks, handshake timeout). */
  readonly session?: SessionTuning;
  /** The session server: sessions at once and grace period of detached ones. */
  readonly server?: { readonly maxSessions?: number; readonly graceMs?: number };
  /** Session clients: route attempts per failover, retry pause, close wait. */
  readonly client?: {
    readonly maxRouteAttempts?: number;
    readonly retryDelayMs?: number;
    readonly closeTimeoutMs?: number;
  };
  /** Relays of a route that failed are avoided this long (ms). @default 30000 */
  readonly suspectMs?: number;
}

/** Options of createNode. */
export interface NodeInit {
  /** The node's identity. @default Identity.fromSeed(seed), or a new one */
  readonly identity?: Identity;
  /** A 32-byte Ed25519 seed, used when no identity is given. */
  readonly seed?: Uint8Array;
  /** @default [{ transport: 'ws', host: '127.0.0.1', port: 0 }] */
  readonly listen?: readonly NodeListen[];
  /** Endpoints put in the descriptor instead of the listeners' own (behind NAT, 0.0.0.0). @default the listeners' endpoints */
  readonly advertise?: readonly DescriptorEndpoint[];
  /** Where a wss listener keeps its self-signed certificate. Required for wss unless `tls` is given. */
  readonly dataDir?: string;
  /** Certificate and key (PEM) for wss. @default made in dataDir */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** @default { relay: true, exit: false } */
  readonly roles?: Partial<NodeRoles>;
  /** What this node lets streams reach as an exit. @default nothing */
  readonly exitPolicy?: ExitPolicy;
  /** Price of relaying one MiB, smallest coin unit. @default 0n */
  readonly pricePerMiB?: bigint;
  /** Validity of the node's own descriptor (s); it is re-signed before it expires. @default 86400 */
  readonly descriptorLifetime?: number;
  /** Signed descriptors of other nodes (bad or expired ones are skipped and logged). @default [] */
  readonly directory?: readonly DescriptorInput[];
  /** A JSON directory file (see readDirectoryFile) read at start. */
  readonly directoryFile?: string;
  /**
   * A stream arrived for this node as a destination. Throw to refuse it
   * (the source sees STREAM_REFUSED). The target's meaning (a published
   * service, a host to reach as an exit) is the local apps' convention
   * (services/node/src/apps). @default refuse every stream
   */
  readonly onStream?: (stream: SessionStream, target: StreamTarget) => void;
  /** Route length, destination included (1..8). @default 3 */
  readonly hops?: number;
  readonly logger?: NodeLogger;
  /** Transports to use instead of those made from `listen` (tests: tapTransport, memory). */
  readonly transports?: readonly Transport[];
  /** @default the route server agent's choice when `routeServer` is set, else random distinct relays from the directory (choosePath) */
  readonly choosePath?: PathChooser;
  /** Register with a route server, report links, keep its directory and take paths from it. @default none */
  readonly routeServer?: RouteServerSettings;
  readonly tuning?: NodeTuning;
}

/** Options of connectSession. */
export interface ConnectOptions {
  /** Route length, destination included. @default the node's hops */
  readonly hops?: number;
  /** Nodes never to use as relays (keys or addresses). */
  readonly exclude?: readonly (Uint8Array | string)[];
  /** Isolation group (openStream reuses sessions only within one). @default '' */
  readonly isolation?: string;
}

/** One link, as stats() shows it. */
export interface LinkInfo {
  readonly peer: string;
  readonly initiator: boolean;
  readonly remote: string;
  readonly rttMs: number | undefined;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly cellsIn: number;
  readonly cellsOut: number;
}

/** One route this node built (source), as stats() shows it. */
export interface RouteInfo {
  readonly hops: number;
  readonly ageMs: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly status: ChannelStatus;
}

/** Everything the node counts, for the HTTP API, metrics and tests. */
export interface NodeStats {
  readonly address: string;
  readonly links: LinkInfo[];
  readonly routes: RouteInfo[];
  readonly sessions: {
    /** Sessions this node started (source), not yet closed. */
    readonly client: number;
    readonly server: SessionServerStats;
  };
  /** Streams open in all sessions, both ends. */
  readonly streams: number;
  readonly counters: {
    readonly cellsForwarded: number;
    readonly bytesForwarded: number;
    /** Failed inbound handshakes by reason. */
    readonly handshakeFailures: Record<string, number>;
    readonly outboundHandshakeFailures: number;
    readonly routesBuilt: number;
    readonly routesFailed: number;
    /** Route setup round trips (ms) of the last 256 routes this node built. */
    readonly routeSetupMs: number[];
  };
  readonly link: LinkManagerStats;
  readonly router: RouterStats;
}

/** A running mesh node. */
export interface MeshNode {
  readonly identity: Identity;
  readonly publicKey: Uint8Array;
  readonly address: string;
  /** Where the node listens (as put in its descriptor, unless `advertise` was set). */
  readonly endpoints: readonly Endpoint[];
  /** The node's own signed descriptor (re-signed when a quarter of its lifetime is left). */
  readonly descriptor: NodeDescriptor;
  readonly router: Router;
  readonly links: LinkManager;
  /** The route-server agent, when `routeServer` was set. */
  readonly routeServer: RouteServerAgent | null;
  /** Verifies and adds descriptors; returns what was taken and what refused. */
  addDescriptors(descriptors: readonly DescriptorInput[]): AddResult;
  /** Verified, unexpired descriptors the node knows, its own included. */
  directory(): NodeDescriptor[];
  /**
   * A new session to `destination` whose every route (first one, and each
   * after a failure) takes a fresh random path.
   * @throws CryptoError ADDRESS_* when `destination` is not an address
   */
  connectSession(destination: Uint8Array | string, options?: ConnectOptions): SessionClient;
  /**
   * A stream to `target` at `destination`, over a session shared by streams
   * of the same destination and isolation group (opened when needed).
   */
  openStream(
    target: StreamTarget,
    destination: Uint8Array | string,
    options?: OpenStreamOptions & { hops?: number },
  ): SessionStream;
  /** Replaces the handler of streams arriving here (as init.onStream; for apps started after the node). */
  onStream(handler: (stream: SessionStream, target: StreamTarget) => void): void;
  stats(): NodeStats;
  /** Closes sessions, routes, links and listeners. Idempotent. */
  close(): Promise<void>;
}

export type NodeErrorCode = 'NODE_CLOSED' | 'NODE_BAD_LISTEN';

/**
 * Thrown by the node itself (layers throw their own errors):
 * NODE_CLOSED when the node was closed (or serves no streams), NODE_BAD_LISTEN when a listener cannot be set up (wss without
 * dataDir or tls).
 */
export class NodeError extends SkymeshError<NodeErrorCode> {}

const SETUP_SAMPLES = 256;

/** A source route as the node tracks it: the channel the session uses, counted. */
class TrackedRoute implements RouteChannel {
  readonly createdAt = performance.now();
  bytesSent = 0;
  bytesReceived = 0;
  private done = false;

  constructor(
    private readonly inner: RouteChannel,
    readonly hops: readonly PathHop[],
    private readonly onGone: (route: TrackedRoute, reason: string) => void,
  ) {
    inner.onClose((reason) => this.gone(reason));
  }

  get payloadSize(): number {
    return this.inner.payloadSize;
  }

  get status(): ChannelStatus {
    return this.inner.status;
  }

  send(payload: Uint8Array): boolean {
    const ok = this.inner.send(payload);
    if (ok) this.bytesSent += payload.length;
    return ok;
  }

  onPayload(handler: (payload: Uint8Array) => void): void {
    this.inner.onPayload((p) => {
      this.bytesReceived += p.length;
      handler(p);
    });
  }

  onDrain(handler: () => void): void {
    this.inner.onDrain(handler);
  }

  onClose(handler: (reason: string) => void): void {
    this.inner.onClose((reason) => {
      this.gone(reason);
      handler(reason);
    });
  }

  close(reason?: string): void {
    this.inner.close(reason);
  }

  private gone(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.onGone(this, reason);
  }
}

const HOP_REPORT = /^hop (\d+): ([A-Z_]+)/;
/** Close reasons that say nothing against the route's relays (we or the session closed it, or it idled). */
const OWN_CLOSE =
  /^(closed|session closed|failed|payload too small|idle|router closed)$|^(SESSION|STREAM)_/;
const SUPPORTED = new Set<string>(TRANSPORTS);

/** Keys of relays to blame for a route that closed with `reason` (a hop's report names one). */
function blame(path: readonly PathHop[], reason: string): Uint8Array[] {
  const m = HOP_REPORT.exec(reason);
  if (m) {
    const hop = Number(m[1]);
    // The reporting hop could not reach (or lost) its successor: blame that one.
    const culprit = m[2] === 'NEXT_HOP_UNREACHABLE' || m[2] === 'LINK_LOST' ? hop + 1 : hop;
    const h = path[culprit];
    return h && culprit < path.length - 1 ? [h.publicKey] : [];
  }
  // Our link to the first hop went away: that hop (when it is a relay).
  if (reason === 'link closed') return path.length > 1 ? [path[0]!.publicKey] : [];
  return path.slice(0, -1).map((h) => h.publicKey);
}

function keyOf(k: Uint8Array | string): Uint8Array {
  return typeof k === 'string' ? parseAddress(k) : k;
}

async function makeTransports(init: NodeInit, log: NodeLogger): Promise<Transport[]> {
  if (init.transports) return [...init.transports];
  const wanted = new Set((init.listen ?? [{}]).map((l) => l.transport ?? 'ws'));
  const out: Transport[] = [];
  // The link manager picks a listener's transport by name, so with both ws
  // and wss listeners each transport answers to its own name only; either
  // one dials both kinds of endpoint.
  const both = wanted.has('ws') && wanted.has('wss');
  if (wanted.has('ws') || !wanted.has('wss')) {
    const ws = webSocketTransport();
    out.push(both ? { ...ws, names: ['ws'] } : ws);
  }
  if (wanted.has('wss')) {
    let tls = init.tls;
    if (!tls) {
      if (!init.dataDir) {
        throw new NodeError('NODE_BAD_LISTEN', 'a wss listener needs dataDir (or tls)');
      }
      tls = await loadOrCreateSelfSignedCert(init.dataDir);
    }
    const wss = webSocketTransport({ tls });
    out.push(both ? { ...wss, names: ['wss'] } : wss);
  }
  // Dial TCP endpoints even when not listening on TCP.
  out.push(tcpTransport());
  log.debug({ transports: out.map((t) => t.names.join('/')) }, 'transports');
  return out;
}

/**
 * Starts a mesh node: listens, signs its descriptor, loads its directory,
 * and serves routes and streams until close().
 * @throws NodeError NODE_BAD_LISTEN; LinkManagerError when a listener cannot start;
 *   DirectoryFileError NODE_DIRECTORY_FILE when directoryFile is unreadable
 * @example
 *   const node = await createNode({ directory: others, onStream: (s) => s.pipe(s) });
 *   const stream = node.openStream({ name: '', port: 80 }, someAddress);
 */
export async function createNode(init: NodeInit = {}): Promise<MeshNode> {
  const identity =
    init.identity ?? (init.seed ? Identity.fromSeed(init.seed) : Identity.generate());
  const log = init.logger ?? silentLogger;
  const hops = init.hops ?? DEFAULT_HOPS;
  const roles: NodeRoles = { relay: init.roles?.relay ?? true, exit: init.roles?.exit ?? false };
  const suspectMs = init.tuning?.suspectMs ?? 30_000;
  const lifetime = init.descriptorLifetime ?? DEFAULT_DESCRIPTOR_LIFETIME;
  const dir = new StaticDirectory();
  const selfHex = toHex(identity.publicKey);

  // Read before anything listens, so a bad file leaves no port open.
  const fromFile = init.directoryFile
    ? ((await readDirectoryFile(init.directoryFile)) as DescriptorInput[])
    : undefined;
  const transports = await makeTransports(init, log);
  const listen = (init.listen ?? [{}]).map((l) => ({
    transport: l.transport ?? 'ws',
    host: l.host ?? '127.0.0.1',
    port: l.port ?? 0,
  }));
  const links = createLinkManager({
    identity,
    transports,
    listen: init.transports
      ? listen.filter((l) => transports.some((t) => t.names.includes(l.transport)))
      : listen,
    logger: log,
    ...(init.tuning?.link ? { link: init.tuning.link } : {}),
    ...(init.tuning?.handshake ? { handshake: init.tuning.handshake } : {}),
    ...(init.tuning?.reconnect ? { reconnect: init.tuning.reconnect } : {}),
  });

  // Relays that just failed, by hex key → until (ms).
  const suspects = new Map<string, number>();
  const suspect = (keys: Uint8Array[]) => {
    const until = Date.now() + suspectMs;
    for (const k of keys) suspects.set(toHex(k), until);
  };

  function dialFromDirectory(peerKey: Uint8Array): Promise<SecureLink | undefined> {
    const desc = dir.get(peerKey);
    if (!desc) return Promise.resolve(undefined);
    return (async () => {
      for (const ep of desc.endpoints) {
        if (!transports.some((t) => t.names.includes(ep.transport))) continue;
        try {
          return await links.connect(peerKey, ep);
        } catch (err) {
          log.debug({ peer: encodeAddress(peerKey), err }, 'dial failed');
        }
      }
      suspect([peerKey]);
      return undefined;
    })();
  }

  const routerTuning = init.tuning?.router ?? {};
  const router = createRouter({
    ...routerTuning,
    identity,
    getLink: (peerKey) => links.getLink(peerKey) ?? dialFromDirectory(peerKey),
    // A node that is not a relay accepts routes to itself only.
    admit: (req) => req.role === 'destination' || roles.relay,
  });
  links.onLink((link) => router.attachLink(link));

  let onStream =
    init.onStream ??
    (() => {
      throw new NodeError('NODE_CLOSED', 'this node serves no streams');
    });
  const server: SessionServer = createSessionServer({
    ...init.tuning?.session,
    ...init.tuning?.server,
    identity,
    onStream: (stream, target) => onStream(stream, target),
  });
  router.onIncomingRoute((ch) => server.acceptRoute(ch));

  let endpoints: Endpoint[];
  try {
    endpoints = await links.listen();
  } catch (err) {
    router.close();
    await links.close();
    throw err;
  }
  const advertised: DescriptorEndpoint[] = init.advertise
    ? init.advertise.map((e) => ({ ...e }))
    : endpoints
        .filter((e) => SUPPORTED.has(e.transport))
        .map((e) => ({
          transport: e.transport as DescriptorEndpoint['transport'],
          host: e.host,
          port: e.port,
        }));
  if (advertised.some((e) => e.host === '0.0.0.0' || e.host === '::')) {
    log.warn({}, 'listening on all interfaces without `advertise`: peers will dial 0.0.0.0');
  }
  let descriptor = sign();
  function sign(): NodeDescriptor {
    return signDescriptor(
      {
        roles,
        endpoints: advertised,
        pricePerMiB: init.pricePerMiB ?? 0n,
        ...(init.exitPolicy ? { exitPolicy: init.exitPolicy } : {}),
        expiresAt: Math.floor(Date.now() / 1000) + lifetime,
      },
      identity,
    );
  }
  function currentDescriptor(): NodeDescriptor {
    const now = Math.floor(Date.now() / 1000);
    if (descriptor.expiresAt - now < lifetime / 4) descriptor = sign();
    return descriptor;
  }
  /** Signed again now (a later issuedAt, so a route server takes it as a refresh), at most once a second. */
  function resign(): NodeDescriptor {
    if (descriptor.issuedAt < Math.floor(Date.now() / 1000)) descriptor = sign();
    return descriptor;
  }

  function addDescriptors(inputs: readonly DescriptorInput[]): AddResult {
    const result = dir.add(inputs);
    for (const r of result.rejected)
      log.warn({ index: r.index, code: r.code }, 'descriptor refused');
    return result;
  }
  if (init.directory) addDescriptors(init.directory);
  if (fromFile) addDescriptors(fromFile);

  const relayList = () => dir.list().filter((d) => d.roles.relay && toHex(d.publicKey) !== selfHex);
  const randomPath = (
    req: Omit<PathRequest, 'relays'>,
    relays: readonly NodeDescriptor[] = relayList(),
  ) =>
    choosePath(
      relays.map((d) => ({ publicKey: d.publicKey })),
      { publicKey: req.destination },
      { hops: req.hops, exclude: req.exclude },
    );

  const routeServer = init.routeServer
    ? createRouteServerAgent(init.routeServer, {
        identity,
        resign,
        links: () => links.links(),
        addDescriptors: (list) => addDescriptors([...list]),
        randomPath: (req) => randomPath(req),
        logger: log,
        ...(init.routeServer.mesh
          ? {
              meshFetch: streamFetch(meshService(init.routeServer.mesh), {
                timeoutMs: init.routeServer.timeoutMs ?? 5000,
              }),
            }
          : {}),
      })
    : null;

  const chooser: PathChooser =
    init.choosePath ??
    (routeServer ? (req) => routeServer.choosePath(req) : (req) => randomPath(req, req.relays));

  /** A path to `destination`, avoiding recent failures when enough relays remain. */
  async function pickPath(
    destination: Uint8Array,
    n: number,
    exclude: readonly Uint8Array[],
  ): Promise<PathHop[]> {
    const now = Date.now();
    for (const [k, until] of suspects) if (until <= now) suspects.delete(k);
    const relays = relayList();
    const base = [identity.publicKey, ...exclude];
    const avoid = [
      ...base,
      ...relays.filter((d) => suspects.has(toHex(d.publicKey))).map((d) => d.publicKey),
    ];
    try {
      return await chooser({ destination, hops: n, exclude: avoid, relays });
    } catch (err) {
      if (
        !(err instanceof RouteError) ||
        err.code !== 'ROUTE_BAD_PATH' ||
        avoid.length === base.length
      ) {
        throw err;
      }
      // Too few relays left once the suspects are avoided: try them again.
      return chooser({ destination, hops: n, exclude: base, relays });
    }
  }

  const routes = new Set<TrackedRoute>();
  const setupSamples: number[] = [];
  let setupCount = 0;
  const routeCounters = { built: 0, failed: 0 };
  let closed = false;

  function routeOpener(destination: Uint8Array, n: number, exclude: readonly Uint8Array[]) {
    return async (): Promise<RouteChannel> => {
      if (closed) throw new NodeError('NODE_CLOSED', 'node closed');
      const path = await pickPath(destination, n, exclude);
      const started = performance.now();
      let ch: RouteChannel;
      try {
        ch = await router.buildRoute(path);
      } catch (err) {
        routeCounters.failed++;
        if (err instanceof RouteError) {
          const d = err.details as { hop?: number; reason?: string } | undefined;
          if (err.code === 'ROUTE_SETUP_FAILED' && d?.hop !== undefined) {
            suspect(blame(path, `hop ${d.hop}: ${d.reason}`));
          } else if (err.code === 'ROUTE_NO_LINK' && path.length > 1) {
            suspect([path[0]!.publicKey]);
          } else if (err.code === 'ROUTE_SETUP_TIMEOUT') suspect(blame(path, ''));
        }
        log.debug({ err, hops: path.length }, 'route setup failed');
        throw err;
      }
      routeCounters.built++;
      setupSamples[setupCount++ % SETUP_SAMPLES] = performance.now() - started;
      const route = new TrackedRoute(ch, path, (r, reason) => {
        routes.delete(r);
        // A route we closed ourselves says nothing about its relays.
        if (!closed && !OWN_CLOSE.test(reason)) {
          suspect(blame(r.hops, reason));
        }
      });
      routes.add(route);
      return route;
    };
  }

  const clients = new Set<SessionClient>();
  // Sessions shared by openStream, by destination and isolation group.
  const shared = new Map<string, { client: SessionClient; destination: Uint8Array }>();

  function connectSession(destination: Uint8Array | string, options: ConnectOptions = {}) {
    if (closed) throw new NodeError('NODE_CLOSED', 'node closed');
    const dest = keyOf(destination);
    const client = createSessionClient({
      ...init.tuning?.session,
      ...init.tuning?.client,
      destination: dest,
      openRoute: routeOpener(dest, options.hops ?? hops, (options.exclude ?? []).map(keyOf)),
    });
    clients.add(client);
    void client.closed.then(() => clients.delete(client));
    return client;
  }

  function sharedSession(dest: Uint8Array, isolation: string, n: number): SessionClient {
    const key = `${toHex(dest)}/${n}/${isolation}`;
    const got = shared.get(key);
    if (got && got.client.state !== 'closed') return got.client;
    const client = connectSession(dest, { hops: n, isolation });
    shared.set(key, { client, destination: dest });
    void client.closed.then(() => {
      if (shared.get(key)?.client === client) shared.delete(key);
    });
    return client;
  }

  function withSignal(stream: SessionStream, signal: AbortSignal | undefined): SessionStream {
    if (!signal) return stream;
    const abort = () => stream.destroy(new NodeError('NODE_CLOSED', 'aborted'));
    if (signal.aborted) abort();
    else {
      signal.addEventListener('abort', abort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', abort));
    }
    return stream;
  }

  function openStream(
    target: StreamTarget,
    destination: Uint8Array | string,
    options: OpenStreamOptions & { hops?: number } = {},
  ): SessionStream {
    const client = sharedSession(keyOf(destination), options.isolation ?? '', options.hops ?? hops);
    return withSignal(client.openStream(target), options.signal);
  }

  /** Streams to a service published at a .mesh address, accepted by its node (for the route server). */
  function meshService(at: { address: string; port: number }) {
    return async () => {
      const stream = openStream({ name: '', port: at.port }, at.address.replace(/\.mesh$/i, ''), {
        isolation: '\u0000route-server',
      });
      await awaitConnectReply(stream, init.routeServer?.timeoutMs ?? 5000);
      return stream;
    };
  }

  function stats(): NodeStats {
    const now = performance.now();
    const ls = links.stats();
    const rs = router.stats();
    let streams = 0;
    for (const c of clients) streams += c.stats().streamsOpen;
    for (const s of server.sessionStats().values()) streams += s.streamsOpen;
    return {
      address: identity.address,
      links: links.links().map((l) => {
        const s = l.stats();
        return {
          peer: l.peerAddress,
          initiator: l.initiator,
          remote: l.remote,
          rttMs: s.rttMs,
          bytesIn: s.bytesIn,
          bytesOut: s.bytesOut,
          cellsIn: s.cellsIn,
          cellsOut: s.cellsOut,
        };
      }),
      routes: [...routes].map((r) => ({
        hops: r.hops.length,
        ageMs: Math.round(now - r.createdAt),
        bytesSent: r.bytesSent,
        bytesReceived: r.bytesReceived,
        status: r.status,
      })),
      sessions: { client: clients.size, server: server.stats() },
      streams,
      counters: {
        cellsForwarded: rs.cellsForwarded,
        bytesForwarded: rs.bytesForwarded,
        handshakeFailures: ls.inboundFailures,
        outboundHandshakeFailures: ls.outboundFailures,
        routesBuilt: routeCounters.built,
        routesFailed: routeCounters.failed,
        routeSetupMs: setupSamples.slice(),
      },
      link: ls,
      router: rs,
    };
  }

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= (async () => {
      closed = true;
      routeServer?.close();
      const closeWait = init.tuning?.client?.closeTimeoutMs ?? 1000;
      await Promise.allSettled(
        [...clients].map((c) =>
          Promise.race([c.close(), new Promise((r) => setTimeout(r, closeWait).unref())]),
        ),
      );
      server.close();
      router.close();
      await links.close();
      log.info({ address: identity.address }, 'node closed');
    })();
    return closing;
  }

  log.info(
    { address: identity.address, endpoints: advertised, roles, known: dir.size },
    'node started',
  );
  // Registration and the bootstrap snapshot run in the background: a route
  // server that is down must not keep the node from starting.
  void routeServer?.start();

  return {
    identity,
    publicKey: identity.publicKey,
    address: identity.address,
    endpoints,
    get descriptor() {
      return currentDescriptor();
    },
    router,
    links,
    routeServer,
    addDescriptors,
    directory: () => [
      currentDescriptor(),
      ...dir.list().filter((d) => toHex(d.publicKey) !== selfHex),
    ],
    connectSession,
    openStream,
    onStream(handler) {
      onStream = handler;
    },
    stats,
    close,
  };
}
