/**
 * The protocol's share of the data path, without I/O: CPU µs per 2 KiB cell
 * of a relay hop (open a 12-cell link frame, open each cell's forward layer
 * into the next cell, frame and seal them again), of the source's 3-hop
 * sealForwardCell, and of one 2 KiB ChaCha20-Poly1305 seal for scale. What
 * the whole-node benchmarks measure beyond this is the router, the link,
 * the transport and the kernel.
 *   pnpm exec tsx --conditions=@skymesh/source bench/layers.ts
 */
import { chacha20poly1305SealInto, Identity, randomBytes, ready } from '@skymesh/crypto';
import {
  FrameBuilder,
  FrameOpener,
  FrameSealer,
  LinkInitiator,
  LinkResponder,
  parseRecords,
} from '@skymesh/protocol/link';
import { cellBody, InnerType, relayForwardCell, sealForwardCell } from '@skymesh/protocol/onion';

await ready();
const CELLS_PER_FRAME = 12;
const FRAMES = 2000;
const N = CELLS_PER_FRAME * FRAMES;
const a = Identity.generate();
const b = Identity.generate();
const ini = new LinkInitiator({ identity: a, peerKey: b.publicKey });
const resp = new LinkResponder({ identity: b }).push(ini.message)!;
const done = ini.push(resp.reply)!;
const upstream = new FrameSealer(done.send);
const opener = new FrameOpener(resp.recv);
const downstream = new FrameSealer(done.recv);
const fwd = [randomBytes(32), randomBytes(32), randomBytes(32)];
const payload = randomBytes(1850);

const frames: Uint8Array[] = [];
for (let f = 0, counter = 0; f < FRAMES; f++) {
  const fb = new FrameBuilder(CELLS_PER_FRAME * 2049);
  for (let c = 0; c < CELLS_PER_FRAME; c++) {
    fb.addCell(sealForwardCell(1, fwd, counter++, InnerType.DATA, payload));
  }
  frames.push(fb.sealWith(upstream));
}

const usPerCell = (run: () => void) => {
  const t0 = process.cpuUsage();
  run();
  const u = process.cpuUsage(t0);
  return Math.round(((u.user + u.system) / N) * 100) / 100;
};

const relay_hop = usPerCell(() => {
  let counter = 0;
  for (const frame of frames) {
    const out = new FrameBuilder(CELLS_PER_FRAME * 2049);
    for (const pt of opener.push(frame)) {
      for (const rec of parseRecords(pt)) {
        if (rec.type === 'cell')
          out.addCell(relayForwardCell(2, fwd[0]!, counter++, cellBody(rec.cell))!);
      }
    }
    out.sealWith(downstream);
  }
});
const source_seal_3hop = usPerCell(() => {
  for (let k = 0; k < N; k++) sealForwardCell(1, fwd, k, InnerType.DATA, payload);
});
const key = randomBytes(32);
const nonce = new Uint8Array(12);
const buf = new Uint8Array(2043);
const aead_seal_2KiB = usPerCell(() => {
  for (let k = 0; k < N; k++) chacha20poly1305SealInto(buf, key, nonce, buf.subarray(0, 2027));
});
console.log(
  JSON.stringify({ relay_hop, source_seal_3hop, aead_seal_2KiB, unit: 'cpu_us_per_cell' }),
);
