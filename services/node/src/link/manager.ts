/**
 * The link manager: listens on its transports, dials peers, runs the
 * obfuscated handshake on every connection, and keeps at most one link per
 * peer. It is what the route layer talks to: getLink(peer) / connect(peer)
 * give a CellLink, onLink tells about new ones, maintain(peer) keeps a link
 * up with backoff.
 *
 * A connection that fails the handshake as listener (random bytes, wrong
 * key, replayed or stale msg1, too long, too slow) gets no byte back: its
 * bytes are read and dropped until a random moment drawn when it was
 * accepted, then it is closed. So a prober's view (nothing, then a close at
 * a time independent of what it sent) is the same whatever it sends.
 */
import { ed25519PublicToX25519, equalBytes, type Identity, toHex } from '@skymesh/crypto';
import {
  HS_MAX_CLOCK_SKEW_MS,
  LinkError,
  LinkInitiator,
  LinkResponder,
} from '@skymesh/protocol/link';
import { LinkManagerError } from './errors.js';
import {
  type LinkOptions,
  type ResolvedLinkOptions,
  randomInt,
  resolveLinkOptions,
  SecureLink,
} from './link.js';
import { ReplayCache } from './replay.js';
import type { Connection, Endpoint, Transport, TransportListener } from './transport.js';
import { endpointText } from './transport.js';
import { webSocketTransport } from './transports/ws.js';

/** The subset of a pino logger the link layer uses. */
export interface LinkLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

const silent: LinkLogger = { debug() {}, info() {}, warn() {} };

export interface HandshakeLimits {
  /** A handshake not finished by then fails (ms). @default 10000 */
  timeoutMs?: number;
  /**
   * A listener-side handshake that failed closes at a moment drawn uniformly
   * in [min, max] ms after the connection was accepted (never earlier than
   * the failure). min should exceed timeoutMs. @default [15000, 45000]
   */
  probeCloseMs?: readonly [number, number];
  /** Connections in handshake (or being dropped) at once; more are cut at once. @default 256 */
  maxPending?: number;
  /** Accepted distance between an initiator's clock and ours (ms). @default HS_MAX_CLOCK_SKEW_MS */
  maxClockSkewMs?: number;
  /** Largest random padding in our handshake messages (bytes). @default 1024 */
  maxPadding?: number;
  /** Entries of the replay cache. @default 65536 */
  replayCacheSize?: number;
}

export interface ReconnectPolicy {
  /** First retry delay (ms); doubles per failure, with full jitter. @default 500 */
  baseMs?: number;
  /** Largest retry delay (ms). @default 30000 */
  maxMs?: number;
}

export interface LinkManagerInit {
  identity: Identity;
  /** @default [webSocketTransport()] */
  transports?: Transport[];
  /** Where to listen; each entry names a transport. @default one listener per transport on 127.0.0.1, port 0 */
  listen?: { transport: string; host?: string; port?: number }[];
  logger?: LinkLogger;
  link?: LinkOptions;
  handshake?: HandshakeLimits;
  reconnect?: ReconnectPolicy;
  /** Refuses links from some peers (inbound: silent close like any failure). @default accept all */
  acceptPeer?: (peerKey: Uint8Array) => boolean;
  /** Clock (ms since the epoch) for handshake timestamps. @default Date.now */
  now?: () => number;
}

export interface LinkManagerStats {
  links: number;
  inbound: number;
  outbound: number;
  /** Connections in handshake or waiting to be dropped. */
  pending: number;
  handshakesAccepted: number;
  handshakesDialled: number;
  /** Failed inbound handshakes by reason (LinkError code, 'timeout', 'replay', 'refused', 'busy'). */
  inboundFailures: Record<string, number>;
  outboundFailures: number;
  /** Links closed because another link to the same peer won. */
  duplicates: number;
  replayCacheSize: number;
  cellsIn: number;
  cellsOut: number;
  bytesIn: number;
  bytesOut: number;
}

