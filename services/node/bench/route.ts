/**
 * Route-layer benchmark, in process over in-memory links (no sockets):
 *   - setup_ms_p50: 3-hop route build (setup packet out, destination's ACK back)
 *   - throughput through 3-hop and 4-hop routes (payload MB/s, one direction)
 *   - bytes of heap per idle route at a relay (SETUP cells fed straight to one relay)
 *   - per-cell crypto cost of the layer operations, and ChaCha20-Poly1305 on
 *     ~2 KiB by node:crypto (OpenSSL) vs libsodium, the two native choices
 * Prints one JSON object. Run:
 *   pnpm exec tsx --conditions=@skymesh/source bench/route.ts
 * All routers share one thread, so throughput here is the whole route's work
 * on one core; deployed, each hop runs on its own machine.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  backend,
  type CryptoBackend,
  chacha20poly1305Open,
  chacha20poly1305Seal,
  Identity,
  ready,
  useBackend,
} from '@skymesh/crypto';
import {
  addBackwardLayer,
  CELL_BODY_SIZE,
  createSetupPacket,
  encodeCell,
  InnerType,
  openBackward,
  openForward,
  ROUTE_PAYLOAD_SIZE,
  RouteCommand,
  sealBackward,
  sealForward,
} from '@skymesh/protocol/onion';
import {
  createCellLinkPair,
  createFakeMesh,
  createRouter,
  ROUTE_ID_SIDE_BIT,
} from '../src/route/index.js';

export interface RouteBenchResult {
  setup_ms_p50: number;
  setup_ms_p90: number;
  throughput_3hop_MBps: number;
  throughput_4hop_MBps: number;
  relay_idle_route_bytes: number;
  per_cell_us: Record<string, number>;
  /** The same layer operations with every ChaCha20-Poly1305 call on OpenSSL. */
  per_cell_us_openssl: Record<string, number>;
  aead_2k_us: {
    openssl_seal: number;
    sodium_seal: number;
    openssl_open: number;
    sodium_open: number;
  };
  /** One layer (AEAD seal, best native choice) per cell size: µs and MB/s of cell bytes. */
  layer_by_cell_size: Record<string, { us: number; MBps: number }>;
}

function usPerOp(fn: () => unknown, ms = 300): number {
  for (let i = 0; i < 100; i++) fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 32; i++) fn();
    n += 32;
    now = performance.now();
  }
  return Number((((now - start) * 1000) / n).toFixed(2));
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.min(s.length - 1, Math.floor(s.length * q))]!.toFixed(3));
}

async function benchSetup(count: number): Promise<{ p50: number; p90: number }> {
  const mesh = createFakeMesh(4);
  mesh.routers[3]!.onIncomingRoute((ch) => ch.close());
  const path = [1, 2, 3].map((i) => ({ publicKey: mesh.ids[i]!.publicKey }));
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const ch = await mesh.routers[0]!.buildRoute(path);
    times.push(performance.now() - t);
    ch.close();
  }
  mesh.close();
  return { p50: quantile(times, 0.5), p90: quantile(times, 0.9) };
}

async function benchThroughput(hops: number, ms: number): Promise<number> {
  const mesh = createFakeMesh(hops + 1, { link: { queueLimit: 128 } });
  let received = 0;
  mesh.routers[hops]!.onIncomingRoute((ch) => {
    ch.onPayload((p) => {
      received += p.length;
    });
  });
  const path = Array.from({ length: hops }, (_, i) => ({ publicKey: mesh.ids[i + 1]!.publicKey }));
  const ch = await mesh.routers[0]!.buildRoute(path);
  const payload = randomBytes(ROUTE_PAYLOAD_SIZE);
  let stop = false;
  const pump = () => {
    while (!stop && ch.send(payload)) {}
  };
  ch.onDrain(pump);
  const start = performance.now();
  pump();
  await new Promise((r) => setTimeout(r, ms));
  stop = true;
  const elapsed = (performance.now() - start) / 1000;
  mesh.close();
  return Number((received / elapsed / 1e6).toFixed(1));
}

/** Heap bytes per idle route at one relay: SETUP cells fed in, forwarded to a sink. */
async function benchIdleState(routes: number): Promise<number> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const relay = Identity.generate();
  const sink = Identity.generate();
  const source = Identity.generate();
  const up = createCellLinkPair(source.publicKey, relay.publicKey, { queueLimit: 1 << 20 });
  const down = createCellLinkPair(relay.publicKey, sink.publicKey, { queueLimit: 1 << 20 });
  const router = createRouter({
    identity: relay,
    getLink: () => down.a,
    sweepMs: 0,
    replay: { maxEntries: 1 << 20 },
    maxRoutes: 1 << 20,
    setupRate: { perSecond: 1e9, burst: 1e9 },
  });
  router.attachLink(up.b);
  const path = [{ publicKey: relay.publicKey }, { publicKey: sink.publicKey }];
  // The upstream end picks IDs with the side bit of the higher key (see ids.ts).
  const higher = Buffer.compare(source.publicKey, relay.publicKey) > 0;
  const bit = higher ? ROUTE_ID_SIDE_BIT : 0;
  const cells = Array.from({ length: routes }, (_, i) =>
    encodeCell(
      (bit | (i + 1)) >>> 0,
      RouteCommand.SETUP,
      createSetupPacket(path, { now: Date.now() }).packet,
    ),
  );
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  await settle();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < routes; i += 64) {
    for (const c of cells.slice(i, i + 64)) up.b.receive(c);
    await settle();
  }
  await settle();
  gc();
  const after = process.memoryUsage().heapUsed;
  const live = router.stats().routes.relay;
  router.close();
  if (live !== routes) throw new Error(`expected ${routes} relayed routes, got ${live}`);
  return Math.round((after - before) / routes);
}

