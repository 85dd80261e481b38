/**
 * The SOCKS5 proxy (RFC 1928, CONNECT only; address types IPv4, domain and
 * IPv6; RFC 1929 username/password). `<address>.mesh` targets go to the
 * service that node publishes on the port; anything else goes out through
 * an exit (see dialer.ts). Each connection is its own mesh stream.
 *
 * Authentication: with no `users` configured the proxy takes "no auth", and
 * also takes any username/password a client offers, using it only as the
 * isolation key (Tor's IsolateSOCKSAuth); with `users` it requires a listed
 * pair. Binding anywhere but loopback requires `users`.
 *
 * Robustness: the handshake is parsed from a buffer capped at 1 KiB with a
 * deadline; bad input gets the matching SOCKS error reply (or a close) and
 * never affects other connections. Mesh failures map to reply codes (see
 * REPLY_FOR_WIRE_CODE); the dialer bounds the connect time, so no client
 * waits forever.
 */
import { type AddressInfo, createServer, isIPv6, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { MESH_TLD } from '@skymesh/crypto';
import { WireCode } from '@skymesh/protocol/stream';
import type { MeshTarget, OpenStreamOptions } from '../contracts.js';
import { wireCodeOf } from './connect-reply.js';
import { AppError } from './errors.js';
import { joinStreams } from './pipe.js';

/** SOCKS5 reply codes (RFC 1928 §6). */
export const SocksReply = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

/** Stream wire code → SOCKS5 reply; anything else is GENERAL_FAILURE. */
export const REPLY_FOR_WIRE_CODE: Readonly<Record<number, number>> = {
  [WireCode.NOT_ALLOWED]: SocksReply.NOT_ALLOWED,
  [WireCode.NETWORK_UNREACHABLE]: SocksReply.NETWORK_UNREACHABLE,
  [WireCode.HOST_UNREACHABLE]: SocksReply.HOST_UNREACHABLE,
  [WireCode.CONNECTION_REFUSED]: SocksReply.CONNECTION_REFUSED,
  [WireCode.TTL_EXPIRED]: SocksReply.TTL_EXPIRED,
  [WireCode.REFUSED]: SocksReply.CONNECTION_REFUSED,
};

/** The SOCKS5 reply code for a failed open (AppError or anything else). */
export function socksReplyFor(err: unknown): number {
  return REPLY_FOR_WIRE_CODE[wireCodeOf(err)] ?? SocksReply.GENERAL_FAILURE;
}

/** What the proxy needs: the dialer's open(). */
export interface SocksOpener {
  open(target: MeshTarget, options?: OpenStreamOptions): Promise<Duplex>;
}

/** Options of createSocksServer. */
export interface SocksServerInit {
  readonly dialer: SocksOpener;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 lets the OS choose. @default 1080 */
  readonly port?: number;
  /** username → password; when set, clients must authenticate (RFC 1929). */
  readonly users?: Readonly<Record<string, string>>;
  /** Isolate streams by SOCKS credentials (IsolateSOCKSAuth). @default true */
  readonly isolateByAuth?: boolean;
  /** Deadline for the SOCKS handshake. @default 10000 */
  readonly handshakeTimeoutMs?: number;
  /** Connections at once; more are closed at once. @default 1024 */
  readonly maxConnections?: number;
}

export interface SocksStats {
  active: number;
  accepted: number;
  /** Replies sent, by code (0 = succeeded). */
  replies: Record<number, number>;
  /** Connections closed for bad SOCKS input. */
  badRequests: number;
}

/** A running proxy. */
export interface SocksServer {
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }>;
  address(): { host: string; port: number } | null;
  readonly auth: 'none' | 'password';
  stats(): SocksStats;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

const MAX_HANDSHAKE = 1024;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

class BadSocks extends Error {
  constructor(
    readonly reply: number | null,
    message: string,
  ) {
    super(message);
  }
}

/** Creates the proxy (not yet listening). See SocksServer. */
export function createSocksServer(init: SocksServerInit): SocksServer {
  const host = init.host ?? '127.0.0.1';
  const users = init.users ? new Map(Object.entries(init.users)) : null;
  if (!LOOPBACK.has(host) && (!users || users.size === 0)) {
    throw new AppError('APP_BAD_CONFIG', 'a SOCKS5 proxy bound beyond loopback needs users', {
      host,
    });
  }
  const isolate = init.isolateByAuth ?? true;
  const handshakeTimeoutMs = init.handshakeTimeoutMs ?? 10_000;
  const maxConnections = init.maxConnections ?? 1024;
  const sockets = new Set<Socket>();
  const stats: SocksStats = { active: 0, accepted: 0, replies: {}, badRequests: 0 };
  let bound: { host: string; port: number } | null = null;

  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    if (sockets.size >= maxConnections) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    stats.accepted++;
    stats.active = sockets.size;
    socket.once('close', () => {
      sockets.delete(socket);
      stats.active = sockets.size;
    });
    socket.on('error', () => {});
    handle(socket);
  });

  function reply(socket: Socket, code: number): void {
    stats.replies[code] = (stats.replies[code] ?? 0) + 1;
    // BND.ADDR 0.0.0.0:0: the mesh has no meaningful bound address.
    socket.write(Uint8Array.of(5, code, 0, 1, 0, 0, 0, 0, 0, 0));
  }

  function handle(socket: Socket): void {
    let buf: Buffer = Buffer.alloc(0);
    let state: 'greeting' | 'auth' | 'request' | 'connecting' = 'greeting';
    let isolation = '';
    const timer = setTimeout(() => socket.destroy(), handshakeTimeoutMs);
    const abort = new AbortController();
    socket.once('close', () => {
      clearTimeout(timer);
      abort.abort();
    });

    const fail = (err: BadSocks) => {
      stats.badRequests++;
      clearTimeout(timer);
      socket.off('data', onData);
      if (err.reply !== null) reply(socket, err.reply);
      socket.end();
      socket.resume();
    };

    const onData = (chunk: Buffer) => {
      if (buf.length + chunk.length > MAX_HANDSHAKE) {
        fail(new BadSocks(null, 'handshake too long'));
        return;
      }
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      try {
        step();
      } catch (err) {
        if (err instanceof BadSocks) fail(err);
        else socket.destroy();
      }
    };

    // Consumes complete messages from buf; returns when more bytes are needed.
    const step = () => {
      for (;;) {
        if (state === 'greeting') {
          if (buf.length < 2) return;
          if (buf[0] !== 5) throw new BadSocks(null, 'not SOCKS5');
          const n = buf[1]!;
          if (buf.length < 2 + n) return;
          const methods = buf.subarray(2, 2 + n);
          buf = buf.subarray(2 + n);
          const offersPassword = methods.includes(2);
          if (users || offersPassword) {
            if (!offersPassword) {
              socket.write(Uint8Array.of(5, 0xff));
              throw new BadSocks(null, 'no acceptable method');
            }
            socket.write(Uint8Array.of(5, 2));
            state = 'auth';
          } else if (methods.includes(0)) {
            socket.write(Uint8Array.of(5, 0));
            state = 'request';
          } else {
            socket.write(Uint8Array.of(5, 0xff));
            throw new BadSocks(null, 'no acceptable method');
          }
        } else if (state === 'auth') {
          if (buf.length < 2) return;
          if (buf[0] !== 1) throw new BadSocks(null, 'bad auth version');
          const ulen = buf[1]!;
          if (buf.length < 3 + ulen) return;
          const plen = buf[2 + ulen]!;
          if (buf.length < 3 + ulen + plen) return;
          const user = buf.subarray(2, 2 + ulen).toString('utf8');
          const pass = buf.subarray(3 + ulen, 3 + ulen + plen).toString('utf8');
          buf = buf.subarray(3 + ulen + plen);
          if (users && users.get(user) !== pass) {
            socket.write(Uint8Array.of(1, 1));
            throw new BadSocks(null, 'bad credentials');
          }
          socket.write(Uint8Array.of(1, 0));
          if (isolate) isolation = `${user}\u0000${pass}`;
          state = 'request';
        } else if (state === 'request') {
          const target = parseRequest(buf);
          if (target === null) return;
          buf = buf.subarray(target.length);
          state = 'connecting';
          connect(target.target);
          return;
        } else return;
      }
    };

    const connect = (target: MeshTarget) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      // Bytes the client sent right behind the request (optimistic data).
      const early = buf;
      init.dialer.open(target, { isolation, signal: abort.signal }).then(
        (stream) => {
          if (socket.destroyed) {
            stream.destroy();
            return;
          }
          reply(socket, SocksReply.SUCCEEDED);
          if (early.length > 0) socket.unshift(early);
          stream.on('error', () => {});
          void joinStreams(socket, stream);
        },
        (err: unknown) => {
          if (socket.destroyed) return;
          reply(socket, socksReplyFor(err));
          socket.end();
        },
      );
    };

    socket.on('data', onData);
    // A client that half-closes before its request is complete has given up.
    socket.once('end', () => {
      if (state !== 'connecting') socket.destroy();
    });
  }

  return {
    auth: users ? 'password' : 'none',
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(init.port ?? 1080, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          bound = { host: a.address, port: a.port };
          resolve(bound);
        });
      });
    },
    address: () => bound,
    stats: () => ({ ...stats, replies: { ...stats.replies } }),
    close() {
      return new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
      });
    },
  };
}

