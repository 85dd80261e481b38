/**
 * The source side of app streams: turns a MeshTarget into a session stream
 * that the destination has accepted (connect reply 0).
 *
 * - Pool: streams to the same destination with the same isolation key share
 *   one session (one route, one handshake).
 * - Rotation: a pooled session takes new streams for `rotateMs` (default 10
 *   minutes) after it was opened; after that the next stream starts a fresh
 *   session (new route, new keys) and the old one drains: it keeps its open
 *   streams and is closed when the last one ends. A sweep (every
 *   min(rotateMs, 60 s)) rotates out old sessions nobody opens streams on,
 *   so an idle session does not outlive its schedule.
 * - Isolation: the isolation key (SOCKS5 credentials, as Tor's
 *   IsolateSOCKSAuth) is part of the pool key, so different keys never share
 *   a session, and each key picks its own exit.
 * - Exit selection: for an exit target, the candidates are the directory's
 *   descriptors whose exit policy allows host:port (exitAllows); one is
 *   picked at random and kept for that isolation key until rotation, while
 *   it still allows the target. None: APP_NO_EXIT (SOCKS reply 0x02).
 */
import type { Duplex } from 'node:stream';
import { encodeAddress, parseAddress, toHex } from '@skymesh/crypto';
import { exitAllows, type NodeDescriptor } from '@skymesh/protocol';
import { SessionError, type StreamTarget } from '@skymesh/protocol/stream';
import type { MeshTarget, OpenStreamOptions } from '../contracts.js';
import { awaitConnectReply } from './connect-reply.js';
import { AppError } from './errors.js';

/** What the dialer needs from a session (SessionClient has it). */
export interface DialSession {
  readonly ready: Promise<void>;
  readonly closed: Promise<unknown>;
  readonly state: string;
  openStream(target: StreamTarget): Duplex;
  close(): Promise<void>;
}

/** Options of createStreamDialer. */
export interface StreamDialerInit {
  /** Starts a session (building routes as needed) to the node with this Ed25519 key. */
  openSession(destination: Uint8Array): DialSession;
  /** The verified directory the node holds (for exit selection). */
  descriptors(): readonly NodeDescriptor[];
  /** This node's key: never picked as its own exit. */
  self?: Uint8Array;
  /** How long a session takes new streams. @default 600000 (10 minutes) */
  rotateMs?: number;
  /** Bound on waiting for a session and the connect reply. @default 15000 */
  connectTimeoutMs?: number;
  /** @default Math.random */
  random?: () => number;
  /** @default Date.now */
  now?: () => number;
}

/** One pooled session, for the API. */
export interface DialSessionInfo {
  /** Destination address (without .mesh). */
  readonly destination: string;
  /** Isolation group number (credentials themselves are never shown). */
  readonly group: number;
  readonly ageMs: number;
  readonly streams: number;
  /** True once rotated out: it takes no new streams and closes when empty. */
  readonly draining: boolean;
  readonly state: string;
}

export interface DialerStats {
  opened: number;
  failed: Record<string, number>;
  sessionsOpened: number;
  rotations: number;
}

/** Opens accepted app streams. See the module comment. */
export interface StreamDialer {
  /**
   * Opens a stream to `target` and waits for the destination to accept it.
   * @throws AppError APP_NO_EXIT | APP_BAD_TARGET | APP_CONNECT_REFUSED (details.wireCode) |
   *   APP_CONNECT_TIMEOUT | APP_CONNECT_FAILED | APP_CLOSED
   */
  open(target: MeshTarget, options?: OpenStreamOptions): Promise<Duplex>;
  sessions(): DialSessionInfo[];
  /**
   * Rotates out every pooled session older than rotateMs (idle ones close
   * at once, busy ones drain). Runs on a timer every min(rotateMs, 60 s);
   * exposed for tests.
   */
  sweep(): void;
  stats(): DialerStats;
  /** Closes every session; later opens fail with APP_CLOSED. */
  close(): Promise<void>;
}

interface Entry {
  readonly key: string;
  readonly destination: string;
  readonly group: number;
  readonly session: DialSession;
  readonly createdAt: number;
  streams: number;
  draining: boolean;
  state(): string;
}

/** Isolation keys remembered (group numbers, sticky exits); the oldest are forgotten first. */
export const MAX_REMEMBERED = 4096;

/**
 * Sets k → v in a map holding at most `max` keys, forgetting the least
 * recently set: any number of SOCKS credentials costs bounded memory.
 */
