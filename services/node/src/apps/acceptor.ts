/**
 * The destination side of app streams: what a node does with a stream that
 * arrives over one of its sessions. A target named '' (or `<own
 * address>.mesh`) goes to the service published on that port (the publish map: mesh port →
 * local TCP host:port); any other name is an exit request, served only when
 * the node's own descriptor says it is an exit and its exit policy allows
 * host:port (exitAllows). Either way the node connects with a timeout,
 * answers with the connect reply (connect-reply.ts), and pipes both ways.
 * The local service sees a connection from this node's loopback side only:
 * it never learns who the client is.
 */

import { lookup } from 'node:dns/promises';
import { BlockList, isIP, connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { MESH_TLD } from '@skymesh/crypto';
import { exitAllows, hostMatches, type NodeDescriptor } from '@skymesh/protocol';
import { type StreamTarget, WireCode } from '@skymesh/protocol/stream';
import { sendConnectReply } from './connect-reply.js';
import { AppError } from './errors.js';
import { joinStreams } from './pipe.js';

/** A published service: where the node connects for streams to one mesh port. */
export interface PublishedService {
  readonly port: number;
  readonly host: string;
  readonly localPort: number;
}

/** Options of createStreamAcceptor. */
export interface StreamAcceptorInit {
  /** This node's address (without `.mesh`). */
  readonly address: string;
  /** Mesh port → "host:port" of a local TCP service. @default {} */
  readonly publish?: Readonly<Record<string | number, string>>;
  /** This node's signed descriptor; exit requests need roles.exit and a matching policy. */
  readonly descriptor?: () => NodeDescriptor | null;
  /** Bound on connecting to a service or exit target. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Streams served at once; more are refused with REFUSED. @default 1024 */
  readonly maxStreams?: number;
  /** Opens the TCP connection for a stream (tests watch it). @default connectWithTimeout */
  readonly connect?: (host: string, port: number, timeoutMs: number) => Promise<Socket>;
}

/** Counters for the API and /metrics. */
export interface AcceptorStats {
  /** Streams currently piped. */
  active: number;
  served: { service: number; exit: number };
  /** Refusals by wire code name (NOT_ALLOWED, CONNECTION_REFUSED, …). */
  refused: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
}

/** Handles incoming app streams; plug `onStream` into the session server. */
export interface StreamAcceptor {
  onStream(stream: Duplex, target: StreamTarget): void;
  readonly services: readonly PublishedService[];
  stats(): AcceptorStats;
  /** Destroys every active stream. */
  close(): void;
}

const WIRE_NAMES = new Map<number, string>(Object.entries(WireCode).map(([k, v]) => [v, k]));

/**
 * Parses a publish map ({ 80: "127.0.0.1:8080" }).
 * @throws AppError APP_BAD_CONFIG naming the bad entry
 */
export function parsePublishMap(
  publish: Readonly<Record<string | number, string>>,
): PublishedService[] {
  const out: PublishedService[] = [];
  for (const [key, value] of Object.entries(publish)) {
    const port = Number(key);
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(String(value));
    const localPort = m ? Number(m[2]) : Number.NaN;
    if (!isPort(port) || !m || !isPort(localPort)) {
      throw new AppError(
        'APP_BAD_CONFIG',
        `publish entry ${key}: "${value}" is not port → host:port`,
        {
          port: key,
        },
      );
    }
    const host = m[1]!.replace(/^\[|\]$/g, '');
    out.push({ port, host, localPort });
  }
  return out;
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 0xffff;
}

/** Addresses an exit never connects to by name unless its policy lists the IP itself. */
const internal = new BlockList();
internal.addSubnet('127.0.0.0', 8, 'ipv4');
internal.addSubnet('10.0.0.0', 8, 'ipv4');
internal.addSubnet('172.16.0.0', 12, 'ipv4');
internal.addSubnet('192.168.0.0', 16, 'ipv4');
internal.addSubnet('169.254.0.0', 16, 'ipv4');
internal.addSubnet('0.0.0.0', 8, 'ipv4');
internal.addAddress('::1', 'ipv6');
internal.addAddress('::', 'ipv6');
internal.addSubnet('fc00::', 7, 'ipv6');
internal.addSubnet('fe80::', 10, 'ipv6');
// IPv4-mapped IPv6 (::ffff:127.0.0.1) would otherwise slip past the IPv4 rules.
internal.addSubnet('::ffff:0:0', 96, 'ipv6');

/** True when the policy names `ip` itself (not through '*' or a '*.' pattern). */
function listsIP(desc: NodeDescriptor, ip: string): boolean {
  return desc.exitPolicy.hosts.some((p) => p !== '*' && !p.startsWith('*.') && hostMatches(p, ip));
}

/** Maps a TCP connect failure to the stream wire code the source turns into a SOCKS reply. */
export function wireCodeForSocketError(err: NodeJS.ErrnoException | Error): number {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ECONNREFUSED':
      return WireCode.CONNECTION_REFUSED;
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
      return WireCode.HOST_UNREACHABLE;
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return WireCode.NETWORK_UNREACHABLE;
    case 'ETIMEDOUT':
    case 'APP_CONNECT_TIMEOUT':
      return WireCode.TTL_EXPIRED;
    default:
      return WireCode.INTERNAL;
  }
}

