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
import { chacha20poly1305Open, chacha20poly1305Seal, randomBytes } from '@skymesh/crypto';
import {
  CELL_BODY_SIZE,
  INNER_TRAILER_SIZE,
  InnerType,
  LAYER_SHIFT,
  LAYER_TAG_SIZE,
  ROUTE_PAYLOAD_SIZE,
} from './constants.js';
import { OnionError } from './errors.js';
import { keystream, layerNonce, NonceDomain, streamXor } from './keys.js';

const L = CELL_BODY_SIZE;
const PT = L - LAYER_TAG_SIZE;

/** A decoded inner message. */
export interface InnerMessage {
  readonly type: InnerType;
  readonly payload: Uint8Array;
}

function writeInner(pt: Uint8Array, type: InnerType, payload: Uint8Array): void {
  if (payload.length > ROUTE_PAYLOAD_SIZE) {
    throw new OnionError('ONION_TOO_LARGE', `a payload has at most ${ROUTE_PAYLOAD_SIZE} bytes`, {
      length: payload.length,
    });
  }
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

function tryOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  try {
    return chacha20poly1305Open(key, nonce, sealed);
  } catch {
    return null;
  }
}

/**
 * Source: seals a forward data body for the path whose forward keys are
 * given in path order; `counter` is the route's forward cell counter.
 * @throws OnionError ONION_TOO_LARGE for a payload over ROUTE_PAYLOAD_SIZE.
 */
export function sealForward(
  forwardKeys: readonly Uint8Array[],
  counter: number,
  type: InnerType,
  payload: Uint8Array,
): Uint8Array {
  const n = forwardKeys.length;
  const nonce = layerNonce(NonceDomain.FORWARD, counter);
  // prefix = what hop j's ciphertext starts with: 16 zero bytes, then the
  // earlier prefix as decrypted by hop j−1.
  let prefix = new Uint8Array(LAYER_SHIFT);
  for (let j = 0; j < n - 1; j++) {
    const ks = keystream(forwardKeys[j]!, nonce, prefix.length);
    const next = new Uint8Array(prefix.length + LAYER_SHIFT);
    for (let i = 0; i < prefix.length; i++) next[LAYER_SHIFT + i] = prefix[i]! ^ ks[i]!;
    prefix = next;
  }
  const last = forwardKeys[n - 1]!;
  // Random, not zero, padding: the destination knows its keystream, and zero
  // padding would show it where the n hops' shift garbage ends, i.e. n.
  const pt = randomBytes(PT);
  const ks = keystream(last, nonce, prefix.length);
  for (let i = 0; i < prefix.length; i++) pt[i] = prefix[i]! ^ ks[i]!;
  writeInner(pt, type, payload);
  let body = chacha20poly1305Seal(last, nonce, pt);
  for (let j = n - 2; j >= 0; j--) {
    body = chacha20poly1305Seal(forwardKeys[j]!, nonce, body.subarray(LAYER_SHIFT));
  }
  return body;
}

/**
 * Relay or destination: opens this hop's forward layer of `body`
 * (CELL_BODY_SIZE bytes). Returns the L − 16 byte plaintext — a relay passes
 * on 16 zero bytes ‖ plaintext, the destination reads it with readInner —
 * or null when the tag does not verify (tampered, replayed, wrong counter).
 */
export function openForward(key: Uint8Array, counter: number, body: Uint8Array): Uint8Array | null {
  if (body.length !== L) return null;
  return tryOpen(key, layerNonce(NonceDomain.FORWARD, counter), body);
}

/**
 * Destination (or a relay reporting to the source): seals a backward body
 * with its backward key; `counter` is the route's backward cell counter.
 * @throws OnionError ONION_TOO_LARGE for a payload over ROUTE_PAYLOAD_SIZE.
 */
export function sealBackward(
  key: Uint8Array,
  counter: number,
  type: InnerType,
  payload: Uint8Array,
): Uint8Array {
  const pt = new Uint8Array(PT);
  writeInner(pt, type, payload);
  return chacha20poly1305Seal(key, layerNonce(NonceDomain.BACKWARD, counter), pt);
}

/** Relay: adds its backward stream layer to a body (length-preserving). */
export function addBackwardLayer(key: Uint8Array, counter: number, body: Uint8Array): Uint8Array {
  return streamXor(key, layerNonce(NonceDomain.BACKWARD, counter), body);
}

/** A backward message as the source reads it, with the index of the hop that sealed it. */
export interface BackwardMessage extends InnerMessage {
  /** 0-based position in the path of the hop that sealed it (n − 1: the destination). */
  readonly hop: number;
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
  if (body.length !== L) return null;
  const n = backwardKeys.length;
  const nonce = layerNonce(NonceDomain.BACKWARD, counter);
  const peeled: Uint8Array[] = [body];
  let cur = body;
  for (let j = 0; j < n - 1; j++) {
    cur = streamXor(backwardKeys[j]!, nonce, cur);
    peeled.push(cur);
  }
  for (let j = n - 1; j >= 0; j--) {
    const pt = tryOpen(backwardKeys[j]!, nonce, peeled[j]!);
    if (pt) {
      const inner = readInner(pt);
      return inner ? { ...inner, hop: j } : null;
    }
  }
  return null;
}
