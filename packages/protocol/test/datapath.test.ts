/**
 * The allocation-free data path: onion cells built and layered in place,
 * link frames sealed and opened in place, session records sealed into their
 * payload. Each is checked against the plain construction it replaces, so
 * the bytes on the wire are shown unchanged.
 */
import {
  CipherState,
  chacha20poly1305Seal,
  equalBytes,
  Identity,
  randomBytes,
  ready,
} from '@skymesh/crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CELL_SIZE, MAX_HOPS } from '../src/constants.js';
import {
  FrameBuilder,
  FrameOpener,
  FrameSealer,
  LinkInitiator,
  LinkResponder,
} from '../src/link/index.js';
import {
  allocCellBuffer,
  CELL_BODY_SIZE,
  cellBody,
  decodeRouteHeader,
  InnerType,
  LAYER_SHIFT,
  openBackward,
  openForward,
  openForwardInner,
  ROUTE_HEADER_SIZE,
  ROUTE_PAYLOAD_SIZE,
  RouteCommand,
  relayBackwardCell,
  relayForwardCell,
  sealBackwardCell,
  sealForwardCell,
} from '../src/onion/index.js';
import { keystream, layerNonce, NonceDomain, streamXor } from '../src/onion/keys.js';
import { MessageType, RecordCipher, sealRecord, sealRecordMessage } from '../src/stream/index.js';
import { runs, thrown } from './_fuzz.js';

beforeAll(async () => {
  await ready();
});

const keys = (n: number) => Array.from({ length: n }, () => randomBytes(32));

describe('onion cells in place', () => {
  it('relays open into the next cell; the destination reads the payload', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_HOPS }),
        fc.uint8Array({ maxLength: ROUTE_PAYLOAD_SIZE }),
        fc.nat({ max: 2 ** 40 }),
        fc.array(fc.nat({ max: 0xffffffff }), { minLength: MAX_HOPS, maxLength: MAX_HOPS }),
        (n, payload, counter, ids) => {
          const fwd = keys(n);
          let cell = sealForwardCell(ids[0]!, fwd, counter, InnerType.DATA, payload);
          expect(cell.length).toBe(CELL_SIZE);
          for (let i = 0; i < n - 1; i++) {
            expect(decodeRouteHeader(cell)).toEqual({
              routeId: ids[i]!,
              command: RouteCommand.DATA,
            });
            // What the relay passes on is 0^16 ‖ its layer's plaintext.
            const pt = openForward(fwd[i]!, counter, cellBody(cell))!;
            const next = relayForwardCell(ids[i + 1]!, fwd[i]!, counter, cellBody(cell))!;
            expect(
              equalBytes(
                next.subarray(ROUTE_HEADER_SIZE, ROUTE_HEADER_SIZE + 16),
                new Uint8Array(16),
              ),
            ).toBe(true);
            expect(equalBytes(next.subarray(ROUTE_HEADER_SIZE + LAYER_SHIFT), pt)).toBe(true);
            cell = next;
          }
          const inner = openForwardInner(fwd[n - 1]!, counter, cellBody(cell));
          expect(typeof inner).toBe('object');
          if (typeof inner !== 'object') return;
          expect(inner.type).toBe(InnerType.DATA);
          expect(equalBytes(inner.payload, payload)).toBe(true);
        },
      ),
      { numRuns: runs(25) },
    );
  });

  it('a changed byte fails at the next hop, and a wrong counter too', () => {
    const fwd = keys(3);
    const cell = sealForwardCell(9, fwd, 5, InnerType.DATA, Uint8Array.of(1, 2, 3));
    for (const at of [0, 100, CELL_BODY_SIZE - 1]) {
      const bad = cell.slice();
      bad[ROUTE_HEADER_SIZE + at]! ^= 1;
      expect(relayForwardCell(1, fwd[0]!, 5, cellBody(bad))).toBeNull();
    }
    expect(relayForwardCell(1, fwd[0]!, 6, cellBody(cell))).toBeNull();
    const one = sealForwardCell(9, fwd.slice(2), 5, InnerType.DATA, Uint8Array.of(1));
    const bad = one.slice();
    bad[CELL_SIZE - 1]! ^= 0x80;
    expect(openForwardInner(fwd[2]!, 5, cellBody(bad))).toBe('bad-tag');
    expect(openForwardInner(fwd[2]!, 5, new Uint8Array(10))).toBe('bad-tag');
  });

  it('backward cells: sealed at the end, layered by relays, opened at the source', () => {
    for (const n of [1, 2, 3, MAX_HOPS]) {
      const bwd = keys(n);
      const payload = randomBytes(ROUTE_PAYLOAD_SIZE);
      let cell = sealBackwardCell(7, bwd[n - 1]!, 11, InnerType.DATA, payload);
      for (let i = n - 2; i >= 0; i--) {
        const body = cellBody(cell);
        const next = relayBackwardCell(3, bwd[i]!, 11, body);
        expect(decodeRouteHeader(next).routeId).toBe(3);
        // The layer is the stream cipher the AEAD-based construction used.
        expect(
          equalBytes(
            cellBody(next),
            streamXor(bwd[i]!, layerNonce(NonceDomain.BACKWARD, 11), body),
          ),
        ).toBe(true);
        cell = next;
      }
      const msg = openBackward(bwd, 11, cellBody(cell));
      expect(msg?.hop).toBe(n - 1);
      expect(equalBytes(msg!.payload, payload)).toBe(true);
      cell[CELL_SIZE - 20]! ^= 1;
      expect(openBackward(bwd, 11, cellBody(cell))).toBeNull();
    }
  });

  it('stream layers are ChaCha20-Poly1305 keystream bytes (wire format unchanged)', () => {
    for (const len of [1, 16, 63, 64, 65, 2043]) {
      const k = randomBytes(32);
      const nonce = layerNonce(NonceDomain.FORWARD, 77);
      const viaAead = chacha20poly1305Seal(k, nonce, new Uint8Array(len)).subarray(0, len);
      expect(equalBytes(keystream(k, nonce, len), viaAead)).toBe(true);
    }
  });

  it('slab cells are zero, disjoint and of the asked length', () => {
    const a = allocCellBuffer();
    a.fill(0xff);
    const b = allocCellBuffer(CELL_SIZE + 112);
    expect(b.length).toBe(CELL_SIZE + 112);
    expect(b.every((x) => x === 0)).toBe(true);
    const many = Array.from({ length: 100 }, () => allocCellBuffer());
    for (const c of many) expect(c.every((x) => x === 0)).toBe(true);
    for (const c of many) c.fill(1);
    expect(a.every((x) => x === 0xff)).toBe(true);
    expect(allocCellBuffer(5000).length).toBe(5000);
  });

  it('refuses oversized payloads with ONION_TOO_LARGE', () => {
    const big = new Uint8Array(ROUTE_PAYLOAD_SIZE + 1);
    const codeOf = (fn: () => unknown) => (thrown(fn) as { code?: string } | undefined)?.code;
    expect(codeOf(() => sealForwardCell(1, keys(2), 0, InnerType.DATA, big))).toBe(
      'ONION_TOO_LARGE',
    );
    expect(codeOf(() => sealBackwardCell(1, keys(1)[0]!, 0, InnerType.DATA, big))).toBe(
      'ONION_TOO_LARGE',
    );
  });
});

