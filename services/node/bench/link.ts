/**
 * Link layer benchmark: handshakes per second (pure crypto, and whole
 * ws connects), cell throughput between two managers over ws on
 * 127.0.0.1, and ping RTT. `runLinkBench()` is called by the node bench;
 * run alone with `pnpm exec tsx --conditions=@skymesh/source bench/link.ts`.
 * Prints JSON. Numbers are noisy on a shared machine.
 */
import { pathToFileURL } from 'node:url';
import { Identity, ready } from '@skymesh/crypto';
import { CELL_SIZE } from '@skymesh/protocol';
import { LinkInitiator, LinkResponder } from '@skymesh/protocol/link';
import {
  createLinkManager,
  type LinkManager,
  type SecureLink,
  webSocketTransport,
} from '../src/link/index.js';

export interface LinkBenchOptions {
  /** Handshakes timed (crypto only). @default 200 */
  handshakes?: number;
  /** ws connects timed. @default 50 */
  connects?: number;
  /** Cells sent one way for throughput. @default 20000 */
  cells?: number;
  /** Pings timed. @default 300 */
  pings?: number;
}

export interface LinkBenchResult {
  handshakeCryptoPerSec: number;
  wsConnectPerSec: number;
  wsThroughputMBps: number;
  wsCellsPerSec: number;
  wsPingRttP50Us: number;
  wsPingRttP90Us: number;
  cellSize: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Runs the link benchmarks and returns their numbers. */
export async function runLinkBench(options: LinkBenchOptions = {}): Promise<LinkBenchResult> {
  await ready();
  const nHs = options.handshakes ?? 200;
  const nConnects = options.connects ?? 50;
  const nCells = options.cells ?? 20_000;
  const nPings = options.pings ?? 300;
  const alice = Identity.generate();
  const bob = Identity.generate();

  // Handshake crypto alone: both sides, in process.
  let t = performance.now();
  for (let i = 0; i < nHs; i++) {
    const ini = new LinkInitiator({ identity: alice, peerKey: bob.publicKey });
    const r = new LinkResponder({ identity: bob }).push(ini.message)!;
    ini.push(r.reply);
  }
  const handshakeCryptoPerSec = nHs / ((performance.now() - t) / 1000);

  const managers: LinkManager[] = [];
  const make = (identity = Identity.generate()) => {
    const m = createLinkManager({ identity, transports: [webSocketTransport()] });
    managers.push(m);
    return m;
  };
  try {
    const b = make(bob);
    const [ep] = await b.listen();
    const diallers = Array.from({ length: nConnects }, () => make());
    t = performance.now();
    for (const d of diallers) await d.connect(bob.publicKey, ep!);
    const wsConnectPerSec = nConnects / ((performance.now() - t) / 1000);

    const a = make(alice);
    const inbound = new Promise<SecureLink>((resolve) => {
      b.onLink((l) => {
        if (l.peerAddress === alice.address) resolve(l);
      });
    });
    const ab = await a.connect(bob.publicKey, ep!);
    const ba = await inbound;

    const cell = new Uint8Array(CELL_SIZE).fill(7);
    let received = 0;
    t = performance.now();
    const done = new Promise<void>((resolve) => {
      ba.onCell(() => {
        if (++received === nCells) resolve();
      });
    });
    let sent = 0;
    const pump = () => {
      while (sent < nCells && ab.sendCell(cell)) sent++;
    };
    ab.onDrain(pump);
    pump();
    await done;
    const secs = (performance.now() - t) / 1000;
    const wsThroughputMBps = (nCells * CELL_SIZE) / secs / 1e6;

    const rtts: number[] = [];
    for (let i = 0; i < nPings; i++) rtts.push((await ab.ping()) * 1000);
    rtts.sort((x, y) => x - y);
    return {
      handshakeCryptoPerSec: Math.round(handshakeCryptoPerSec),
      wsConnectPerSec: Math.round(wsConnectPerSec),
      wsThroughputMBps: Math.round(wsThroughputMBps * 10) / 10,
      wsCellsPerSec: Math.round(nCells / secs),
      wsPingRttP50Us: Math.round(percentile(rtts, 0.5)),
      wsPingRttP90Us: Math.round(percentile(rtts, 0.9)),
      cellSize: CELL_SIZE,
    };
  } finally {
    await Promise.all(managers.map((m) => m.close()));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runLinkBench().then(
    (r) => console.log(JSON.stringify({ link: r }, null, 2)),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
