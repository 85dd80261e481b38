/**
 * The link handshake: Noise IK over X25519, ChaCha20-Poly1305, with the
 * ephemeral keys sent as Elligator2 representatives, random-length padding
 * inside the encryption and masked length fields, so that every byte on the
 * wire looks random to anyone who does not know the responder's key.
 *
 *   -> e, es, s, ss   msg1 = repr_i[32] ‖ mlen1[2] ‖ enc(s_i)[48] ‖ enc(payload1)
 *   <- e, ee, se      msg2 = repr_r[32] ‖ mlen2[2] ‖ enc(payload2)
 *
 *   payload1 = version[1] ‖ ed25519_i[32] ‖ time_ms[8] ‖ padding[0..1024]
 *   payload2 = version[1] ‖ padding[0..1024]
 *   mlen1 = len(body1) XOR BLAKE2b-16bit(key = X_r, "skymesh-link len1" ‖ repr_i)
 *   mlen2 = len(body2) XOR BLAKE2b-16bit(key = X_r, "skymesh-link len2" ‖ repr_i ‖ repr_r)
 *
 * X_r is the responder's X25519 key (the Montgomery form of its address
 * key). The Noise message is repr ‖ body; the masked length is not part of
 * it (it only tells a stream reader where the message ends), and a wrong
 * length makes the Noise message fail its tag anyway.
 *
 * IK was chosen over XK for one round trip (the responder may send frames
 * right after msg2, the initiator after reading it). Its costs: msg1 can be
 * replayed (the responder keeps a replay cache keyed by repr_i and refuses
 * stale time_ms), and the initiator's identity is hidden only as long as
 * the responder's static key is not compromised. docs/drafts/links.md.
 *
 * The initiator proves its Ed25519 address key by sending it in payload1;
 * the responder checks its Montgomery form equals the Noise static key, so
 * both ends know each other's address and nothing was signed (deniable).
 *
 * Pure: bytes in, bytes out; no clock or I/O except what is passed in.
 */
import {
  blake2b,
  concatBytes,
  ed25519PublicToX25519,
  elligatorEphemeralCodec,
  equalBytes,
  HandshakeState,
  randomBytes,
  SkymeshError,
  utf8,
} from '@skymesh/crypto';
import {
  HS_BODY_MAX,
  HS_HEADER_LEN,
  HS_LEN_FIELD,
  HS_MAX_CLOCK_SKEW_MS,
  HS_MSG1_BODY_MIN,
  HS_MSG2_BODY_MIN,
  HS_PAD_MAX,
  HS_PAYLOAD1_FIXED,
  HS_PAYLOAD2_FIXED,
  HS_REPR_LEN,
  LINK_PROLOGUE,
  LINK_VERSION,
} from './constants.js';
import { LinkError } from './errors.js';
import { type DirectionKeys, deriveDirectionKeys } from './keys.js';

/** What a handshake needs of a node's identity (an `Identity` from @skymesh/crypto fits). */
export interface LinkIdentity {
  /** Ed25519 public key (the address key). */
  readonly publicKey: Uint8Array;
  /** X25519 secret and public key derived from the same seed. */
  readonly dhSecretKey: Uint8Array;
  readonly dhPublicKey: Uint8Array;
}

/** The outcome of a completed handshake, on either side. */
export interface LinkHandshakeResult {
  /** The peer's Ed25519 address key, proven by the handshake. */
  readonly peerKey: Uint8Array;
  /** Keys of frames this side sends. */
  readonly send: DirectionKeys;
  /** Keys of frames this side receives. */
  readonly recv: DirectionKeys;
  /** Bytes read past the end of the handshake (the first frames, if any). */
  readonly rest: Uint8Array;
}

/** The responder's outcome: the reply to send and what the replay cache needs. */
export interface LinkResponderResult extends LinkHandshakeResult {
  /** msg2, to write before any frame. */
  readonly reply: Uint8Array;
  /** The initiator's representative: the replay-cache key of this msg1. */
  readonly replayTag: Uint8Array;
  /** The initiator's clock (ms since the epoch) when it wrote msg1. */
  readonly timestamp: number;
}

export interface LinkHandshakeOptions {
  /** Clock in ms since the epoch. @default Date.now */
  now?: () => number;
  /** Largest random padding (bytes) in this side's payload. @default HS_PAD_MAX */
  maxPadding?: number;
}

export interface InitiatorOptions extends LinkHandshakeOptions {
  identity: LinkIdentity;
  /** Ed25519 address key of the node being dialled. */
  peerKey: Uint8Array;
}

export interface ResponderOptions extends LinkHandshakeOptions {
  identity: LinkIdentity;
  /** Accepted distance between the initiator's clock and ours (ms). @default HS_MAX_CLOCK_SKEW_MS */
  maxClockSkewMs?: number;
}

const PROLOGUE = utf8(LINK_PROLOGUE);
const LEN1_LABEL = utf8('skymesh-link len1');
const LEN2_LABEL = utf8('skymesh-link len2');

