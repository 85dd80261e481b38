/**
 * A pool of worker threads for the gateway's two Ed25519 jobs: verifying
 * each incoming call's signature and signing each receipt. On one thread
 * they are most of the gateway's CPU (~60 + ~50 µs per transfer idle), and
 * they would hold up the single writer; in workers they run beside it on
 * the other cores. Requests made in the same turn of the event loop are sent
 * together, one message per worker, so crossing threads costs little per
 * call. `size: 0` gives the same API computed inline (tests, one core).
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ed25519Verify } from '@skymesh/crypto';
import { GatewayError, type Receipt, signReceipt } from '@skymesh/protocol/gateway';

/** A message to a worker: one list of verifications or receipt signings. */
export type PoolRequest =
  | { id: number; kind: 'verify'; jobs: [Uint8Array, Uint8Array, Uint8Array][] }
  | { id: number; kind: 'sign'; jobs: Omit<Receipt, 'signature'>[] };

/** A worker's answer: 1/0 per verification, or one signature per receipt. */
export type PoolReply =
  | { id: number; ok: Uint8Array }
  | { id: number; signatures: Uint8Array[] }
  | { id: number; error: string };

export interface CryptoPool {
  /** True when `signature` by `publicKey` over `message` is valid (never throws for bad input). */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** The gateway's signature of a receipt (what signReceipt would put in it). */
  signReceipt(r: Omit<Receipt, 'signature'>): Promise<Uint8Array>;
  /** Stops the workers; pending requests reject. */
  close(): Promise<void>;
  /** The worker threads now (empty when inline); a dead one is replaced in place. */
  readonly workers: readonly Worker[];
}

/** Default pool size: one worker per core, at most 4. */
export function defaultPoolSize(): number {
  return Math.min(4, availableParallelism());
}

