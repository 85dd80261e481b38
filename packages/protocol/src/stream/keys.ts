/**
 * The session key schedule. The Noise NK handshake yields two transport keys
 * and a handshake hash; from them both ends derive, with HKDF-SHA-256:
 *
 *   prk              = HKDF-Extract(salt = handshakeHash, ikm = k1 ‖ k2)
 *   sessionId        = Expand(prk, "skymesh-session/v1 id", 16)
 *   resume keys      = Expand(prk, "… resume c" / "… resume s", 32)
 *   chain(0)         = Expand(prk, "… chain", 32)
 *   chain(e + 1)     = Expand(chain(e), "… next", 32)
 *   epoch e keys     = Expand(chain(e), "… c2s" ‖ e / "… s2c" ‖ e, 32)   (e as u32)
 *
 * Every route a session uses is one epoch (the first is 0, each resume
 * takes a larger one), and each epoch has its own pair of record keys whose
 * nonce counters start at 0. So records lost with a dead route never leave
 * the two counters out of step, and no (key, nonce) pair is ever reused.
 * The chain only moves forward and each old link is wiped, so whoever
 * seizes a session's state later cannot decrypt what its earlier routes
 * carried (forward secrecy across failovers, not only across sessions).
 */
import {
  AEAD_TAG_LEN,
  blake2b,
  chacha20poly1305OpenInto,
  chacha20poly1305SealInto,
  concatBytes,
  equalBytes,
  hkdfExpand,
  hkdfExtract,
  utf8,
  wipe,
} from '@skymesh/crypto';
import { SessionError } from './errors.js';
import { MessageType, RESUME_MAC_LEN, SESSION_ID_LEN } from './messages.js';

/** Which end of the session this is: the source (initiator) or the destination. */
export type SessionRole = 'client' | 'server';

const LABEL = 'skymesh-session/v1 ';
const INFO_ID = utf8(`${LABEL}id`);
const INFO_RESUME_C = utf8(`${LABEL}resume c`);
const INFO_RESUME_S = utf8(`${LABEL}resume s`);
const INFO_C2S = utf8(`${LABEL}c2s`);
const INFO_S2C = utf8(`${LABEL}s2c`);
const INFO_CHAIN = utf8(`${LABEL}chain`);
const INFO_NEXT = utf8(`${LABEL}next`);

/**
 * Most epochs one step may skip (resume attempts that never reached the
 * destination). Bounds the hashing a RESUME can ask for.
 */
export const MAX_EPOCH_SKIP = 64;
const MAC_RESUME = utf8(`${LABEL}RESUME`);
const MAC_RESUME_OK = utf8(`${LABEL}RESUME_OK`);

/**
 * Secrets both ends hold for the life of a session. `chain` and `epoch`
 * move forward with epochCiphers(). Wipe with `wipeSessionKeys`.
 */
export interface SessionKeys {
  /** Names the session in RESUME; 16 bytes, known only to the two ends. */
  readonly sessionId: Uint8Array;
  /** Key of the source's RESUME MAC. */
  readonly resumeKeyClient: Uint8Array;
  /** Key of the destination's RESUME_OK MAC. */
  readonly resumeKeyServer: Uint8Array;
  /** The chain key of `epoch`, from which that epoch's record keys are expanded. */
  chain: Uint8Array;
  /** The epoch `chain` belongs to; earlier epochs' keys are gone. */
  epoch: number;
}

/**
 * Derives the session's keys from the handshake's split keys and hash.
 * @param k1 the initiator→responder transport key (32 bytes)
 * @param k2 the responder→initiator transport key (32 bytes)
 * @param handshakeHash the final handshake hash h
 */
export function deriveSessionKeys(
  k1: Uint8Array,
  k2: Uint8Array,
  handshakeHash: Uint8Array,
): SessionKeys {
  const ikm = concatBytes(k1, k2);
  const prk = hkdfExtract('sha256', ikm, handshakeHash);
  wipe(ikm);
  const keys: SessionKeys = {
    sessionId: hkdfExpand('sha256', prk, INFO_ID, SESSION_ID_LEN),
    resumeKeyClient: hkdfExpand('sha256', prk, INFO_RESUME_C, 32),
    resumeKeyServer: hkdfExpand('sha256', prk, INFO_RESUME_S, 32),
    chain: hkdfExpand('sha256', prk, INFO_CHAIN, 32),
    epoch: 0,
  };
  wipe(prk);
  return keys;
}

