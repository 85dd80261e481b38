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
import {
  DirectoryError,
  RouteServerClient,
  RouteServerResponseError,
  verifyDiff,
  verifySnapshot,
} from '@skymesh/protocol/directory';
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
  private readonly client: RouteServerClient;
  private readonly maxBytes: number;

  constructor(
    private readonly service: DirectoryService,
    private readonly opts: MirrorOptions,
  ) {
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.client = new RouteServerClient({
      baseUrl: opts.upstreamUrl,
      maxBytes: this.maxBytes,
      fetch: opts.fetch ?? timedFetch,
    });
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
      const bytes = await this.fetching(() => this.client.diff(since));
      if (bytes) {
        const diff = verifyDiff(bytes, verify);
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
    const snap = verifySnapshot(await this.fetching(() => this.client.snapshot()), verify);
    this.service.adoptSnapshot(snap);
    this.synced = true;
    return { kind: 'snapshot', version: snap.version };
  }

  // Network failures and upstream errors become RS_UNAVAILABLE (with the upstream's code).
  private async fetching<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DirectoryError) throw err;
      const upstream = err instanceof RouteServerResponseError ? err.code : null;
      throw new RouteServerError('RS_UNAVAILABLE', 'upstream failed', {
        upstream,
        cause: String((err as Error)?.message ?? err),
      });
    }
  }
}

// The global fetch with a 30 s limit per request.
const timedFetch: typeof fetch = (input, init) =>
  globalThis.fetch(input, { ...init, signal: AbortSignal.timeout(30_000) });
