/**
 * Mirror mode: follow an upstream route server. Every sync asks for the diff
 * since the version held (or the full snapshot the first time, or when the
 * upstream no longer has that diff), and checks everything itself before
 * taking it: the upstream's signature under the configured key, and every
 * descriptor's own node signature. A tampered or rolled-back answer is
 * refused and counted; the mirror keeps serving what it had.
 *
 * The mirror then serves the directory under its OWN key (its snapshots and
 * diffs carry the upstream's version numbers): clients trust the mirror's
 * key for links, and still check each descriptor's node signature.
 */
import { DirectoryError, verifyDiff, verifySnapshot } from '@skymesh/protocol/directory';
import type { Logger } from 'pino';
import type { DirectoryService } from './directory.js';
import { RouteServerError } from './errors.js';

/** Options of a Mirror. */
export interface MirrorOptions {
  /** Base URL of the upstream, e.g. https://routes.example.org */
  upstreamUrl: string;
  /** The upstream's Ed25519 public key. */
  upstreamKey: Uint8Array;
  /** @default 5000 */
  intervalMs?: number;
  /** Largest snapshot accepted. @default 64 MiB */
  maxBytes?: number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  logger?: Logger | undefined;
}

/** What one sync did. */
export type SyncResult = { kind: 'snapshot' | 'diff' | 'none'; version: number };

export class Mirror {
  /** Syncs that succeeded / failed. */
  syncs = 0;
  failures = 0;
  /** Code of the last failure, or null after a success. */
  lastError: string | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<unknown> | null = null;
  private synced = false;
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly maxBytes: number;

  constructor(
    private readonly service: DirectoryService,
    private readonly opts: MirrorOptions,
  ) {
    this.base = opts.upstreamUrl.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? globalThis.fetch;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  }

  /** True once a snapshot was taken. */
  get ready(): boolean {
    return this.synced;
  }

  /**
   * One sync: diff since the version held, or a full snapshot.
   * @throws DirectoryError (signature, rollback, size), RouteServerError RS_UNAVAILABLE
   */
  async syncOnce(): Promise<SyncResult> {
    try {
      const r = await this.sync();
      this.syncs++;
      this.lastError = null;
      return r;
    } catch (err) {
      this.failures++;
      this.lastError = (err as { code?: string })?.code ?? 'RS_INTERNAL';
      throw err;
    }
  }

  /** Syncs now and then every intervalMs; failures are logged, never thrown. */
  start(): void {
    if (this.timer) return;
    const tick = () => {
      if (this.running) return;
      this.running = this.syncOnce()
        .catch((err) => this.opts.logger?.warn({ err, code: this.lastError }, 'mirror sync failed'))
        .finally(() => {
          this.running = null;
        });
    };
    tick();
    this.timer = setInterval(tick, this.opts.intervalMs ?? 5000);
    this.timer.unref?.();
  }

  /** Stops syncing and waits for a sync in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private async sync(): Promise<SyncResult> {
    const verify = { serverKey: this.opts.upstreamKey, maxSize: this.maxBytes };
    if (this.synced) {
      const since = this.service.state.version;
      const res = await this.get(`/v1/diff?since=${since}`);
      if (res.status !== 410) {
        const diff = verifyDiff(await this.body(res), verify);
        if (diff.toVersion === since) return { kind: 'none', version: since };
        try {
          this.service.adoptDiff(diff);
          return { kind: 'diff', version: diff.toVersion };
        } catch (err) {
          // A diff that does not fit (the upstream restarted, say): take a snapshot.
          if (!(err instanceof DirectoryError && err.code === 'DIRECTORY_DIFF_MISMATCH')) throw err;
        }
      }
    }
    const snap = verifySnapshot(await this.body(await this.get('/v1/snapshot')), verify);
    this.service.adoptSnapshot(snap);
    this.synced = true;
    return { kind: 'snapshot', version: snap.version };
  }

  private async get(path: string): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetchFn(this.base + path, { signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      throw new RouteServerError('RS_UNAVAILABLE', 'upstream unreachable', {
        cause: String((err as Error)?.message ?? err),
      });
    }
    if (!res.ok && res.status !== 410) {
      await res.body?.cancel();
      throw new RouteServerError('RS_UNAVAILABLE', `upstream answered ${res.status}`, {
        status: res.status,
      });
    }
    return res;
  }

  // Reads a body without ever holding more than maxBytes.
  private async body(res: Response): Promise<Uint8Array> {
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > this.maxBytes) {
      await res.body?.cancel();
      throw new DirectoryError('DIRECTORY_TOO_LARGE', 'upstream answer too large', {
        size: declared,
        max: this.maxBytes,
      });
    }
    if (!res.body) return new Uint8Array(0);
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > this.maxBytes) {
        throw new DirectoryError('DIRECTORY_TOO_LARGE', 'upstream answer too large', {
          max: this.maxBytes,
        });
      }
      parts.push(chunk);
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
