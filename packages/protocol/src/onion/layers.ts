/**
 * Onion layers of data cells (CELL_BODY_SIZE-byte bodies).
 *
 * Forward (source → destination), one authenticated layer per hop:
 *
 *   body = ct ‖ tag      ct = ChaCha20-Poly1305(forward key, nonce(counter)), L − 16 bytes
 *
 * A hop opens its layer (a tampered, replayed or injected cell fails here, at
 * the first honest hop after the change) and passes on
 * 0^16 ‖ plaintext, so the cell keeps its size. The 16 zero bytes in front
 * are part of the next hop's ciphertext, so the source must know what each
 * hop will see there: it computes those prefixes from short keystreams
 * (16 bytes per preceding hop) before sealing from the inside out. Every hop
 * — the first included — sees a ciphertext starting with 16 zero bytes and
 * otherwise pseudo-random, whatever its position.
 *
 * Backward (destination → source): the destination (or a hop reporting an
 * error) seals with its backward key; every relay on the way back XORs a
 * keystream of its backward key. Only the source holds every key, peels the
 * stream layers and checks the tag: backward tampering is caught at the
 * source, which then closes the route.
 *
 * Inner message, at the end of the innermost plaintext (L − 16 bytes):
 *
 *   … shift garbage ‖ random padding … ‖ payload ‖ type (u8) ‖ payload length (u16, big-endian)
 *
 * The payload sits at the end because the front of the destination's
 * plaintext holds the shift garbage of up to MAX_HOPS hops.
 */
import { chacha20poly1305OpenInto, chacha20poly1305SealInto, randomBytes } from '@skymesh/crypto';
import { CELL_SIZE, MAX_HOPS } from '../constants.js';
import { allocCellBuffer, writeRouteHeader } from './cell.js';
import {
  CELL_BODY_SIZE,
  INNER_TRAILER_SIZE,
  InnerType,
  LAYER_SHIFT,
  LAYER_TAG_SIZE,
  ROUTE_HEADER_SIZE,
  ROUTE_PAYLOAD_SIZE,
  RouteCommand,
} from './constants.js';
import { OnionError } from './errors.js';
import { NonceDomain, streamXorInto, writeLayerNonce } from './keys.js';

const L = CELL_BODY_SIZE;
const PT = L - LAYER_TAG_SIZE;
const H = ROUTE_HEADER_SIZE;

// Scratch space of the functions below. Each use is synchronous and ends
// before the function returns (what leaves is copied), so one set serves
// every route of the process.
const NONCE = new Uint8Array(12);
const SCRATCH_PT = new Uint8Array(PT);
const SCRATCH_BODY = new Uint8Array(L);

/** A decoded inner message. */
export interface InnerMessage {
  readonly type: InnerType;
  readonly payload: Uint8Array;
}

function checkPayload(payload: Uint8Array): void {
  if (payload.length > ROUTE_PAYLOAD_SIZE) {
    throw new OnionError('ONION_TOO_LARGE', `a payload has at most ${ROUTE_PAYLOAD_SIZE} bytes`, {
      length: payload.length,
    });
  }
}

function writeInner(pt: Uint8Array, type: InnerType, payload: Uint8Array): void {
  const end = pt.length - INNER_TRAILER_SIZE;
  pt.set(payload, end - payload.length);
  pt[end] = type;
  pt[end + 1] = payload.length >>> 8;
  pt[end + 2] = payload.length & 0xff;
}

/** Reads the inner message at the end of an innermost plaintext; null when malformed. */
export function readInner(pt: Uint8Array): InnerMessage | null {
  if (pt.length !== PT) return null;
  const end = PT - INNER_TRAILER_SIZE;
  const type = pt[end]!;
  const len = (pt[end + 1]! << 8) | pt[end + 2]!;
  if (type > InnerType.ERROR || len > ROUTE_PAYLOAD_SIZE) return null;
  return { type: type as InnerType, payload: pt.slice(end - len, end) };
}

/**
 * Source: the DATA cell (CELL_SIZE bytes, route header included) carrying
 * `payload` on a path whose forward keys are given in path order; `counter`
 * is the route's forward cell counter. The layers are sealed in place, from
 * the inside out, in one array: layer j's body starts 16·(n − 1 − j) bytes
 * after the innermost one, so each seal's plaintext (the inner body minus
 * its first 16 bytes) starts where its output goes. The cell returned is a
 * view of that array.
 * @throws OnionError ONION_TOO_LARGE for a payload over ROUTE_PAYLOAD_SIZE.
 */
