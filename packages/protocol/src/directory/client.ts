/**
 * HTTP client of a route server's API (docs/route-server.md §API), over any
 * `fetch` (a browser's, Node's, or one that tunnels through the mesh). It
 * checks what it can itself: a route answer's signature under the server
 * key it was given, bound to the query it sent with a fresh nonce (so a
 * relay carrying the query cannot choose the paths), every descriptor in
 * the answer against its node signature and address, and bodies against a
 * size cap. Snapshots and diffs come back as bytes for a DirectoryReplica
 * to verify; `sync` does both steps.
 */
import { concatBytes, encodeAddress, randomBytes } from '@skymesh/crypto';
import { fromBase64Url, toBase64Url } from '../codec/base64url.js';
import {
  MAX_DESCRIPTOR_SIZE,
  type NodeDescriptor,
  verifyDescriptor,
} from '../descriptor/descriptor.js';
import { ProtocolError } from '../errors.js';
import { DirectoryError } from './errors.js';
import type { DirectoryReplica } from './replica.js';
import { ROUTE_NONCE_BYTES, routeQueryDigest, verifyRouteAnswer } from './route-answer.js';
import { MAX_SNAPSHOT_SIZE } from './snapshot.js';

/** Thrown when the route server answers with an error: `code` is the server's code as sent. */
export class RouteServerResponseError extends ProtocolError<string> {}

/** Options of a RouteServerClient. */
export interface RouteServerClientOptions {
  /** e.g. "https://routes.example.org" */
  baseUrl: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Largest body read. @default MAX_SNAPSHOT_SIZE */
  maxBytes?: number;
  /**
   * The route server's (or mirror's) public key: route answers must be
   * signed by it. `route()` refuses to run without it.
   */
  serverKey?: Uint8Array;
}

/** A route query in the JSON form the server takes (addresses as text). */
export interface RouteQueryJSON {
  source?: string;
  destination: { address: string } | { exit: { host: string; port: number } };
  minHops?: number;
  maxHops?: number;
  k?: number;
  exclude?: string[];
  spread?: number;
  /** Base64url bytes the answer's signature must cover; route() draws 32 random bytes when unset. */
  nonce?: string;
}

/** One hop of a route answer, its descriptor verified. */
export interface VerifiedHop {
  address: string;
  desc: NodeDescriptor;
  bytes: Uint8Array;
}

/** One path of a route answer. */
export interface VerifiedPath {
  hops: VerifiedHop[];
  rttMicros: number;
  diverse: boolean;
}

export class RouteServerClient {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly maxBytes: number;
  private readonly serverKey: Uint8Array | undefined;

  constructor(opts: RouteServerClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.maxBytes = opts.maxBytes ?? MAX_SNAPSHOT_SIZE;
    this.serverKey = opts.serverKey?.slice();
  }

  /** Publishes a signed descriptor. @throws RouteServerResponseError */
  async publishDescriptor(bytes: Uint8Array): Promise<{
    address: string;
    changed: boolean;
    heldUntil: number;
    version: number;
  }> {
    return this.json('POST', '/v1/descriptors', { descriptor: toBase64Url(bytes) });
  }

  /** Publishes a signed link report. @throws RouteServerResponseError */
  async publishReport(bytes: Uint8Array): Promise<{ confirmed: number; version: number }> {
    return this.json('POST', '/v1/link-reports', { report: toBase64Url(bytes) });
  }

  /**
   * Asks for paths (with a fresh random nonce unless the query has one) and
   * verifies the answer: its signature under `serverKey`, over the digest of
   * the query sent, the version and every path; and every hop's descriptor
   * (signature, validity at `now`, address).
   * @throws RouteServerResponseError; DirectoryError DIRECTORY_BAD_SIGNATURE |
   *   DIRECTORY_BAD_DESCRIPTOR | DIRECTORY_WRONG_SERVER (no serverKey configured)
   */
  async route(query: RouteQueryJSON, now?: number): Promise<VerifiedPath[]> {
    const serverKey = this.serverKey;
    if (!serverKey) {
      throw new DirectoryError(
        'DIRECTORY_WRONG_SERVER',
        'route answers cannot be checked: the client has no serverKey',
      );
    }
    const sent: RouteQueryJSON = {
      ...query,
      nonce: query.nonce ?? toBase64Url(randomBytes(ROUTE_NONCE_BYTES)),
    };
    const body = await this.json<{
      version: number;
      signature: string;
      paths: {
        rttMicros: number;
        diverse: boolean;
        hops: { address: string; descriptor: string }[];
      }[];
    }>('POST', '/v1/routes', sent);
    if (!Array.isArray(body?.paths)) throw malformed('paths');
    const paths = body.paths.map((p) => ({
      rttMicros: Number(p?.rttMicros),
      diverse: p?.diverse === true,
      hops: (Array.isArray(p?.hops) ? p.hops : []).map((h) => verifiedHop(h, now)),
    }));
    let signature: Uint8Array | undefined;
    try {
      signature = fromBase64Url(String(body.signature), 64, 'signature');
    } catch {
      signature = undefined;
    }
    verifyRouteAnswer(
      serverKey,
      { queryDigest: routeQueryDigest(sent), version: Number(body.version) },
      paths.map((p) => ({
        rttMicros: p.rttMicros,
        diverse: p.diverse,
        hops: p.hops.map((h) => ({ publicKey: h.desc.publicKey, bytes: h.bytes })),
      })),
      signature,
    );
    return paths;
  }