/** Creates the destination-side handler. See StreamAcceptor. */
export function createStreamAcceptor(init: StreamAcceptorInit): StreamAcceptor {
  const services = parsePublishMap(init.publish ?? {});
  const byPort = new Map(services.map((s) => [s.port, s]));
  const ownName = `${init.address.toLowerCase()}${MESH_TLD}`;
  const connectTimeoutMs = init.connectTimeoutMs ?? 10_000;
  const maxStreams = init.maxStreams ?? 1024;
  const active = new Set<Duplex>();
  const stats: AcceptorStats = {
    active: 0,
    served: { service: 0, exit: 0 },
    refused: {},
    bytesIn: 0,
    bytesOut: 0,
  };

  function refuse(stream: Duplex, code: number): void {
    const name = WIRE_NAMES.get(code) ?? String(code);
    stats.refused[name] = (stats.refused[name] ?? 0) + 1;
    sendConnectReply(stream, code);
  }

  async function serve(stream: Duplex, target: StreamTarget): Promise<void> {
    const name = target.name.toLowerCase();
    let host: string;
    let port: number;
    let kind: 'service' | 'exit';
    // The source names a service with '' (createNode's convention) or the full .mesh name.
    if (name === '' || name === ownName) {
      const svc = byPort.get(target.port);
      if (!svc) return refuse(stream, WireCode.CONNECTION_REFUSED);
      host = svc.host;
      port = svc.localPort;
      kind = 'service';
    } else {
      if (name.endsWith(MESH_TLD)) return refuse(stream, WireCode.NOT_ALLOWED);
      const desc = init.descriptor?.() ?? null;
      if (!desc || !exitAllows(desc, target.name, target.port)) {
        return refuse(stream, WireCode.NOT_ALLOWED);
      }
      host = target.name.replace(/^\[|\]$/g, '');
      port = target.port;
      kind = 'exit';
      if (isIP(host) === 0) {
        try {
          host = (await lookup(host)).address;
        } catch (err) {
          return refuse(stream, wireCodeForSocketError(err as Error));
        }
      }
      // The exit's own networks (loopback, private, link-local) are reachable
      // only when the policy lists that IP itself: '*' or a name that
      // resolves there (DNS pointing at 127.0.0.1) is not enough.
      if (internal.check(host, isIP(host) === 6 ? 'ipv6' : 'ipv4') && !listsIP(desc, host)) {
        return refuse(stream, WireCode.NOT_ALLOWED);
      }
    }
    if (stream.destroyed) return;
    let socket: Socket;
    try {
      socket = await (init.connect ?? connectWithTimeout)(host, port, connectTimeoutMs);
    } catch (err) {
      return refuse(stream, wireCodeForSocketError(err as Error));
    }
    if (stream.destroyed) {
      socket.destroy();
      return;
    }
    stats.served[kind]++;
    sendConnectReply(stream, 0);
    socket.on('data', (d: Buffer) => {
      stats.bytesOut += d.length;
    });
    stream.on('data', (d: Buffer) => {
      stats.bytesIn += d.length;
    });
    await joinStreams(socket, stream);
  }

  return {
    services,
    onStream(stream, target) {
      stream.on('error', () => {});
      if (active.size >= maxStreams) {
        refuse(stream, WireCode.REFUSED);
        return;
      }
      active.add(stream);
      stats.active = active.size;
      serve(stream, target)
        .catch(() => stream.destroy())
        .finally(() => {
          active.delete(stream);
          stats.active = active.size;
        });
    },
    stats: () => ({
      ...stats,
      served: { ...stats.served },
      refused: { ...stats.refused },
    }),
    close() {
      for (const s of active) s.destroy();
    },
  };
}

/** Connects to host:port; rejects with the socket error or an APP_CONNECT_TIMEOUT-coded error. */
export function connectWithTimeout(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error('connect timed out'), { code: 'APP_CONNECT_TIMEOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