/**
 * Parses a CONNECT request at the start of `buf`: null when incomplete.
 * @throws BadSocks with the reply to send for a bad one
 */
function parseRequest(buf: Buffer): { target: MeshTarget; length: number } | null {
  if (buf.length < 5) return null;
  if (buf[0] !== 5) throw new BadSocks(SocksReply.GENERAL_FAILURE, 'bad version');
  if (buf[1] !== 1) throw new BadSocks(SocksReply.COMMAND_NOT_SUPPORTED, 'only CONNECT');
  const atyp = buf[3];
  let host: string;
  let end: number;
  if (atyp === 1) {
    end = 4 + 4;
    if (buf.length < end + 2) return null;
    host = [...buf.subarray(4, 8)].join('.');
  } else if (atyp === 3) {
    const n = buf[4]!;
    end = 5 + n;
    if (buf.length < end + 2) return null;
    if (n === 0) throw new BadSocks(SocksReply.HOST_UNREACHABLE, 'empty domain');
    host = buf.subarray(5, end).toString('utf8');
  } else if (atyp === 4) {
    end = 4 + 16;
    if (buf.length < end + 2) return null;
    const parts: string[] = [];
    for (let i = 4; i < 20; i += 2) parts.push(buf.readUInt16BE(i).toString(16));
    host = parts.join(':');
    if (!isIPv6(host)) throw new BadSocks(SocksReply.ADDRESS_TYPE_NOT_SUPPORTED, 'bad IPv6');
  } else {
    throw new BadSocks(SocksReply.ADDRESS_TYPE_NOT_SUPPORTED, 'unknown address type');
  }
  const port = buf.readUInt16BE(end);
  if (port === 0) throw new BadSocks(SocksReply.GENERAL_FAILURE, 'port 0');
  const lower = host.toLowerCase();
  const target: MeshTarget =
    atyp === 3 && lower.endsWith(MESH_TLD)
      ? { kind: 'service', address: lower.slice(0, -MESH_TLD.length), port }
      : { kind: 'exit', host, port };
  return { target, length: end + 2 };
}