function benchCells(): Record<string, number> {
  const key = () => new Uint8Array(randomBytes(32));
  const fwd3 = [key(), key(), key()];
  const bwd3 = [key(), key(), key()];
  const payload = new Uint8Array(randomBytes(ROUTE_PAYLOAD_SIZE));
  const body = sealForward(fwd3, 0, InnerType.DATA, payload);
  let back = sealBackward(bwd3[2]!, 0, InnerType.DATA, payload);
  back = addBackwardLayer(bwd3[1]!, 0, back);
  back = addBackwardLayer(bwd3[0]!, 0, back);
  return {
    source_seal_forward_3hop: usPerOp(() => sealForward(fwd3, 0, InnerType.DATA, payload)),
    relay_open_forward: usPerOp(() => openForward(fwd3[0]!, 0, body)),
    relay_add_backward: usPerOp(() => addBackwardLayer(bwd3[0]!, 0, body)),
    dest_seal_backward: usPerOp(() => sealBackward(bwd3[2]!, 0, InnerType.DATA, payload)),
    source_open_backward_3hop: usPerOp(() => openBackward(bwd3, 0, back)),
    encode_cell: usPerOp(() => encodeCell(1, RouteCommand.DATA, body)),
  };
}

function benchAead(): RouteBenchResult['aead_2k_us'] {
  const key = new Uint8Array(randomBytes(32));
  const nonce = new Uint8Array(12);
  const pt = new Uint8Array(randomBytes(CELL_BODY_SIZE - 16));
  const sealed = chacha20poly1305Seal(key, nonce, pt);
  const opensslSeal = () => {
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    const out = c.update(pt);
    c.final();
    return [out, c.getAuthTag()];
  };
  const opensslOpen = () => {
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    d.setAuthTag(sealed.subarray(pt.length));
    const out = d.update(sealed.subarray(0, pt.length));
    d.final();
    return out;
  };
  return {
    openssl_seal: usPerOp(opensslSeal),
    // Below 2048 bytes the native backend of @skymesh/crypto calls libsodium.
    sodium_seal: usPerOp(() => chacha20poly1305Seal(key, nonce, pt)),
    openssl_open: usPerOp(opensslOpen),
    sodium_open: usPerOp(() => chacha20poly1305Open(key, nonce, sealed)),
  };
}

/** The active backend with ChaCha20-Poly1305 always on OpenSSL (no libsodium below 2 KiB). */
function opensslAeadBackend(base: CryptoBackend): CryptoBackend {
  return {
    ...base,
    chacha20poly1305Seal: (key, nonce, pt, ad) => {
      const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      if (ad && ad.length > 0) c.setAAD(ad, { plaintextLength: pt.length });
      const out = new Uint8Array(pt.length + 16);
      out.set(c.update(pt), 0);
      c.final();
      out.set(c.getAuthTag(), pt.length);
      return out;
    },
    chacha20poly1305Open: (key, nonce, sealed, ad) => {
      const n = sealed.length - 16;
      const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      d.setAuthTag(sealed.subarray(n));
      if (ad && ad.length > 0) d.setAAD(ad, { plaintextLength: n });
      const out = new Uint8Array(d.update(sealed.subarray(0, n)));
      try {
        d.final();
      } catch {
        return null;
      }
      return out;
    },
  };
}

/** One layer's cost at other cell sizes: the lower of OpenSSL and libsodium per size. */
function benchCellSizes(): RouteBenchResult['layer_by_cell_size'] {
  const out: RouteBenchResult['layer_by_cell_size'] = {};
  const key = new Uint8Array(randomBytes(32));
  const nonce = new Uint8Array(12);
  for (const size of [512, 1024, 2048, 4096, 8192, 16384]) {
    const pt = new Uint8Array(randomBytes(size - 21));
    const openssl = usPerOp(() => {
      const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      c.update(pt);
      c.final();
      return c.getAuthTag();
    }, 200);
    const viaCrypto = usPerOp(() => chacha20poly1305Seal(key, nonce, pt), 200);
    const us = Math.min(openssl, viaCrypto);
    out[size] = { us, MBps: Number((size / us).toFixed(0)) };
  }
  return out;
}

function withBackend<T>(b: CryptoBackend, fn: () => T): T {
  const prev = useBackend(b);
  try {
    return fn();
  } finally {
    useBackend(prev);
  }
}

/** Runs every measurement and returns the numbers. */
export async function runRouteBench(): Promise<RouteBenchResult> {
  await ready();
  const setup = await benchSetup(60);
  const t3 = await benchThroughput(3, 1500);
  const t4 = await benchThroughput(4, 1500);
  const idle = await benchIdleState(2000);
  return {
    setup_ms_p50: setup.p50,
    setup_ms_p90: setup.p90,
    throughput_3hop_MBps: t3,
    throughput_4hop_MBps: t4,
    relay_idle_route_bytes: idle,
    per_cell_us: benchCells(),
    per_cell_us_openssl: withBackend(opensslAeadBackend(backend()), benchCells),
    aead_2k_us: benchAead(),
    layer_by_cell_size: benchCellSizes(),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runRouteBench().then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