export function sealForwardCell(
  routeId: number,
  forwardKeys: readonly Uint8Array[],
  counter: number,
  type: InnerType,
  payload: Uint8Array,
): Uint8Array {
  checkPayload(payload);
  const n = forwardKeys.length;
  if (n < 1 || n > MAX_HOPS) throw new OnionError('ONION_BAD_CELL', `1..${MAX_HOPS} hops`);
  const nonce = writeLayerNonce(NONCE, NonceDomain.FORWARD, counter);
  const shift = LAYER_SHIFT * (n - 1);
  const buf = allocCellBuffer(CELL_SIZE + shift);
  const pt = buf.subarray(H, H + PT);
  // The prefix (16·n bytes): what hop j's ciphertext starts with is 16 zero
  // bytes, then the earlier prefix as decrypted by hop j − 1. Built in place
  // at the front of the innermost plaintext (zero, as the array is new):
  // after step j it fills pt[16·(n − 2 − j) .. 16·n].
  const prefixLen = LAYER_SHIFT * n;
  for (let j = 0; j < n - 1; j++) {
    const p = pt.subarray(LAYER_SHIFT * (n - 1 - j), prefixLen);
    streamXorInto(p, forwardKeys[j]!, nonce, p);
  }
  const last = forwardKeys[n - 1]!;
  const prefix = pt.subarray(0, prefixLen);
  streamXorInto(prefix, last, nonce, prefix);
  // Random, not zero, padding between the prefix and the payload: the
  // destination knows its keystream, and zero padding would show it where
  // the n hops' shift garbage ends, i.e. n.
  const padEnd = PT - INNER_TRAILER_SIZE - payload.length;
  if (padEnd > prefixLen) pt.set(randomBytes(padEnd - prefixLen), prefixLen);
  writeInner(pt, type, payload);
  chacha20poly1305SealInto(buf.subarray(H, H + L), last, nonce, pt);
  for (let j = n - 2; j >= 0; j--) {
    const at = H + LAYER_SHIFT * (n - 1 - j);
    chacha20poly1305SealInto(
      buf.subarray(at, at + L),
      forwardKeys[j]!,
      nonce,
      buf.subarray(at, at + PT),
    );
  }
  const cell = buf.subarray(shift, shift + CELL_SIZE);
  writeRouteHeader(cell, routeId, RouteCommand.DATA);
  return cell;
}

/**
 * Source: seals a forward data body (CELL_BODY_SIZE bytes) for the path
 * whose forward keys are given in path order. See sealForwardCell.
 * @throws OnionError ONION_TOO_LARGE for a payload over ROUTE_PAYLOAD_SIZE.
 */
export function sealForward(
  forwardKeys: readonly Uint8Array[],
  counter: number,
  type: InnerType,
  payload: Uint8Array,
): Uint8Array {
  return sealForwardCell(0, forwardKeys, counter, type, payload).subarray(H);
}

function checkBody(body: Uint8Array): boolean {
  return body instanceof Uint8Array && body.length === L;
}

/**
 * Relay or destination: opens this hop's forward layer of `body`
 * (CELL_BODY_SIZE bytes). Returns the L − 16 byte plaintext — a relay passes
 * on 16 zero bytes ‖ plaintext, the destination reads it with readInner —
 * or null when the tag does not verify (tampered, replayed, wrong counter).
 */
export function openForward(key: Uint8Array, counter: number, body: Uint8Array): Uint8Array | null {
  if (!checkBody(body)) return null;
  const pt = new Uint8Array(PT);
  const nonce = writeLayerNonce(NONCE, NonceDomain.FORWARD, counter);
  return chacha20poly1305OpenInto(pt, key, nonce, body) ? pt : null;
}

/**
 * Relay: opens its forward layer of `body` straight into the cell for the
 * next hop (route `routeId` there): header ‖ 16 zero bytes ‖ plaintext.
 * Null when the tag does not verify.
 */
export function relayForwardCell(
  routeId: number,
  key: Uint8Array,
  counter: number,
  body: Uint8Array,
): Uint8Array | null {
  if (!checkBody(body)) return null;
  const cell = allocCellBuffer();
  const nonce = writeLayerNonce(NONCE, NonceDomain.FORWARD, counter);
  if (!chacha20poly1305OpenInto(cell.subarray(H + LAYER_SHIFT), key, nonce, body)) return null;
  writeRouteHeader(cell, routeId, RouteCommand.DATA);
  return cell;
}