export interface LinkManager {
  readonly identity: Identity;
  /** Starts the configured listeners (once) and returns where the node is reachable. */
  listen(): Promise<Endpoint[]>;
  /**
   * A link to `peerKey` (Ed25519), dialling `endpoint` unless one is open
   * or being dialled already. Resolves to the link that survives when both
   * nodes dial each other at once.
   * @throws LinkManagerError LINK_DIAL_FAILED | LINK_NO_TRANSPORT | LINK_HANDSHAKE_FAILED |
   *   LINK_MANAGER_CLOSED | LINK_SELF | LINK_BAD_PEER_KEY
   */
  connect(
    peerKey: Uint8Array,
    endpoint: Endpoint,
    options?: { signal?: AbortSignal },
  ): Promise<SecureLink>;
  /** The open link to `peerKey`, if any. */
  getLink(peerKey: Uint8Array): SecureLink | undefined;
  /** Every open link. */
  links(): SecureLink[];
  /** Called for every link that becomes a peer's current link (inbound or outbound). Returns an unsubscribe. */
  onLink(handler: (link: SecureLink) => void): () => void;
  /** Keeps a link to `peerKey` up: dials now if needed and redials with backoff after it closes. */
  maintain(peerKey: Uint8Array, endpoints: readonly Endpoint[]): void;
  /** Stops maintaining (the current link stays until someone closes it). */
  release(peerKey: Uint8Array): void;
  stats(): LinkManagerStats;
  /** Closes listeners, handshakes and links (gracefully, bounded by closeTimeoutMs). */
  close(): Promise<void>;
}

interface Maintained {
  endpoints: readonly Endpoint[];
  attempt: number;
  timer: NodeJS.Timeout | undefined;
  dialling: boolean;
}

