/**
 * A reproducible synthetic directory for tests, benchmarks and local
 * demos: n signed nodes with public IPv4 endpoints, some exits, and links
 * between nodes near each other on a ring (so latency has structure: nearby
 * nodes are cheap, far ones are expensive). Not for production use.
 */
import { ed25519PublicKey } from '@skymesh/crypto';
import { decodeDescriptor, encodeDescriptor, signDescriptor } from '../descriptor/descriptor.js';
import { DirectoryState } from './state.js';

/** Options of syntheticDirectory. */
export interface SyntheticOptions {
  nodes: number;
  links: number;
  /** PRNG seed. @default 1 */
  seed?: number;
  /** Share of nodes that are exits for ports 80 and 443, any host. @default 0.1 */
  exitShare?: number;
  /** Descriptor issue time (Unix seconds). @default now */
  issuedAt?: number;
}

/** A synthetic directory and the seeds of its nodes (index = node number). */
export interface Synthetic {
  state: DirectoryState;
  seeds: Uint8Array[];
  publicKeys: Uint8Array[];
}

/** A small seeded PRNG (mulberry32): uniform [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The 32-byte seed of synthetic node `i` under `seed`. */
export function syntheticSeed(seed: number, i: number): Uint8Array {
  const s = new Uint8Array(32);
  const v = new DataView(s.buffer);
  v.setUint32(0, seed >>> 0);
  v.setUint32(4, i >>> 0);
  s[31] = 0x5a;
  return s;
}

/** The raw material of a synthetic directory: signed descriptors and links by node number. */
export interface SyntheticInputs {
  seeds: Uint8Array[];
  publicKeys: Uint8Array[];
  /** Signed descriptor encodings, by node number. */
  descriptors: Uint8Array[];
  /** [a, b, rttMicros, capacity] with node numbers a ≠ b, no pair twice. */
  links: [number, number, number, number][];
}

/** Signs n descriptors and draws the links, without building a state. */
export function syntheticInputs(opts: SyntheticOptions): SyntheticInputs {
  const seed = opts.seed ?? 1;
  const rnd = seededRandom(seed);
  const issuedAt = opts.issuedAt ?? Math.floor(Date.now() / 1000);
  const exitShare = opts.exitShare ?? 0.1;
  const seeds: Uint8Array[] = [];
  const publicKeys: Uint8Array[] = [];
  const descriptors: Uint8Array[] = [];
  for (let i = 0; i < opts.nodes; i++) {
    const s = syntheticSeed(seed, i);
    const exit = rnd() < exitShare;
    const host = `${1 + Math.floor(rnd() * 222)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)}`;
    const desc = signDescriptor(
      {
        roles: { relay: true, exit },
        endpoints: [{ transport: 'ws', host, port: 1024 + Math.floor(rnd() * 60000) }],
        pricePerMiB: BigInt(Math.floor(rnd() * 1000)),
        exitPolicy: exit
          ? {
              ports: [
                { from: 80, to: 80 },
                { from: 443, to: 443 },
              ],
              hosts: ['*'],
            }
          : undefined,
        issuedAt,
      },
      s,
    );
    seeds.push(s);
    publicKeys.push(ed25519PublicKey(s));
    descriptors.push(encodeDescriptor(desc));
  }
  const n = opts.nodes;
  const want = Math.min(opts.links, (n * (n - 1)) / 2);
  const span = Math.max(2, Math.ceil((want / Math.max(n, 1)) * 2.5));
  const seen = new Set<number>();
  const links: [number, number, number, number][] = [];
  for (let tries = 0; links.length < want && tries < want * 20; tries++) {
    const a = Math.floor(rnd() * n);
    const off = 1 + Math.floor(rnd() * Math.min(span, n - 1));
    const b = (a + off) % n;
    const pair = Math.min(a, b) * n + Math.max(a, b);
    if (a === b || seen.has(pair)) continue;
    seen.add(pair);
    // Ring distance drives latency: 2 ms base plus up to ~50 ms, with noise.
    const rtt = Math.round(2000 + (off / span) * 50_000 * (0.5 + rnd()));
    links.push([a, b, rtt, 1000 + Math.floor(rnd() * 100_000)]);
  }
  return { seeds, publicKeys, descriptors, links };
}

/** Builds the directory (descriptors signed, links confirmed directly) and commits it. */
export function syntheticDirectory(opts: SyntheticOptions): Synthetic {
  const inputs = syntheticInputs(opts);
  const state = new DirectoryState();
  const keys: string[] = [];
  for (const bytes of inputs.descriptors) {
    const desc = decodeDescriptor(bytes);
    state.putNode(desc, bytes);
    keys.push(state.node(desc.publicKey)!.key);
  }
  for (const [a, b, rtt, cap] of inputs.links) state.putLink(keys[a]!, keys[b]!, rtt, cap);
  state.commit();
  return { state, seeds: inputs.seeds, publicKeys: inputs.publicKeys };
}
