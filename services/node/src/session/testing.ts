/**
 * Helpers for tests and benchmarks of anything built on sessions (the
 * session layer itself, SOCKS5, published services): a destination and a
 * source joined by in-memory routes, with every route kept so a test can
 * kill it, plus small stream utilities. Not used in production paths.
 */
import { Identity } from '@skymesh/crypto';
import type { RouteChannel } from '../contracts.js';
import { createSessionClient, type SessionClient, type SessionClientOptions } from './client.js';
import { createMemoryRoutePair, type MemoryRoutePair } from './memory-route.js';
import { createSessionServer, type SessionServer, type SessionServerOptions } from './server.js';
import type { SessionStream } from './stream.js';

/** Options of createTestSessions. */
export interface TestSessionsOptions {
  payloadSize?: number;
  queueLimit?: number;
  /** Passed to the server (identity and onStream are filled in). */
  server?: Partial<SessionServerOptions>;
  /** Passed to every client (destination and openRoute are filled in). */
  client?: Partial<SessionClientOptions>;
  /** Wraps each route's source end, e.g. to tamper with payloads. */
  wrapClientEnd?: (ch: RouteChannel, index: number) => RouteChannel;
}

/** A destination with its identity, and a factory for sources dialling it. */
export interface TestSessions {
  readonly identity: Identity;
  readonly server: SessionServer;
  /** Every route built so far, oldest first. */
  readonly routes: MemoryRoutePair[];
  /** Replaces the destination's stream handler. */
  onStream(handler: (stream: SessionStream) => void): void;
  /** A new source session to the destination over fresh in-memory routes. */
  connect(extra?: Partial<SessionClientOptions>): SessionClient;
  /** Kills the newest route. */
  killRoute(): void;
}

/** Builds a destination and a way to connect sources to it. */
export function createTestSessions(options: TestSessionsOptions = {}): TestSessions {
  const identity = Identity.generate();
  const routes: MemoryRoutePair[] = [];
  let handler: (stream: SessionStream) => void = (s) => s.destroy();
  const server = createSessionServer({
    ...options.server,
    identity,
    onStream: (s) => handler(s),
  });
  const openRoute = async (): Promise<RouteChannel> => {
    const pair = createMemoryRoutePair({
      payloadSize: options.payloadSize ?? 1900,
      queueLimit: options.queueLimit ?? 64,
    });
    routes.push(pair);
    server.acceptRoute(pair.b);
    return options.wrapClientEnd ? options.wrapClientEnd(pair.a, routes.length - 1) : pair.a;
  };
  return {
    identity,
    server,
    routes,
    onStream(h) {
      handler = h;
    },
    connect(extra = {}) {
      return createSessionClient({
        retryDelayMs: 1,
        ...options.client,
        ...extra,
        destination: extra.destination ?? identity.publicKey,
        openRoute: extra.openRoute ?? openRoute,
      });
    },
    killRoute() {
      routes[routes.length - 1]?.kill();
    },
  };
}

/** Reads a stream to its end. Rejects with the stream's error. */
export function readAll(stream: SessionStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** Deterministic pseudo-random bytes (xorshift32), different per seed. */
export function patternBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Writes `total` bytes in `chunk`-sized writes honouring backpressure, then ends. */
export async function writeAll(stream: SessionStream, data: Uint8Array, chunk = 64 * 1024) {
  for (let off = 0; off < data.length; off += chunk) {
    if (!stream.write(data.subarray(off, off + chunk))) {
      await new Promise<void>((r) => stream.once('drain', () => r()));
    }
  }
  stream.end();
}

/** Polls `cond` every 5 ms (up to `tries` times); rejects naming `what` if it never holds. */
export async function waitFor(cond: () => boolean, what: string, tries = 2000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise<void>((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Edits applied by interceptRoute; each gets the payload and its index in that direction. */
export interface RouteEdits {
  /** Payloads the wrapped end sends (return the bytes to send instead). */
  out?: (payload: Uint8Array, index: number) => Uint8Array;
  /** Payloads the wrapped end receives. */
  in?: (payload: Uint8Array, index: number) => Uint8Array;
}

/** Wraps a route end so a test can watch or change what passes through it. */
export function interceptRoute(ch: RouteChannel, edits: RouteEdits): RouteChannel {
  let nOut = 0;
  let nIn = 0;
  return {
    get payloadSize() {
      return ch.payloadSize;
    },
    get status() {
      return ch.status;
    },
    send: (p) => ch.send(edits.out ? edits.out(p, nOut++) : p),
    onPayload: (h) => ch.onPayload((p) => h(edits.in ? edits.in(p, nIn++) : p)),
    onDrain: (h) => ch.onDrain(h),
    onClose: (h) => ch.onClose(h),
    close: (r) => ch.close(r),
  };
}