/**
 * Destination: opens the last forward layer of `body` and reads the inner
 * message. 'bad-tag' when the tag does not verify, 'malformed' when the
 * plaintext holds no valid inner message.
 */
export function openForwardInner(
  key: Uint8Array,
  counter: number,
  body: Uint8Array,
): InnerMessage | 'bad-tag' | 'malformed' {
  if (!checkBody(body)) return 'bad-tag';
  const nonce = writeLayerNonce(NONCE, NonceDomain.FORWARD, counter);
  if (!chacha20poly1305OpenInto(SCRATCH_PT, key, nonce, body)) return 'bad-tag';
  return readInner(SCRATCH_PT) ?? 'malformed';
}

/**
 * Destination (or a relay reporting to the source): the backward DATA cell
 * for route `routeId` carrying `payload`, sealed with its backward key;
 * `counter` is the route's backward cell counter.
 * @throws OnionError ONION_TOO_LARGE for a payload over ROUTE_PAYLOAD_SIZE.
 */
export function sealBackwardCell(
  routeId: number,
  key: Uint8Array,
  counter: number,
  type: InnerType,
  payload: Uint8Array,
): Uint8Array {
  checkPayload(payload);
  const cell = allocCellBuffer();
  const body = cell.subarray(H);
  const pt = body.subarray(0, PT);
  writeInner(pt, type, payload);
  chacha20poly1305SealInto(body, key, writeLayerNonce(NONCE, NonceDomain.BACKWARD, counter), pt);
  writeRouteHeader(cell, routeId, RouteCommand.DATA);
  return cell;
}

/** sealBackwardCell's body (CELL_BODY_SIZE bytes). */
export function sealBackward(
  key: Uint8Array,
  counter: number,
  type: InnerType,
  payload: Uint8Array,
): Uint8Array {
  return sealBackwardCell(0, key, counter, type, payload).subarray(H);
}

/** Relay: adds its backward stream layer to a body (length-preserving). */
export function addBackwardLayer(key: Uint8Array, counter: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length);
  streamXorInto(out, key, writeLayerNonce(NONCE, NonceDomain.BACKWARD, counter), body);
  return out;
}

/**
 * Relay: the cell for route `routeId` on the previous link carrying `body`
 * with this hop's backward stream layer added.
 */
export function relayBackwardCell(
  routeId: number,
  key: Uint8Array,
  counter: number,
  body: Uint8Array,
): Uint8Array {
  const cell = allocCellBuffer();
  if (body.length !== L) throw new OnionError('ONION_BAD_CELL', 'bad body length');
  streamXorInto(cell.subarray(H), key, writeLayerNonce(NONCE, NonceDomain.BACKWARD, counter), body);
  writeRouteHeader(cell, routeId, RouteCommand.DATA);
  return cell;
}

/** A backward message as the source reads it, with the index of the hop that sealed it. */
export interface BackwardMessage extends InnerMessage {
  /** 0-based position in the path of the hop that sealed it (n − 1: the destination). */
  readonly hop: number;
}

/** Peels the stream layers of hops 0..count − 1 off `body` into SCRATCH_BODY. */
function peel(keys: readonly Uint8Array[], nonce: Uint8Array, body: Uint8Array, count: number) {
  SCRATCH_BODY.set(body);
  for (let j = 0; j < count; j++) streamXorInto(SCRATCH_BODY, keys[j]!, nonce, SCRATCH_BODY);
  return SCRATCH_BODY;
}

/**
 * Source: removes every backward layer of `body` and returns the message with
 * the hop that sealed it, or null when no hop's tag verifies (tampering).
 * Data comes from the destination and costs n − 1 stream layers and one
 * open; only when that fails are the relays' positions tried (error reports).
 */
export function openBackward(
  backwardKeys: readonly Uint8Array[],
  counter: number,
  body: Uint8Array,
): BackwardMessage | null {
  if (!checkBody(body)) return null;
  const n = backwardKeys.length;
  const nonce = writeLayerNonce(NONCE, NonceDomain.BACKWARD, counter);
  for (let j = n - 1; j >= 0; j--) {
    const cur = peel(backwardKeys, nonce, body, j);
    if (chacha20poly1305OpenInto(SCRATCH_PT, backwardKeys[j]!, nonce, cur)) {
      const inner = readInner(SCRATCH_PT);
      return inner ? { ...inner, hop: j } : null;
    }
  }
  return null;
}