/** Compares two keys as big-endian numbers. */
function compareKeys(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Creates a link manager. Nothing listens until listen() is called. */
export function createLinkManager(init: LinkManagerInit): LinkManager {
  const identity = init.identity;
  const log = init.logger ?? silent;
  const now = init.now ?? Date.now;
  const transports = init.transports ?? [webSocketTransport()];
  const byName = new Map<string, Transport>();
  for (const t of transports) for (const n of t.names) if (!byName.has(n)) byName.set(n, t);
  const linkOptions: ResolvedLinkOptions = resolveLinkOptions(init.link);
  const hs = {
    timeoutMs: init.handshake?.timeoutMs ?? 10_000,
    probeCloseMs: init.handshake?.probeCloseMs ?? ([15_000, 45_000] as const),
    maxPending: init.handshake?.maxPending ?? 256,
    maxClockSkewMs: init.handshake?.maxClockSkewMs ?? HS_MAX_CLOCK_SKEW_MS,
    maxPadding: init.handshake?.maxPadding ?? 1024,
  };
  const reconnect = {
    baseMs: init.reconnect?.baseMs ?? 500,
    maxMs: init.reconnect?.maxMs ?? 30_000,
  };
  const replay = new ReplayCache({
    windowMs: hs.maxClockSkewMs,
    maxEntries: init.handshake?.replayCacheSize ?? 65_536,
  });

  const current = new Map<string, SecureLink>();
  const dialling = new Map<string, Promise<SecureLink>>();
  const maintained = new Map<string, Maintained>();
  const pendingConns = new Set<Connection>();
  const linkHandlers = new Set<(l: SecureLink) => void>();
  const listeners: TransportListener[] = [];
  let listening: Promise<Endpoint[]> | undefined;
  let closed = false;
  const counters = {
    handshakesAccepted: 0,
    handshakesDialled: 0,
    outboundFailures: 0,
    duplicates: 0,
    inboundFailures: {} as Record<string, number>,
  };
  // Totals of links already gone, so stats() stays monotonic.
  const gone = { cellsIn: 0, cellsOut: 0, bytesIn: 0, bytesOut: 0 };

  function newLink(
    conn: Connection,
    result: ConstructorParameters<typeof SecureLink>[1],
    initiator: boolean,
  ) {
    return new SecureLink(conn, result, {
      initiator,
      localKey: identity.publicKey,
      options: linkOptions,
      onHandlerError: (err) => log.warn({ err }, 'link handler threw'),
    });
  }

  /** Makes `link` the peer's link unless a better one exists; returns the survivor. */
  function register(link: SecureLink): SecureLink {
    const key = toHex(link.peerKey);
    link.onClose((reason) => {
      const s = link.stats();
      gone.cellsIn += s.cellsIn;
      gone.cellsOut += s.cellsOut;
      gone.bytesIn += s.bytesIn;
      gone.bytesOut += s.bytesOut;
      if (current.get(key) === link) current.delete(key);
      log.debug({ peer: link.peerAddress, reason }, 'link closed');
      const m = maintained.get(key);
      if (m && !closed) scheduleRedial(key, m);
    });
    if (closed) {
      link.close('shutdown');
      return link;
    }
    const existing = current.get(key);
    let winner = link;
    if (existing && existing.status === 'open') {
      // Both nodes apply the same rule, so they keep the same link: the one
      // dialled by the smaller key; between two dialled by the same side, the newer.
      const byKey = compareKeys(existing.initiatorKey, link.initiatorKey);
      winner = byKey < 0 ? existing : link;
      const loser = winner === link ? existing : link;
      counters.duplicates++;
      loser.close('duplicate');
    }
    if (winner === link) {
      current.set(key, link);
      log.debug(
        { peer: link.peerAddress, initiator: link.initiator, remote: link.remote },
        'link up',
      );
      for (const h of linkHandlers) {
        try {
          h(link);
        } catch (err) {
          log.warn({ err }, 'onLink handler threw');
        }
      }
    }
    return winner;
  }

  function accept(conn: Connection): void {
    if (closed || pendingConns.size >= hs.maxPending) {
      count('busy');
      conn.destroy();
      return;
    }
    pendingConns.add(conn);
    const acceptedAt = performance.now();
    const [lo, hi] = hs.probeCloseMs;
    const closeAt = acceptedAt + lo + randomInt(Math.max(1, hi - lo + 1));
    const responder = new LinkResponder({
      identity,
      now,
      maxClockSkewMs: hs.maxClockSkewMs,
      maxPadding: hs.maxPadding,
    });
    let settled = false;
    const timer = setTimeout(() => fail('timeout'), hs.timeoutMs);
    conn.onClose(() => {
      clearTimeout(timer);
      pendingConns.delete(conn);
      if (!settled) fail('closed');
    });
    function fail(reason: string): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      count(reason);
      log.debug({ remote: conn.remote, reason }, 'inbound handshake failed');
      // Read and drop until the close time drawn at accept: say nothing.
      conn.onData(() => {});
      const wait = Math.max(0, closeAt - performance.now());
      setTimeout(() => {
        pendingConns.delete(conn);
        conn.destroy();
      }, wait).unref();
    }
    conn.onData((bytes) => {
      if (settled) return;
      let result: ReturnType<LinkResponder['push']>;
      try {
        result = responder.push(bytes);
      } catch (err) {
        if (err instanceof LinkError) return fail(err.code);
        return fail('error');
      }
      if (!result) return;
      if (!replay.check(result.replayTag, result.timestamp, now())) return fail('replay');
      if (init.acceptPeer && !init.acceptPeer(result.peerKey)) return fail('refused');
      if (equalBytes(result.peerKey, identity.publicKey)) return fail('refused');
      settled = true;
      clearTimeout(timer);
      pendingConns.delete(conn);
      conn.write(result.reply);
      counters.handshakesAccepted++;
      register(newLink(conn, result, false));
    });
  }

  function count(reason: string): void {
    counters.inboundFailures[reason] = (counters.inboundFailures[reason] ?? 0) + 1;
  }

  async function dial(
    peerKey: Uint8Array,
    endpoint: Endpoint,
    signal?: AbortSignal,
  ): Promise<SecureLink> {
    const transport = byName.get(endpoint.transport);
    if (!transport) {
      throw new LinkManagerError('LINK_NO_TRANSPORT', `no transport for ${endpoint.transport}`, {
        transport: endpoint.transport,
      });
    }
    const initiator = new LinkInitiator({ identity, peerKey, now, maxPadding: hs.maxPadding });
    const conn = await transport.dial(endpoint, signal ? { signal } : {});
    return new Promise<SecureLink>((resolve, reject) => {
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.destroy();
        reject(
          new LinkManagerError(
            'LINK_HANDSHAKE_FAILED',
            `handshake with ${endpointText(endpoint)} failed: ${why}`,
            {
              reason: why,
            },
          ),
        );
      };
      const timer = setTimeout(() => fail('timeout'), hs.timeoutMs);
      signal?.addEventListener('abort', () => fail('aborted'), { once: true });
      conn.onClose(() => fail('closed by the listener'));
      conn.onData((bytes) => {
        if (settled) return;
        try {
          const result = initiator.push(bytes);
          if (!result) return;
          settled = true;
          clearTimeout(timer);
          counters.handshakesDialled++;
          resolve(register(newLink(conn, result, true)));
        } catch (err) {
          fail(err instanceof LinkError ? err.code : 'error');
        }
      });
      conn.write(initiator.message);
    });
  }

  function scheduleRedial(key: string, m: Maintained): void {
    if (m.timer || m.dialling || closed) return;
    const ceiling = Math.min(reconnect.maxMs, reconnect.baseMs * 2 ** Math.min(m.attempt, 20));
    const delay = m.attempt === 0 ? 0 : randomInt(Math.min(ceiling, 65_535) + 1);
    m.timer = setTimeout(() => {
      m.timer = undefined;
      void redial(key, m);
    }, delay);
    m.timer.unref();
  }

  async function redial(key: string, m: Maintained): Promise<void> {
    if (closed || maintained.get(key) !== m) return;
    const existing = current.get(key);
    if (existing && existing.status === 'open') {
      m.attempt = 0;
      return;
    }
    const endpoint = m.endpoints[m.attempt % m.endpoints.length];
    if (!endpoint) return;
    m.dialling = true;
    try {
      await api.connect(fromHexKey(key), endpoint);
      m.attempt = 0;
    } catch (err) {
      m.attempt++;
      log.debug({ err, endpoint: endpointText(endpoint) }, 'redial failed');
    } finally {
      m.dialling = false;
    }
    const link = current.get(key);
    if (link?.status !== 'open') scheduleRedial(key, m);
  }

  const api: LinkManager = {
    identity,
    listen() {
      if (closed)
        return Promise.reject(new LinkManagerError('LINK_MANAGER_CLOSED', 'manager closed'));
      listening ??= (async () => {
        const wanted =
          init.listen ??
          transports.map((t) => ({ transport: t.names[0]!, host: '127.0.0.1', port: 0 }));
        const out: Endpoint[] = [];
        for (const w of wanted) {
          const t = byName.get(w.transport);
          if (!t)
            throw new LinkManagerError('LINK_NO_TRANSPORT', `no transport for ${w.transport}`);
          const l = await t.listen({ host: w.host ?? '127.0.0.1', port: w.port ?? 0 }, accept);
          listeners.push(l);
          out.push(...l.endpoints);
        }
        log.info({ endpoints: out.map(endpointText) }, 'links listening');
        return out;
      })();
      return listening;
    },

    async connect(peerKey, endpoint, options = {}) {
      if (closed) throw new LinkManagerError('LINK_MANAGER_CLOSED', 'manager closed');
      if (equalBytes(peerKey, identity.publicKey)) {
        throw new LinkManagerError('LINK_SELF', 'a node does not link to itself');
      }
      try {
        ed25519PublicToX25519(peerKey);
      } catch {
        throw new LinkManagerError('LINK_BAD_PEER_KEY', 'peer key is not a valid Ed25519 key');
      }
      const key = toHex(peerKey);
      const open = current.get(key);
      if (open && open.status === 'open') return open;
      const inFlight = dialling.get(key);
      if (inFlight) return inFlight;
      const p = dial(peerKey, endpoint, options.signal).catch((err) => {
        counters.outboundFailures++;
        throw err;
      });
      dialling.set(key, p);
      try {
        return await p;
      } finally {
        dialling.delete(key);
      }
    },

    getLink(peerKey) {
      const l = current.get(toHex(peerKey));
      return l && l.status === 'open' ? l : undefined;
    },

    links() {
      return [...current.values()].filter((l) => l.status === 'open');
    },

    onLink(handler) {
      linkHandlers.add(handler);
      return () => linkHandlers.delete(handler);
    },

    maintain(peerKey, endpoints) {
      if (closed || endpoints.length === 0) return;
      const key = toHex(peerKey);
      const m = maintained.get(key);
      if (m) {
        m.endpoints = [...endpoints];
        return;
      }
      const entry: Maintained = {
        endpoints: [...endpoints],
        attempt: 0,
        timer: undefined,
        dialling: false,
      };
      maintained.set(key, entry);
      scheduleRedial(key, entry);
    },

    release(peerKey) {
      const key = toHex(peerKey);
      const m = maintained.get(key);
      if (m?.timer) clearTimeout(m.timer);
      maintained.delete(key);
    },

    stats() {
      const live = [...current.values()];
      const totals = { ...gone };
      for (const l of live) {
        const s = l.stats();
        totals.cellsIn += s.cellsIn;
        totals.cellsOut += s.cellsOut;
        totals.bytesIn += s.bytesIn;
        totals.bytesOut += s.bytesOut;
      }
      return {
        links: live.length,
        inbound: live.filter((l) => !l.initiator).length,
        outbound: live.filter((l) => l.initiator).length,
        pending: pendingConns.size,
        handshakesAccepted: counters.handshakesAccepted,
        handshakesDialled: counters.handshakesDialled,
        inboundFailures: { ...counters.inboundFailures },
        outboundFailures: counters.outboundFailures,
        duplicates: counters.duplicates,
        replayCacheSize: replay.size,
        ...totals,
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const m of maintained.values()) if (m.timer) clearTimeout(m.timer);
      maintained.clear();
      await Promise.allSettled(listeners.map((l) => l.close()));
      for (const c of pendingConns) c.destroy();
      pendingConns.clear();
      const all = [...current.values()];
      await Promise.all(
        all.map(
          (l) =>
            new Promise<void>((resolve) => {
              l.onClose(() => resolve());
              l.close('shutdown');
            }),
        ),
      );
    },
  };
  return api;
}

function fromHexKey(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
