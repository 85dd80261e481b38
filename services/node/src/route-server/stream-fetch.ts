/**
 * A `fetch` whose every request travels over a stream the caller opens:
 * here, a stream through the mesh to a service published at a .mesh
 * address (the route server), so the server sees the publishing node's
 * connection, never the asker's. One stream per request (HTTP/1.1,
 * `connection: close`), answers read under a size cap and a time bound.
 */
import { request } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SkymeshError } from '@skymesh/crypto';

/** Options of streamFetch. */
export interface StreamFetchOptions {
  /** Bound on one request, connect included (ms). @default 10000 */
  readonly timeoutMs?: number;
  /** Largest answer body read. @default 64 MiB */
  readonly maxBytes?: number;
}

/** Thrown (as the fetch's rejection) when the request cannot complete. */
export class StreamFetchError extends SkymeshError<'NODE_FETCH_FAILED'> {}

/**
 * A fetch over streams from `connect` (called once per request).
 * @example
 *   const f = streamFetch(() => dialer.open({ kind: 'service', address, port: 8401 }));
 *   const client = new RouteServerClient({ baseUrl: `http://${address}.mesh:8401`, fetch: f });
 */
export function streamFetch(
  connect: () => Promise<Duplex>,
  options: StreamFetchOptions = {},
): typeof fetch {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body =
      typeof init.body === 'string'
        ? Buffer.from(init.body)
        : init.body instanceof Uint8Array
          ? Buffer.from(init.body)
          : undefined;
    const headers: Record<string, string> = { connection: 'close' };
    for (const [k, v] of new Headers(init.headers ?? {})) headers[k] = v;
    if (body) headers['content-length'] = String(body.length);
    let stream: Duplex | undefined;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const fail = (why: string, cause?: unknown) =>
      new StreamFetchError('NODE_FETCH_FAILED', `request to ${url.host} ${why}`, {
        cause: (cause as { code?: string })?.code ?? (cause as Error)?.message,
      });
    try {
      return await new Promise<Response>((resolve, reject) => {
        timer = setTimeout(() => {
          stream?.destroy();
          reject(fail('timed out'));
        }, timeoutMs);
        connect().then(
          (s) => {
            if (settled) {
              s.destroy();
              return;
            }
            stream = s;
            const req = request({
              method: init.method ?? 'GET',
              host: url.hostname,
              port: url.port || 80,
              path: url.pathname + url.search,
              headers,
              createConnection: () => s as Socket,
            });
            req.on('error', (err) => reject(fail('failed', err)));
            req.on('response', (res) => {
              const parts: Buffer[] = [];
              let size = 0;
              res.on('data', (d: Buffer) => {
                size += d.length;
                if (size > maxBytes) {
                  res.destroy();
                  reject(fail('answer too large'));
                } else parts.push(d);
              });
              res.on('error', (err) => reject(fail('failed', err)));
              res.on('end', () => {
                const out = new Headers();
                for (const [k, v] of Object.entries(res.headers)) {
                  if (typeof v === 'string') out.set(k, v);
                }
                const status = res.statusCode ?? 502;
                const bytes = Buffer.concat(parts);
                resolve(
                  new Response(status === 204 || status === 304 ? null : bytes, {
                    status,
                    headers: out,
                  }),
                );
              });
            });
            req.end(body);
          },
          (err: unknown) => reject(fail('could not connect', err)),
        );
      });
    } finally {
      settled = true;
      clearTimeout(timer);
      stream?.destroy();
    }
  }) as typeof fetch;
}
