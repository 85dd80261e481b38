/**
 * An in-process stand-in for a mesh, for tests of the apps: every node is a
 * session server whose streams go to its StreamAcceptor, and a source's
 * dialer reaches any node through in-memory routes (no onion layers: the
 * route layer is tested on its own). Not used in production paths.
 */
import { execFile } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, connect as netConnect } from 'node:net';
import { Identity } from '@skymesh/crypto';
import { type ExitPolicy, type NodeDescriptor, signDescriptor } from '@skymesh/protocol';
import type { StreamTarget } from '@skymesh/protocol/stream';
import { createSessionClient } from '../session/client.js';
import { createMemoryRoutePair } from '../session/memory-route.js';
import { createSessionServer, type SessionServer } from '../session/server.js';
import type { SessionStream } from '../session/stream.js';
import { createStreamAcceptor, type StreamAcceptor } from './acceptor.js';
import { createStreamDialer, type StreamDialer, type StreamDialerInit } from './dialer.js';
import type { AppError } from './errors.js';

/** One node of the test mesh. */
export interface AppsTestNode {
  readonly identity: Identity;
  readonly descriptor: NodeDescriptor;
  readonly acceptor: StreamAcceptor;
  readonly server: SessionServer;
}

export interface AppsTestNodeInit {
  publish?: Record<string | number, string>;
  exitPolicy?: ExitPolicy;
  connectTimeoutMs?: number;
  /** Replaces the acceptor (e.g. a destination that never answers). */
  onStream?: (stream: SessionStream, target: StreamTarget) => void;
}

export interface AppsTestMesh {
  readonly nodes: AppsTestNode[];
  addNode(init?: AppsTestNodeInit): AppsTestNode;
  /** A dialer on a fresh source node that sees every node's descriptor. */
  dialer(extra?: Partial<StreamDialerInit>): StreamDialer;
  /** Sessions opened by every dialer so far. */
  readonly sessionsOpened: { count: number };
  close(): Promise<void>;
}

/** Builds an empty test mesh; add nodes with addNode. */
export function createAppsTestMesh(): AppsTestMesh {
  const nodes: AppsTestNode[] = [];
  const dialers: StreamDialer[] = [];
  const sessionsOpened = { count: 0 };
  return {
    nodes,
    sessionsOpened,
    addNode(init = {}) {
      const identity = Identity.generate();
      const exit = init.exitPolicy !== undefined;
      const descriptor = signDescriptor(
        {
          roles: { relay: true, exit },
          endpoints: [],
          pricePerMiB: 0n,
          ...(exit ? { exitPolicy: init.exitPolicy } : {}),
        },
        identity.seed,
      );
      const acceptor = createStreamAcceptor({
        address: identity.address,
        publish: init.publish ?? {},
        descriptor: () => descriptor,
        ...(init.connectTimeoutMs ? { connectTimeoutMs: init.connectTimeoutMs } : {}),
      });
      const server = createSessionServer({
        identity,
        onStream: init.onStream ?? ((stream, target) => acceptor.onStream(stream, target)),
      });
      const node = { identity, descriptor, acceptor, server };
      nodes.push(node);
      return node;
    },
    dialer(extra = {}) {
      const d = createStreamDialer({
        openSession(destination) {
          sessionsOpened.count++;
          const hex = Buffer.from(destination).toString('hex');
          const node = nodes.find((n) => Buffer.from(n.identity.publicKey).toString('hex') === hex);
          return createSessionClient({
            destination,
            maxRouteAttempts: 1,
            openRoute: async () => {
              if (!node) throw new Error('no such node');
              const pair = createMemoryRoutePair({ queueLimit: 256 });
              node.server.acceptRoute(pair.b);
              return pair.a;
            },
          });
        },
        descriptors: () => nodes.map((n) => n.descriptor),
        ...extra,
      });
      dialers.push(d);
      return d;
    },
    async close() {
      await Promise.all(dialers.map((d) => d.close()));
      for (const n of nodes) {
        n.acceptor.close();
        n.server.close();
      }
    },
  };
}

/** A loopback HTTP server answering GET /bytes/<n> with n pattern bytes, anything else "hello". */
export async function startTestHttpServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createHttpServer((req, res) => {
    const m = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
    if (m) {
      const body = patternBody(Number(m[1]));
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
      return;
    }
    res.end(`hello from ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The body /bytes/<n> serves: deterministic, so tests can hash it. */
export function patternBody(n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Runs /usr/bin/curl with `args` (bounded time and output); resolves with exit code and stdout. */
export function runCurl(
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/curl',
      ['--silent', '--show-error', '--max-time', String(Math.ceil(timeoutMs / 1000)), ...args],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs + 5000 },
      (err, stdout, stderr) => {
        const code = err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0;
        resolve({ code, stdout, stderr: stderr.toString() });
      },
    );
  });
}

/**
 * Sends raw bytes to a TCP port (then half-closes when `end`) and collects
 * what comes back until the peer closes (bounded).
 */
export function rawExchange(
  port: number,
  bytes: Uint8Array,
  timeoutMs = 5000,
  end = false,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = netConnect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => {
      if (end) socket.end(bytes);
      else socket.write(bytes);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('rawExchange timed out'));
    }, timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** True when nothing accepts TCP connections on 127.0.0.1:`port` (the port was freed). */
export function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/** Awaits `p`: the AppError (or other error) it rejected with, or null when it resolved. */
export async function rejectionOf(p: Promise<unknown>): Promise<AppError | null> {
  try {
    await p;
    return null;
  } catch (err) {
    return err as AppError;
  }
}