export function remember<K, V>(map: Map<K, V>, k: K, v: V, max = MAX_REMEMBERED): void {
  map.delete(k);
  map.set(k, v);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

/** Creates a dialer. See StreamDialer. */
export function createStreamDialer(init: StreamDialerInit): StreamDialer {
  const rotateMs = init.rotateMs ?? 600_000;
  const connectTimeoutMs = init.connectTimeoutMs ?? 15_000;
  const random = init.random ?? Math.random;
  const now = init.now ?? Date.now;
  const selfHex = init.self ? toHex(init.self) : '';
  const pool = new Map<string, Entry>();
  const all = new Set<Entry>();
  const groups = new Map<string, number>();
  const exits = new Map<string, { key: Uint8Array; chosenAt: number }>();
  const stats: DialerStats = { opened: 0, failed: {}, sessionsOpened: 0, rotations: 0 };
  let closed = false;
  const sweepTimer = setInterval(() => sweep(), Math.min(rotateMs, 60_000));
  sweepTimer.unref();

  function sweep(): void {
    const t = now();
    for (const entry of [...pool.values()]) {
      if (t - entry.createdAt >= rotateMs) retire(entry);
    }
  }

  let nextGroup = 0;
  const groupOf = (isolation: string) => {
    let g = groups.get(isolation);
    if (g === undefined) {
      g = nextGroup++;
      remember(groups, isolation, g);
    }
    return g;
  };

  function retire(entry: Entry): void {
    if (pool.get(entry.key) === entry) pool.delete(entry.key);
    if (!entry.draining) stats.rotations++;
    entry.draining = true;
    if (entry.streams === 0) {
      all.delete(entry);
      void entry.session.close().catch(() => {});
    }
  }

  function sessionFor(destination: Uint8Array, isolation: string, fresh: boolean): Entry {
    const destHex = toHex(destination);
    const key = `${isolation}\u0000${destHex}`;
    const current = pool.get(key);
    if (current) {
      const stale = fresh || now() - current.createdAt >= rotateMs || current.state() === 'closed';
      if (!stale) return current;
      retire(current);
    }
    const session = init.openSession(destination);
    const entry: Entry = {
      key,
      destination: encodeAddress(destination),
      group: groupOf(isolation),
      session,
      createdAt: now(),
      streams: 0,
      draining: false,
      state: () => session.state,
    };
    stats.sessionsOpened++;
    pool.set(key, entry);
    all.add(entry);
    session.ready.catch(() => {});
    void session.closed.then(() => {
      if (pool.get(key) === entry) pool.delete(key);
      all.delete(entry);
    });
    return entry;
  }

  function pickExit(host: string, port: number, isolation: string): Uint8Array {
    const sticky = exits.get(isolation);
    const dir = init.descriptors();
    if (sticky && now() - sticky.chosenAt < rotateMs) {
      const d = dir.find((x) => toHex(x.publicKey) === toHex(sticky.key));
      if (d && exitAllows(d, host, port)) return d.publicKey;
    }
    const candidates = dir.filter(
      (d) => toHex(d.publicKey) !== selfHex && exitAllows(d, host, port),
    );
    if (candidates.length === 0) {
      throw new AppError('APP_NO_EXIT', `no exit in the directory allows ${host}:${port}`, {
        host,
        port,
      });
    }
    const chosen = candidates[Math.floor(random() * candidates.length)]!;
    remember(exits, isolation, { key: chosen.publicKey, chosenAt: now() });
    return chosen.publicKey;
  }

  function resolve(target: MeshTarget, isolation: string): { dest: Uint8Array; st: StreamTarget } {
    if (!Number.isInteger(target.port) || target.port < 1 || target.port > 0xffff) {
      throw new AppError('APP_BAD_TARGET', 'port must be 1..65535', { port: target.port });
    }
    if (target.kind === 'service') {
      let dest: Uint8Array;
      try {
        dest = parseAddress(target.address);
      } catch (err) {
        throw new AppError('APP_BAD_TARGET', 'not a valid .mesh address', {
          cause: (err as { code?: string }).code,
        });
      }
      // Name '' = a service published on the port (createNode's convention).
      return { dest, st: { name: '', port: target.port } };
    }
    const host = target.host;
    if (host.length === 0 || new TextEncoder().encode(host).length > 255) {
      throw new AppError('APP_BAD_TARGET', 'host must be 1..255 bytes');
    }
    return { dest: pickExit(host, target.port, isolation), st: { name: host, port: target.port } };
  }

  function openOn(entry: Entry, st: StreamTarget): Duplex {
    const stream = entry.session.openStream(st);
    entry.streams++;
    stream.once('close', () => {
      entry.streams--;
      if (entry.draining && entry.streams === 0) retire(entry);
    });
    return stream;
  }

  return {
    async open(target, options = {}) {
      const isolation = options.isolation ?? '';
      try {
        if (closed) throw new AppError('APP_CLOSED', 'the dialer is closed');
        const { dest, st } = resolve(target, isolation);
        let stream: Duplex;
        try {
          stream = openOn(sessionFor(dest, isolation, false), st);
        } catch (err) {
          // A full or just-closed session: move to a fresh one once.
          if (!(err instanceof SessionError)) throw err;
          stream = openOn(sessionFor(dest, isolation, true), st);
        }
        await awaitConnectReply(stream, connectTimeoutMs, options.signal);
        stats.opened++;
        return stream;
      } catch (err) {
        const e =
          err instanceof AppError
            ? err
            : new AppError('APP_CONNECT_FAILED', 'could not open a stream', {
                cause: (err as { code?: string }).code ?? String(err),
              });
        stats.failed[e.code] = (stats.failed[e.code] ?? 0) + 1;
        throw e;
      }
    },
    sessions() {
      const t = now();
      return [...all].map((e) => ({
        destination: e.destination,
        group: e.group,
        ageMs: t - e.createdAt,
        streams: e.streams,
        draining: e.draining,
        state: e.session.state,
      }));
    },
    stats: () => ({ ...stats, failed: { ...stats.failed } }),
    sweep,
    async close() {
      closed = true;
      clearInterval(sweepTimer);
      const sessions = [...all].map((e) => e.session);
      pool.clear();
      all.clear();
      await Promise.all(sessions.map((s) => s.close().catch(() => {})));
    },
  };
}