/** Wipes a session's secrets (best effort). */
export function wipeSessionKeys(keys: SessionKeys): void {
  wipe(keys.resumeKeyClient);
  wipe(keys.resumeKeyServer);
  wipe(keys.chain);
}

function epochInfo(base: Uint8Array, epoch: number): Uint8Array {
  const info = new Uint8Array(base.length + 4);
  info.set(base, 0);
  new DataView(info.buffer).setUint32(base.length, epoch);
  return info;
}

/**
 * One direction of an epoch's records: ChaCha20-Poly1305 under the epoch
 * key with Noise's nonce layout (4 zero bytes ‖ counter u64 little-endian,
 * counting from 0, empty associated data) — what a Noise CipherState with
 * that key produces — sealing and opening into the caller's arrays, so the
 * record path allocates nothing of its own.
 */
export class RecordCipher {
  #key: Uint8Array | undefined;
  readonly #nonce = new Uint8Array(12);
  #counter = 0;

  /** @param key 32 bytes (copied). */
  constructor(key: Uint8Array) {
    this.#key = key.slice();
  }

  /** Records sealed (or opened) so far. */
  get counter(): number {
    return this.#counter;
  }

  #nextNonce(): Uint8Array {
    // Safe integers: 2^53 records never happen; the u64's high half stays small.
    const n = this.#nonce;
    const c = this.#counter;
    if (c >= Number.MAX_SAFE_INTEGER) throw new SessionError('SESSION_BAD_RECORD', 'nonce used up');
    const lo = c >>> 0;
    const hi = Math.floor(c / 0x1_0000_0000);
    n[4] = lo & 0xff;
    n[5] = (lo >>> 8) & 0xff;
    n[6] = (lo >>> 16) & 0xff;
    n[7] = lo >>> 24;
    n[8] = hi & 0xff;
    n[9] = (hi >>> 8) & 0xff;
    n[10] = (hi >>> 16) & 0xff;
    n[11] = hi >>> 24;
    return n;
  }

  #keyOrThrow(): Uint8Array {
    if (this.#key === undefined) throw new SessionError('SESSION_CLOSED', 'record keys wiped');
    return this.#key;
  }

  /**
   * Seals `plaintext` under the next nonce into `out` (plaintext.length + 16
   * bytes; may start where `plaintext` does, for sealing in place).
   */
  sealInto(out: Uint8Array, plaintext: Uint8Array): void {
    chacha20poly1305SealInto(out, this.#keyOrThrow(), this.#nextNonce(), plaintext);
    this.#counter++;
  }

  /**
   * Opens `sealed` under the next nonce in place and returns the plaintext
   * (a view of `sealed`); the counter moves only on success.
   * @throws SessionError SESSION_BAD_RECORD when it does not authenticate.
   */
  openInPlace(sealed: Uint8Array): Uint8Array {
    const ok =
      sealed.length >= AEAD_TAG_LEN &&
      chacha20poly1305OpenInto(
        sealed.subarray(0, sealed.length - AEAD_TAG_LEN),
        this.#keyOrThrow(),
        this.#nextNonce(),
        sealed,
      );
    if (!ok) throw new SessionError('SESSION_BAD_RECORD', 'record did not authenticate');
    this.#counter++;
    return sealed.subarray(0, sealed.length - AEAD_TAG_LEN);
  }

  /** Wipes the key; later use throws SESSION_CLOSED. */
  clear(): void {
    if (this.#key) wipe(this.#key);
    this.#key = undefined;
  }
}

/** The record ciphers of one epoch for one end: what it sends with and receives with. */
export interface EpochCiphers {
  readonly send: RecordCipher;
  readonly recv: RecordCipher;
}

/**
 * Derives the two record ciphers of `epoch` for `role`, first moving the
 * chain forward to `epoch` (wiping the links passed). Each end calls it
 * once per route, with epochs that only grow.
 * @throws SessionError SESSION_RESUME_REFUSED for an epoch behind the chain,
 *   more than MAX_EPOCH_SKIP ahead of it, or beyond 2^32 − 1.
 */
export function epochCiphers(keys: SessionKeys, epoch: number, role: SessionRole): EpochCiphers {
  if (
    !Number.isInteger(epoch) ||
    epoch < keys.epoch ||
    epoch - keys.epoch > MAX_EPOCH_SKIP ||
    epoch > 0xffffffff
  ) {
    throw new SessionError('SESSION_RESUME_REFUSED', 'epoch out of reach of the key chain', {
      epoch,
      current: keys.epoch,
    });
  }
  while (keys.epoch < epoch) {
    const next = hkdfExpand('sha256', keys.chain, INFO_NEXT, 32);
    wipe(keys.chain);
    keys.chain = next;
    keys.epoch++;
  }
  const c2sKey = hkdfExpand('sha256', keys.chain, epochInfo(INFO_C2S, epoch), 32);
  const s2cKey = hkdfExpand('sha256', keys.chain, epochInfo(INFO_S2C, epoch), 32);
  const c2s = new RecordCipher(c2sKey);
  const s2c = new RecordCipher(s2cKey);
  wipe(c2sKey);
  wipe(s2cKey);
  return role === 'client' ? { send: c2s, recv: s2c } : { send: s2c, recv: c2s };
}

/** Seals one record's plaintext under the next nonce of `cipher`. */
export function sealRecord(cipher: RecordCipher, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + AEAD_TAG_LEN);
  cipher.sealInto(out, plaintext);
  return out;
}

