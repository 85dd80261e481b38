/**
 * `pnpm bench` in packages/crypto: one JSON line per operation and backend
 * ({ op, backend, ops_per_s, MB_per_s? }), then a summary line with the
 * native/noble ratios the foundation issue sets targets for (≥ 10× for
 * X25519 and Ed25519 verify). Both backends run in the same process and
 * alternate in rounds (BENCH_ROUNDS, each of BENCH_MS / rounds per op and
 * backend); ops_per_s is the median round, so a burst of load from other
 * processes moves both sides of a ratio alike instead of one.
 */
import {
  availableBackends,
  blake2b,
  type CryptoBackend,
  chacha20poly1305Open,
  chacha20poly1305Seal,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  hmac,
  randomBytes,
  ready,
  sha256,
  useBackend,
  x25519,
  x25519Generate,
  xchacha20poly1305Seal,
} from '../src/index.js';
import { extraBenchmarks } from './extra.js';

const TIME_MS = Number(process.env.BENCH_MS ?? 400);

export interface BenchOp {
  op: string;
  bytes?: number;
  fn: () => unknown;
}

/** Calls per second of `fn` over about `ms` milliseconds. */
function measure(fn: () => unknown, ms: number): number {
  // Batches grow until one takes ~1 ms, so slow ops (a noble handshake)
  // still stop on time and fast ones do not time every call.
  let batch = 1;
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) fn();
    n += batch;
    const t = performance.now();
    if (t - now < 1 && batch < 256) batch *= 2;
    now = t;
  }
  return (n * 1000) / (now - start);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? 0;
}

function ops(): BenchOp[] {
  const peer = x25519Generate();
  const me = x25519Generate();
  const seed = new Uint8Array(32).fill(7);
  const pub = ed25519PublicKey(seed);
  const msg = new Uint8Array(64).fill(1);
  const sig = ed25519Sign(seed, msg);
  const key = new Uint8Array(32).fill(3);
  const n12 = new Uint8Array(12);
  const n24 = new Uint8Array(24);
  const small = new Uint8Array(64);
  const big = new Uint8Array(16384);
  const kib = new Uint8Array(1024);
  const cell = new Uint8Array(2048);
  const sealedSmall = chacha20poly1305Seal(key, n12, small);
  const sealedCell = chacha20poly1305Seal(key, n12, cell);
  const mac64 = new Uint8Array(64);
  return [
    { op: 'x25519_dh', fn: () => x25519(me.secretKey, peer.publicKey) },
    { op: 'x25519_keygen', fn: () => x25519Generate() },
    { op: 'ed25519_sign', fn: () => ed25519Sign(seed, msg) },
    { op: 'ed25519_verify', fn: () => ed25519Verify(pub, msg, sig) },
    { op: 'chacha20poly1305_seal_64B', bytes: 64, fn: () => chacha20poly1305Seal(key, n12, small) },
    {
      op: 'chacha20poly1305_open_64B',
      bytes: 64,
      fn: () => chacha20poly1305Open(key, n12, sealedSmall),
    },
    {
      op: 'chacha20poly1305_seal_2KiB',
      bytes: 2048,
      fn: () => chacha20poly1305Seal(key, n12, cell),
    },
    {
      op: 'chacha20poly1305_open_2KiB',
      bytes: 2048,
      fn: () => chacha20poly1305Open(key, n12, sealedCell),
    },
    {
      op: 'chacha20poly1305_seal_16KiB',
      bytes: 16384,
      fn: () => chacha20poly1305Seal(key, n12, big),
    },
    {
      op: 'xchacha20poly1305_seal_64B',
      bytes: 64,
      fn: () => xchacha20poly1305Seal(key, n24, small),
    },
    {
      op: 'xchacha20poly1305_seal_16KiB',
      bytes: 16384,
      fn: () => xchacha20poly1305Seal(key, n24, big),
    },
    { op: 'blake2b_1KiB', bytes: 1024, fn: () => blake2b(kib) },
    { op: 'hmac_blake2b_64B', bytes: 64, fn: () => hmac('blake2b', key, mac64) },
    { op: 'random_32B', fn: () => randomBytes(32) },
    { op: 'sha256_1KiB', bytes: 1024, fn: () => sha256(kib) },
    ...extraBenchmarks(),
  ];
}

await ready();
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const backends = availableBackends() as CryptoBackend[];
// Each backend's inputs are made while it is active (keys, handshake states).
const opsOf = backends.map((b) => {
  const prev = useBackend(b);
  const list = ops();
  useBackend(prev);
  return list;
});
const samples = new Map<string, number[]>();
const first = opsOf[0] ?? [];
for (let i = 0; i < first.length; i++) {
  for (let r = 0; r < ROUNDS; r++) {
    for (let j = 0; j < backends.length; j++) {
      const b = backends[(j + r) % backends.length] as CryptoBackend;
      const o = opsOf[(j + r) % backends.length]?.[i] as BenchOp;
      const prev = useBackend(b);
      if (r === 0) measure(o.fn, Math.min(20, TIME_MS / ROUNDS)); // warm-up
      const key = `${o.op}/${b.name}`;
      const list = samples.get(key) ?? [];
      list.push(measure(o.fn, TIME_MS / ROUNDS));
      samples.set(key, list);
      useBackend(prev);
    }
  }
}
const results = new Map<string, number>();
for (let j = 0; j < backends.length; j++) {
  const b = backends[j] as CryptoBackend;
  for (const o of opsOf[j] ?? []) {
    const opsPerS = median(samples.get(`${o.op}/${b.name}`) ?? []);
    results.set(`${o.op}/${b.name}`, opsPerS);
    const line: Record<string, unknown> = {
      op: o.op,
      backend: b.name,
      ops_per_s: Math.round(opsPerS),
    };
    if (o.bytes) line.MB_per_s = Number(((opsPerS * o.bytes) / 1e6).toFixed(1));
    console.log(JSON.stringify(line));
  }
}
const ratio = (op: string) => {
  const n = results.get(`${op}/native`);
  const j = results.get(`${op}/noble`);
  return n && j ? Number((n / j).toFixed(1)) : null;
};
console.log(
  JSON.stringify({
    summary: 'native_vs_noble',
    x25519_dh: ratio('x25519_dh'),
    ed25519_verify: ratio('ed25519_verify'),
    ed25519_sign: ratio('ed25519_sign'),
    chacha20poly1305_seal_64B: ratio('chacha20poly1305_seal_64B'),
    chacha20poly1305_seal_2KiB: ratio('chacha20poly1305_seal_2KiB'),
    chacha20poly1305_seal_16KiB: ratio('chacha20poly1305_seal_16KiB'),
    target: 'x25519_dh >= 10 and ed25519_verify >= 10',
  }),
);