  /** The signed snapshot bytes (verify them with a DirectoryReplica). */
  async snapshot(): Promise<Uint8Array> {
    return this.bytes(await this.request('GET', '/v1/snapshot'));
  }

  /** The signed diff since `since`, or null when the server no longer has it (410). */
  async diff(since: number): Promise<Uint8Array | null> {
    const res = await this.request('GET', `/v1/diff?since=${since}`, undefined, [410]);
    if (res.status === 410) {
      await res.body?.cancel();
      return null;
    }
    return this.bytes(res);
  }

  /**
   * Brings a replica up to date: a diff when it holds a version, else (or
   * when the diff does not fit) a snapshot.
   * @throws whatever the replica's loaders and the requests throw
   */
  async sync(replica: DirectoryReplica): Promise<'snapshot' | 'diff'> {
    if (replica.version !== null) {
      const d = await this.diff(replica.version);
      if (d && replica.loadDiff(d)) return 'diff';
    }
    replica.loadSnapshot(await this.snapshot());
    return 'snapshot';
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body);
    const text = new TextDecoder().decode(await this.bytes(res));
    try {
      return JSON.parse(text) as T;
    } catch {
      throw malformed('json');
    }
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    allowed: number[] = [],
  ): Promise<Response> {
    const res = await this.fetchFn(this.base + path, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    if (res.ok || allowed.includes(res.status)) return res;
    let code = 'RS_UNAVAILABLE';
    let message = `route server answered ${res.status}`;
    try {
      const e = JSON.parse(new TextDecoder().decode(await this.bytes(res))) as {
        error?: { code?: unknown; message?: unknown };
      };
      if (typeof e.error?.code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(e.error.code)) {
        code = e.error.code;
        if (typeof e.error.message === 'string') message = e.error.message.slice(0, 200);
      }
    } catch {
      // Not our error shape: keep the status.
    }
    throw new RouteServerResponseError(code, message, { status: res.status });
  }

  // Reads a body without ever holding more than maxBytes.
  private async bytes(res: Response): Promise<Uint8Array> {
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > this.maxBytes) {
      await res.body?.cancel();
      throw tooLarge(declared, this.maxBytes);
    }
    if (!res.body) return new Uint8Array(0);
    const reader = res.body.getReader();
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > this.maxBytes) {
        await reader.cancel();
        throw tooLarge(size, this.maxBytes);
      }
      parts.push(value);
    }
    return concatBytes(...parts);
  }
}

function tooLarge(size: number, max: number): DirectoryError {
  return new DirectoryError('DIRECTORY_TOO_LARGE', 'route server answer too large', { size, max });
}

function malformed(field: string): RouteServerResponseError {
  return new RouteServerResponseError('RS_MALFORMED', `route server answer: bad ${field}`, {
    field,
  });
}

function verifiedHop(h: { address: string; descriptor: string }, now?: number): VerifiedHop {
  try {
    const bytes = fromBase64Url(String(h?.descriptor), MAX_DESCRIPTOR_SIZE, 'descriptor');
    const desc = verifyDescriptor(bytes, now === undefined ? {} : { now });
    const address = encodeAddress(desc.publicKey);
    if (address !== h.address) throw new Error('address mismatch');
    return { address, desc, bytes };
  } catch (err) {
    throw new DirectoryError('DIRECTORY_BAD_DESCRIPTOR', 'a hop descriptor does not verify', {
      cause: (err as { code?: string }).code ?? 'ADDRESS_MISMATCH',
    });
  }
}