function lengthMask(responderDh: Uint8Array, label: Uint8Array, ...reprs: Uint8Array[]) {
  return blake2b(concatBytes(label, ...reprs), HS_LEN_FIELD, responderDh);
}

function padLength(max: number): number {
  if (max <= 0) return 0;
  const r = randomBytes(2);
  return ((r[0]! << 8) | r[1]!) % (Math.min(max, HS_PAD_MAX) + 1);
}

/** repr ‖ masked length ‖ body, from a Noise message repr ‖ body. */
function frameMessage(noiseMsg: Uint8Array, mask: Uint8Array): Uint8Array {
  const body = noiseMsg.length - HS_REPR_LEN;
  const out = new Uint8Array(HS_HEADER_LEN + body);
  out.set(noiseMsg.subarray(0, HS_REPR_LEN), 0);
  out[HS_REPR_LEN] = (body >>> 8) ^ mask[0]!;
  out[HS_REPR_LEN + 1] = (body & 0xff) ^ mask[1]!;
  out.set(noiseMsg.subarray(HS_REPR_LEN), HS_HEADER_LEN);
  return out;
}

/**
 * Collects one handshake message from a byte stream. Holds at most
 * HS_MESSAGE_MAX bytes; the length is checked as soon as the header is in.
 */
class MessageReader {
  private readonly head = new Uint8Array(HS_HEADER_LEN);
  private headFill = 0;
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private done = false;

  constructor(
    private readonly maskOf: (repr: Uint8Array) => Uint8Array,
    private readonly minBody: number,
  ) {}

  /**
   * Reads the message and decrypts it with `hs`: the payload (version
   * checked), the Noise message and the bytes after it, once complete.
   */
  read(
    hs: HandshakeState,
    chunk: Uint8Array,
    minPayload: number,
  ): { payload: Uint8Array; noise: Uint8Array; rest: Uint8Array } | undefined {
    if (this.done) throw new LinkError('LINK_HANDSHAKE_PAYLOAD', 'handshake already complete');
    const got = this.push(chunk);
    if (!got) return undefined;
    this.done = true;
    const payload = authenticated(() => hs.readMessage(got.noise));
    if (payload.length < minPayload || payload[0] !== LINK_VERSION) {
      throw new LinkError('LINK_HANDSHAKE_PAYLOAD', 'bad handshake payload');
    }
    return { payload, ...got };
  }

  /** The Noise message (repr ‖ body) and the bytes after it, once complete. */
  private push(chunk: Uint8Array): { noise: Uint8Array; rest: Uint8Array } | undefined {
    let off = 0;
    if (!this.body) {
      const take = Math.min(HS_HEADER_LEN - this.headFill, chunk.length);
      this.head.set(chunk.subarray(0, take), this.headFill);
      this.headFill += take;
      off = take;
      if (this.headFill < HS_HEADER_LEN) return undefined;
      const mask = this.maskOf(this.head.subarray(0, HS_REPR_LEN));
      const len =
        ((this.head[HS_REPR_LEN]! ^ mask[0]!) << 8) | (this.head[HS_REPR_LEN + 1]! ^ mask[1]!);
      if (len < this.minBody || len > HS_BODY_MAX) {
        throw new LinkError('LINK_HANDSHAKE_LENGTH', 'handshake length out of range', {
          length: len,
        });
      }
      this.body = new Uint8Array(HS_REPR_LEN + len);
      this.body.set(this.head.subarray(0, HS_REPR_LEN), 0);
      this.bodyFill = HS_REPR_LEN;
    }
    const take = Math.min(this.body.length - this.bodyFill, chunk.length - off);
    this.body.set(chunk.subarray(off, off + take), this.bodyFill);
    this.bodyFill += take;
    off += take;
    if (this.bodyFill < this.body.length) return undefined;
    return { noise: this.body, rest: chunk.subarray(off) };
  }
}

function noiseState(initiator: boolean, identity: LinkIdentity, rs?: Uint8Array): HandshakeState {
  return new HandshakeState({
    pattern: 'IK',
    initiator,
    prologue: PROLOGUE,
    s: { secretKey: identity.dhSecretKey, publicKey: identity.dhPublicKey },
    ...(rs ? { rs } : {}),
    ephemeralCodec: elligatorEphemeralCodec,
  });
}

/** Runs `fn`, turning any crypto failure into LINK_HANDSHAKE_AUTH. */
function authenticated<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof LinkError) throw err;
    if (err instanceof SkymeshError) {
      throw new LinkError('LINK_HANDSHAKE_AUTH', 'handshake message did not authenticate', {
        cause: err.code,
      });
    }
    throw err;
  }
}

function splitKeys(hs: HandshakeState): { send: DirectionKeys; recv: DirectionKeys } {
  const { send, recv } = hs.splitKeys();
  return { send: deriveDirectionKeys(send), recv: deriveDirectionKeys(recv) };
}

/**
 * The dialling side. `message` is msg1, to write first; then every byte
 * received goes to `push` until it returns the result.
 *
 * @example
 *   const hs = new LinkInitiator({ identity, peerKey });
 *   conn.write(hs.message);
 *   conn.onData((b) => { const done = hs.push(b); if (done) startLink(done); });
 */
