/**
 * `pnpm bench` in packages/crypto: one JSON line per operation and backend
 * ({ op, backend, ops_per_s, cpu_us, MB_per_s? }), then summary lines:
 * `native_vs_noble`, the default Node backend (sodium where sodium-native
 * loads) against noble, with the targets the foundation issue set (≥ 10×
 * for X25519 and Ed25519 verify); `sodium_vs_openssl`, the sodium backend
 * against node:crypto + libsodium WASM (the fallback). All backends run in
 * the same process and alternate in rounds (BENCH_ROUNDS, each of
 * BENCH_MS / rounds per op and backend); ops_per_s and cpu_us (process CPU
 * µs per call) are the median round, so a burst of load from other
 * processes moves every side of a ratio alike instead of one. Summary
 * ratios are CPU-µs ratios (base / fast: > 1 means faster).
 */
import {
  availableBackends,
  blake2b,
  type CryptoBackend,
  chacha20poly1305Open,
  chacha20poly1305OpenInto,
  chacha20poly1305Seal,
  chacha20poly1305SealInto,
  chacha20Xor,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  hmac,
  randomBytes,
  ready,
  sha256,
  sha512,
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

interface Sample {
  opsPerS: number;
  cpuUs: number;
}

/** Calls per second of `fn` over about `ms` milliseconds, and process CPU µs per call. */
function measure(fn: () => unknown, ms: number): Sample {
  // Batches grow until one takes ~1 ms, so slow ops (a noble handshake)
  // still stop on time and fast ones do not time every call.
  let batch = 1;
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) fn();
    n += batch;
    const t = performance.now();
    if (t - now < 1 && batch < 256) batch *= 2;
    now = t;
  }
  const cpu = process.cpuUsage(cpu0);
  return { opsPerS: (n * 1000) / (now - start), cpuUs: (cpu.user + cpu.system) / n };
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
  const cellOut = new Uint8Array(2048 + 16);
  const cellIn = new Uint8Array(2048);
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
      op: 'chacha20poly1305_seal_into_2KiB',
      bytes: 2048,
      fn: () => chacha20poly1305SealInto(cellOut, key, n12, cell),
    },
    {
      op: 'chacha20poly1305_open_into_2KiB',
      bytes: 2048,
      fn: () => chacha20poly1305OpenInto(cellIn, key, n12, sealedCell),
    },
    { op: 'chacha20_xor_2KiB', bytes: 2048, fn: () => chacha20Xor(cellIn, key, n12, 1, cell) },
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
    { op: 'sha256_64B', bytes: 64, fn: () => sha256(mac64) },
    { op: 'sha512_64B', bytes: 64, fn: () => sha512(mac64) },
    { op: 'hmac_sha256_64B', bytes: 64, fn: () => hmac('sha256', key, mac64) },
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
const samples = new Map<string, Sample[]>();
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
// Median CPU µs per call; ratios are taken from these (CPU time is what
// other processes on a shared machine disturb least).
const results = new Map<string, number>();
for (let j = 0; j < backends.length; j++) {
  const b = backends[j] as CryptoBackend;
  for (const o of opsOf[j] ?? []) {
    const list = samples.get(`${o.op}/${b.name}`) ?? [];
    const opsPerS = median(list.map((x) => x.opsPerS));
    const cpuUs = median(list.map((x) => x.cpuUs));
    results.set(`${o.op}/${b.name}`, cpuUs);
    const line: Record<string, unknown> = {
      op: o.op,
      backend: b.name,
      ops_per_s: Math.round(opsPerS),
      cpu_us: Number(cpuUs.toFixed(3)),
    };
    if (o.bytes) line.MB_per_s = Number(((opsPerS * o.bytes) / 1e6).toFixed(1));
    console.log(JSON.stringify(line));
  }
}
/** How many times cheaper in CPU `fast` is than `base` for `op`. */
const ratio = (op: string, fast: string, base: string) => {
  const n = results.get(`${op}/${fast}`);
  const j = results.get(`${op}/${base}`);
  return n && j ? Number((j / n).toFixed(1)) : null;
};
const ratios = (fast: string, base: string, list: string[]) =>
  Object.fromEntries(list.map((op) => [op, ratio(op, fast, base)]));
const KEY_OPS = [
  'x25519_dh',
  'ed25519_verify',
  'ed25519_sign',
  'chacha20poly1305_seal_64B',
  'chacha20poly1305_seal_2KiB',
  'chacha20poly1305_seal_16KiB',
];
// The default Node backend: the first one availableBackends() lists.
const defaultName = backends[0]?.name ?? 'noble';
console.log(
  JSON.stringify({
    summary: 'native_vs_noble',
    native: defaultName,
    ...ratios(defaultName, 'noble', KEY_OPS),
    target: 'x25519_dh >= 10 and ed25519_verify >= 10',
  }),
);
if (results.has('x25519_dh/sodium') && results.has('x25519_dh/openssl')) {
  console.log(
    JSON.stringify({
      summary: 'sodium_vs_openssl',
      ...ratios('sodium', 'openssl', [
        ...KEY_OPS,
        'chacha20poly1305_open_2KiB',
        'chacha20poly1305_seal_into_2KiB',
        'chacha20poly1305_open_into_2KiB',
        'chacha20_xor_2KiB',
        'blake2b_1KiB',
        'hmac_blake2b_64B',
        'sha256_64B',
        'sha512_64B',
        'noise_xk_handshake',
      ]),
    }),
  );
}