interface Waiting<T> {
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

/** Starts `size` workers holding the gateway seed (0 → inline, no threads). */
export function createCryptoPool(seed: Uint8Array, size = defaultPoolSize()): CryptoPool {
  if (size <= 0) return inlinePool(seed);
  // Requests sent and not answered, by id, with the worker they went to and
  // their message (kept so a request lost with its worker can be sent again).
  const pending = new Map<
    number,
    {
      worker: number;
      message: PoolRequest;
      retried: boolean;
      done: (reply: PoolReply) => void;
      fail: (e: unknown) => void;
    }
  >();
  let closed = false;
  /** Set when a worker fails before any worker of the pool ever answered: the install is broken. */
  let broken: unknown;
  /** True once any worker has answered: from then on the install is known to work. */
  let started = false;
  const workers: Worker[] = [];
  /** Per slot: its worker is dead and a replacement is waiting out a back-off. */
  const down: boolean[] = [];
  /** Per slot: replacements in a row that died before answering (sets the back-off). */
  const failures: number[] = [];
  const timers = new Set<NodeJS.Timeout>();
  // A worker that fails or exits is replaced, so the pool heals. Its requests
  // are pure (verify, sign), so each is sent once more to the replacement; one
  // lost a second time fails with GW_INTERNAL (a job that kills its worker
  // cannot take the pool down in a loop). If no worker of the pool has ever
  // answered, the install is broken: nothing is restarted, everything waiting
  // fails. Once the pool has worked, a replacement that dies before answering
  // is restarted after a back-off (50 ms doubling to 5 s), so the slot heals
  // without spinning if the install went bad; new work goes to live slots.
  const lost = (index: number, worker: Worker, answered: boolean, err: unknown) => {
    // 'error' is followed by 'exit'; a slot that is down already lost this worker.
    if (workers[index] !== worker || down[index]) return;
    if (!started) broken ??= err;
    for (const [id, p] of pending) {
      if (broken === undefined && p.worker !== index) continue;
      if (broken === undefined && !closed && !p.retried) {
        p.retried = true; // posted again when the slot's replacement starts
        continue;
      }
      pending.delete(id);
      p.fail(
        closed
          ? new GatewayError('GW_UNAVAILABLE', 'signature pool closed')
          : new GatewayError('GW_INTERNAL', 'signature worker died', { cause: String(err) }),
      );
    }
    if (closed || broken !== undefined) return;
    failures[index] = answered ? 0 : (failures[index] ?? 0) + 1;
    if (failures[index] === 0) return spawn(index);
    down[index] = true;
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        if (!closed) spawn(index);
      },
      Math.min(5000, 50 * 2 ** (failures[index]! - 1)),
    );
    timer.unref();
    timers.add(timer);
  };
  const spawn = (index: number) => {
    const w = startWorker(seed);
    let answered = false;
    workers[index] = w;
    down[index] = false;
    w.unref();
    w.on('message', (reply: PoolReply) => {
      answered = true;
      started = true;
      const p = pending.get(reply.id);
      pending.delete(reply.id);
      p?.done(reply);
    });
    w.on('error', (err) => lost(index, w, answered, err));
    w.on('exit', (code) => lost(index, w, answered, new Error(`crypto worker exited (${code})`)));
    // Requests waiting for this slot: lost with its last worker, or sent while it was down.
    for (const p of pending.values()) if (p.worker === index) w.postMessage(p.message);
  };
  for (let i = 0; i < size; i++) spawn(i);
  let nextId = 0;
  let turn = 0;
  /** The next slot in turn with a live worker (if all are down, the next slot: sent when it restarts). */
  const pick = () => {
    for (let k = 0; k < workers.length; k++) {
      const i = turn++ % workers.length;
      if (!down[i]) return i;
    }
    return turn++ % workers.length;
  };

  // Requests of one event-loop turn, flushed together.
  let verifies: { job: [Uint8Array, Uint8Array, Uint8Array]; w: Waiting<boolean> }[] = [];
  let signs: { job: Omit<Receipt, 'signature'>; w: Waiting<Uint8Array> }[] = [];
  let scheduled = false;

  const send = <J, R>(
    kind: 'verify' | 'sign',
    list: { job: J; w: Waiting<R> }[],
    take: (reply: PoolReply, i: number) => R,
  ) => {
    // Split evenly over the workers (small lists go to fewer of them).
    const parts = Math.min(workers.length, Math.ceil(list.length / 16));
    const per = Math.ceil(list.length / parts);
    for (let start = 0; start < list.length; start += per) {
      const chunk = list.slice(start, start + per);
      const id = nextId++;
      const worker = pick();
      const message = { id, kind, jobs: chunk.map((c) => c.job) } as PoolRequest;
      pending.set(id, {
        worker,
        message,
        retried: false,
        done: (reply) => {
          if ('error' in reply) {
            for (const c of chunk) c.w.reject(new Error(`crypto worker: ${reply.error}`));
            return;
          }
          for (let i = 0; i < chunk.length; i++) {
            try {
              chunk[i]!.w.resolve(take(reply, i));
            } catch (e) {
              chunk[i]!.w.reject(e);
            }
          }
        },
        fail: (e) => {
          for (const c of chunk) c.w.reject(e);
        },
      });
      if (!down[worker]) workers[worker]!.postMessage(message);
    }
  };

  const flush = () => {
    scheduled = false;
    const v = verifies;
    const s = signs;
    verifies = [];
    signs = [];
    if (closed || broken !== undefined) {
      const err =
        broken === undefined
          ? new GatewayError('GW_UNAVAILABLE', 'signature pool closed')
          : new GatewayError('GW_INTERNAL', 'signature pool cannot start', {
              cause: String(broken),
            });
      for (const x of v) x.w.reject(err);
      for (const x of s) x.w.reject(err);
      return;
    }
    if (v.length > 0) send('verify', v, (r, i) => 'ok' in r && r.ok[i] === 1);
    if (s.length > 0) {
      send('sign', s, (r, i) => {
        const sig = 'signatures' in r ? r.signatures[i] : undefined;
        if (!sig) throw new Error('crypto worker answered without a signature');
        return sig;
      });
    }
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };

  return {
    verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return Promise.resolve(false);
      return new Promise<boolean>((resolve, reject) => {
        verifies.push({ job: [publicKey, message, signature], w: { resolve, reject } });
        schedule();
      });
    },
    signReceipt(r) {
      return new Promise<Uint8Array>((resolve, reject) => {
        signs.push({ job: r, w: { resolve, reject } });
        schedule();
      });
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      flush();
      await Promise.all(workers.map((w) => w.terminate()));
      // Requests held for a slot that was down had no worker to lose them.
      for (const [id, p] of pending) {
        pending.delete(id);
        p.fail(new GatewayError('GW_UNAVAILABLE', 'signature pool closed'));
      }
    },
    workers,
  };
}

/**
 * One worker. Built, it is dist/crypto-worker.js. From source (tsx in
 * development, vitest) a worker does not inherit the TypeScript loader, so a
 * two-line bootstrap registers tsx's loader in the worker first; the
 * source condition makes workspace packages resolve to their .ts files.
 */
function startWorker(seed: Uint8Array): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./crypto-worker.js', import.meta.url), { workerData: { seed } });
  }
  const tsx = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const entry = new URL('./crypto-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, {
    eval: true,
    execArgv: ['--conditions=@skymesh/source'],
    workerData: { seed },
  });
}

/** The pool's API computed on the calling thread. */
function inlinePool(seed: Uint8Array): CryptoPool {
  return {
    verify: async (publicKey, message, signature) => ed25519Verify(publicKey, message, signature),
    signReceipt: async (r) => signReceipt(seed, r).signature,
    close: async () => {},
    workers: [],
  };
}