export class LinkInitiator {
  /** msg1 on the wire. */
  readonly message: Uint8Array;
  private readonly hs: HandshakeState;
  private readonly peerKey: Uint8Array;
  private readonly reader: MessageReader;

  /** @throws CryptoError CRYPTO_BAD_SIGNATURE_KEY when `peerKey` is not a valid Ed25519 key. */
  constructor(opts: InitiatorOptions) {
    const now = opts.now ?? Date.now;
    this.peerKey = opts.peerKey.slice();
    const rs = ed25519PublicToX25519(this.peerKey);
    this.hs = noiseState(true, opts.identity, rs);
    const pad = padLength(opts.maxPadding ?? HS_PAD_MAX);
    const payload = new Uint8Array(HS_PAYLOAD1_FIXED + pad);
    payload[0] = LINK_VERSION;
    payload.set(opts.identity.publicKey, 1);
    new DataView(payload.buffer).setBigUint64(33, BigInt(Math.floor(now())));
    const noise = this.hs.writeMessage(payload);
    const reprI = noise.subarray(0, HS_REPR_LEN).slice();
    this.message = frameMessage(noise, lengthMask(rs, LEN1_LABEL, reprI));
    this.reader = new MessageReader(
      (reprR) => lengthMask(rs, LEN2_LABEL, reprI, reprR),
      HS_MSG2_BODY_MIN,
    );
  }

  /**
   * Feeds bytes received; returns the result once msg2 is complete.
   * @throws LinkError LINK_HANDSHAKE_LENGTH | LINK_HANDSHAKE_AUTH | LINK_HANDSHAKE_PAYLOAD
   */
  push(chunk: Uint8Array): LinkHandshakeResult | undefined {
    const got = this.reader.read(this.hs, chunk, HS_PAYLOAD2_FIXED);
    if (!got) return undefined;
    return { peerKey: this.peerKey, ...splitKeys(this.hs), rest: got.rest };
  }
}

/**
 * The listening side: every byte received goes to `push` until it returns
 * the result, whose `reply` is written before anything else. The caller
 * checks `replayTag` / `timestamp` against its replay cache before replying.
 */
export class LinkResponder {
  private readonly hs: HandshakeState;
  private readonly reader: MessageReader;
  private readonly identity: LinkIdentity;
  private readonly now: () => number;
  private readonly maxSkew: number;
  private readonly maxPadding: number;

  constructor(opts: ResponderOptions) {
    this.identity = opts.identity;
    this.now = opts.now ?? Date.now;
    this.maxSkew = opts.maxClockSkewMs ?? HS_MAX_CLOCK_SKEW_MS;
    this.maxPadding = opts.maxPadding ?? HS_PAD_MAX;
    this.hs = noiseState(false, opts.identity);
    const dh = opts.identity.dhPublicKey;
    this.reader = new MessageReader((repr) => lengthMask(dh, LEN1_LABEL, repr), HS_MSG1_BODY_MIN);
  }

  /**
   * Feeds bytes received; returns the result once msg1 is complete and valid.
   * @throws LinkError LINK_HANDSHAKE_LENGTH | LINK_HANDSHAKE_AUTH | LINK_HANDSHAKE_PAYLOAD |
   *   LINK_IDENTITY_MISMATCH | LINK_HANDSHAKE_STALE
   */
  push(chunk: Uint8Array): LinkResponderResult | undefined {
    const got = this.reader.read(this.hs, chunk, HS_PAYLOAD1_FIXED);
    if (!got) return undefined;
    const { payload } = got;
    const peerKey = payload.slice(1, 33);
    const rs = this.hs.remoteStatic;
    let claimed: Uint8Array;
    try {
      claimed = ed25519PublicToX25519(peerKey);
    } catch {
      throw new LinkError('LINK_IDENTITY_MISMATCH', 'initiator key is not a valid Ed25519 key');
    }
    if (!rs || !equalBytes(claimed, rs)) {
      throw new LinkError('LINK_IDENTITY_MISMATCH', 'initiator key does not match its static key');
    }
    const timestamp = Number(
      new DataView(payload.buffer, payload.byteOffset).getBigUint64(33) & 0x1f_ffff_ffff_ffffn,
    );
    if (Math.abs(this.now() - timestamp) > this.maxSkew) {
      throw new LinkError('LINK_HANDSHAKE_STALE', 'initiator clock outside the accepted window', {
        timestamp,
      });
    }
    const reply = new Uint8Array(HS_PAYLOAD2_FIXED + padLength(this.maxPadding));
    reply[0] = LINK_VERSION;
    const noise = authenticated(() => this.hs.writeMessage(reply));
    const replayTag = got.noise.slice(0, HS_REPR_LEN);
    const reprR = noise.subarray(0, HS_REPR_LEN);
    return {
      peerKey,
      ...splitKeys(this.hs),
      rest: got.rest,
      reply: frameMessage(
        noise,
        lengthMask(this.identity.dhPublicKey, LEN2_LABEL, replayTag, reprR),
      ),
      replayTag,
      timestamp,
    };
  }
}