/**
 * The RECORD route payload (type byte ‖ sealed record) of one record's
 * plaintext, sealed straight into it: one allocation, no copy. With
 * `scratch` (at least 1 + plaintext + 16 bytes, disjoint from `plaintext`)
 * it is sealed into the front of that buffer and the view returned: no
 * allocation, for a caller that hands the payload on before the next seal.
 * @throws RangeError when `scratch` is too small.
 */
export function sealRecordMessage(
  cipher: RecordCipher,
  plaintext: Uint8Array,
  scratch?: Uint8Array,
): Uint8Array {
  const len = 1 + plaintext.length + AEAD_TAG_LEN;
  if (scratch !== undefined && scratch.length < len) {
    throw new RangeError('scratch buffer shorter than the sealed record');
  }
  const out = scratch === undefined ? new Uint8Array(len) : scratch.subarray(0, len);
  out[0] = MessageType.RECORD;
  cipher.sealInto(out.subarray(1), plaintext);
  return out;
}

/**
 * Opens one sealed record (a copy of it: `sealed` is left as it was); the
 * counter moves only on success.
 * @throws SessionError SESSION_BAD_RECORD when it does not authenticate.
 */
export function openRecord(cipher: RecordCipher, sealed: Uint8Array): Uint8Array {
  return cipher.openInPlace(sealed.slice());
}

function macInput(
  label: Uint8Array,
  sessionId: Uint8Array,
  epoch: number,
  ack: number,
): Uint8Array {
  const out = new Uint8Array(label.length + SESSION_ID_LEN + 4 + 8);
  const view = new DataView(out.buffer);
  out.set(label, 0);
  out.set(sessionId, label.length);
  let o = label.length + SESSION_ID_LEN;
  view.setUint32(o, epoch);
  o += 4;
  view.setUint32(o, Math.floor(ack / 0x1_0000_0000));
  view.setUint32(o + 4, ack >>> 0);
  return out;
}

/**
 * The MAC on a RESUME (kind 'resume', keyed by the source's resume key) or
 * a RESUME_OK (kind 'resume-ok', the destination's key): keyed BLAKE2b-256
 * over a label, the session id, the epoch and the ack.
 */
export function resumeMac(
  keys: SessionKeys,
  kind: 'resume' | 'resume-ok',
  epoch: number,
  ack: number,
): Uint8Array {
  const key = kind === 'resume' ? keys.resumeKeyClient : keys.resumeKeyServer;
  const label = kind === 'resume' ? MAC_RESUME : MAC_RESUME_OK;
  return blake2b(macInput(label, keys.sessionId, epoch, ack), RESUME_MAC_LEN, key);
}

/** Constant-time check of a RESUME / RESUME_OK MAC. */
export function verifyResumeMac(
  keys: SessionKeys,
  kind: 'resume' | 'resume-ok',
  epoch: number,
  ack: number,
  mac: Uint8Array,
): boolean {
  return equalBytes(resumeMac(keys, kind, epoch, ack), mac);
}