describe('link frames in place', () => {
  function directionKeys() {
    const a = Identity.generate();
    const b = Identity.generate();
    const ini = new LinkInitiator({ identity: a, peerKey: b.publicKey });
    const r = new LinkResponder({ identity: b }).push(ini.message)!;
    const i = ini.push(r.reply)!;
    return { send: i.send, recv: r.recv };
  }

  it('FrameBuilder.sealWith writes the bytes FrameSealer.seal writes, and they open', () => {
    const { send, recv } = directionKeys();
    const inPlace = new FrameSealer(send);
    const copying = new FrameSealer(send);
    const opener = new FrameOpener(recv);
    for (let n = 0; n < 5; n++) {
      const b = new FrameBuilder(3 * 2049 + 40);
      for (let c = 0; c <= n % 3; c++) b.addCell(randomBytes(CELL_SIZE));
      b.addPing(randomBytes(8));
      b.addPadding(b.room);
      const plaintext = b.finish().slice();
      const frame = b.sealWith(inPlace);
      expect(equalBytes(frame, copying.seal(plaintext))).toBe(true);
      const got = opener.push(frame.slice());
      expect(got.length).toBe(1);
      expect(equalBytes(got[0]!, plaintext)).toBe(true);
    }
  });

  it('opens a whole frame inside the chunk it came in (a view, no copy)', () => {
    const { send, recv } = directionKeys();
    const sealer = new FrameSealer(send);
    const opener = new FrameOpener(recv);
    const plain = randomBytes(3000);
    const chunk = sealer.seal(plain);
    const [pt] = opener.push(chunk);
    expect(pt!.buffer).toBe(chunk.buffer);
    expect(equalBytes(pt!, plain)).toBe(true);
  });
});

describe('session records sealed into their payload', () => {
  it('RecordCipher writes what a Noise CipherState with the key writes', () => {
    const key = randomBytes(32);
    const rc = new RecordCipher(key);
    const cs = new CipherState(key);
    for (const len of [16, 17, 100, 1879]) {
      const pt = randomBytes(len);
      const msg = sealRecordMessage(rc, pt);
      expect(msg[0]).toBe(MessageType.RECORD);
      expect(equalBytes(msg.subarray(1), cs.encryptWithAd(new Uint8Array(0), pt))).toBe(true);
    }
  });

  it('opens in place; a bad record throws SESSION_BAD_RECORD and leaves the counter', () => {
    const key = randomBytes(32);
    const tx = new RecordCipher(key);
    const rx = new RecordCipher(key);
    const a = randomBytes(200);
    const b = randomBytes(300);
    const sa = sealRecord(tx, a);
    const sb = sealRecord(tx, b);
    const bad = sa.slice();
    bad[5]! ^= 1;
    expect((thrown(() => rx.openInPlace(bad)) as { code?: string }).code).toBe(
      'SESSION_BAD_RECORD',
    );
    expect(rx.counter).toBe(0);
    const pa = rx.openInPlace(sa);
    expect(pa.buffer).toBe(sa.buffer);
    expect(equalBytes(pa, a)).toBe(true);
    expect(equalBytes(rx.openInPlace(sb), b)).toBe(true);
    rx.clear();
    expect((thrown(() => rx.openInPlace(sb)) as { code?: string }).code).toBe('SESSION_CLOSED');
  });
});
