/**
 * Noise HandshakeState (rev. 34, §5.3) for Noise_{NN,NK,KK,XK,IK,XX}_25519_
 * ChaChaPoly_{SHA256,BLAKE2b,BLAKE2s}, with one Skymesh extension: the
 * ephemeral key travels in the form an EphemeralCodec gives it (plain, or
 * an Elligator2 representative on links), and the transcript hash absorbs
 * those wire bytes, so altering any bit of them breaks the handshake. DH
 * always uses the decoded key. Authentication is DH only: nothing is
 * signed, so a transcript proves nothing to a third party (deniability).
 */
import { utf8, wipe } from '../bytes.js';
import { type EphemeralCodec, plainEphemeralCodec, type WireKeyPair } from '../ephemeral.js';
import { assertLength, CryptoError, SkymeshError } from '../errors.js';
import type { HashName } from '../hash.js';
import { type X25519KeyPair, x25519 } from '../x25519.js';
import { CipherState, NOISE_MAX_MESSAGE_LEN } from './cipher-state.js';
import {
  NOISE_PATTERNS,
  type NoisePattern,
  type NoisePatternName,
  type NoiseToken,
  needsLocalStatic,
  needsRemoteStatic,
} from './patterns.js';
import { SymmetricState } from './symmetric-state.js';

/** Hash functions of the cipher suite, named as in Noise protocol names. */
export type NoiseHash = 'SHA256' | 'BLAKE2b' | 'BLAKE2s';

const HASHES: Readonly<Record<NoiseHash, HashName>> = {
  SHA256: 'sha256',
  BLAKE2b: 'blake2b',
  BLAKE2s: 'blake2s',
};

const DH_LEN = 32;
const TAG_LEN = 16;
const EMPTY = new Uint8Array(0);

export interface HandshakeOptions {
  /** Handshake pattern. */
  pattern: NoisePatternName;
  /** True for the side that sends the first message. */
  initiator: boolean;
  /** @default 'BLAKE2b' */
  hash?: NoiseHash;
  /** Bytes both sides must agree on (mixed into h, never sent). @default empty */
  prologue?: Uint8Array;
  /** Local static key pair; required when the pattern uses it. Never wiped here. */
  s?: X25519KeyPair;
  /** Remote static public key; required exactly when the pattern pre-knows it. */
  rs?: Uint8Array;
  /** How the ephemeral key goes on the wire. @default plainEphemeralCodec */
  ephemeralCodec?: EphemeralCodec;
  /** Fixed local ephemeral, for test vectors only. Wiped when the handshake ends. */
  e?: WireKeyPair;
  /** Replaces "Noise_<P>_25519_ChaChaPoly_<H>" in the initial hash (domain separation). */
  protocolName?: string;
}

/** The standard protocol name of a pattern and hash, e.g. "Noise_XK_25519_ChaChaPoly_BLAKE2b". */
export function noiseProtocolName(pattern: NoisePatternName, hash: NoiseHash = 'BLAKE2b'): string {
  return `Noise_${pattern}_25519_ChaChaPoly_${hash}`;
}

function noiseError(
  code: 'NOISE_BAD_STATE' | 'NOISE_BAD_MESSAGE' | 'NOISE_MISSING_KEY' | 'NOISE_UNSUPPORTED',
  message: string,
  details?: Record<string, unknown>,
): CryptoError {
  return new CryptoError(code, message, details);
}

/**
 * One side of a Noise handshake. Call `writeMessage` / `readMessage` in
 * turn until `complete`, then `split()` (or `splitKeys()`) once for the
 * transport CipherStates. Any failure poisons the state: every later call
 * throws NOISE_BAD_STATE.
 *
 * @example
 * const i = new HandshakeState({ pattern: 'NK', initiator: true, rs: server.publicKey });
 * const r = new HandshakeState({ pattern: 'NK', initiator: false, s: server });
 * r.readMessage(i.writeMessage());
 * i.readMessage(r.writeMessage());
 * const { send, recv } = i.split();
 */
export class HandshakeState {
  readonly #pattern: NoisePattern;
  readonly #initiator: boolean;
  readonly #codec: EphemeralCodec;
  readonly #sym: SymmetricState;
  readonly #s: X25519KeyPair | undefined;
  #e: WireKeyPair | undefined;
  #fixedE: WireKeyPair | undefined;
  #rs: Uint8Array | undefined;
  #re: Uint8Array | undefined;
  #step = 0;
  #failed = false;
  #complete = false;
  #keys: [Uint8Array, Uint8Array] | undefined;

  /**
   * @throws CryptoError NOISE_UNSUPPORTED for an unknown pattern or hash, or an
   *   `rs` the pattern does not pre-know (it would be silently unauthenticated);
   *   NOISE_MISSING_KEY when `s` or `rs` is needed and absent;
   *   CRYPTO_BAD_LENGTH for keys that are not 32 bytes.
   */
  constructor(opts: HandshakeOptions) {
    const pattern = Object.hasOwn(NOISE_PATTERNS, opts.pattern)
      ? NOISE_PATTERNS[opts.pattern]
      : undefined;
    if (pattern === undefined) {
      throw noiseError('NOISE_UNSUPPORTED', 'unsupported Noise pattern', {
        pattern: String(opts.pattern),
      });
    }
    const hashName = opts.hash ?? 'BLAKE2b';
    const alg = Object.hasOwn(HASHES, hashName) ? HASHES[hashName] : undefined;
    if (alg === undefined) {
      throw noiseError('NOISE_UNSUPPORTED', 'unsupported Noise hash', { hash: String(hashName) });
    }
    const initiator = opts.initiator === true;
    this.#pattern = pattern;
    this.#initiator = initiator;
    this.#codec = opts.ephemeralCodec ?? plainEphemeralCodec;

    if (needsLocalStatic(pattern, initiator)) {
      if (opts.s === undefined) {
        throw noiseError('NOISE_MISSING_KEY', `pattern ${opts.pattern} needs a local static key`, {
          field: 's',
        });
      }
      assertLength(opts.s.secretKey, DH_LEN, 's.secretKey');
      assertLength(opts.s.publicKey, DH_LEN, 's.publicKey');
      this.#s = opts.s;
    }
    if (needsRemoteStatic(pattern, initiator)) {
      if (opts.rs === undefined) {
        throw noiseError(
          'NOISE_MISSING_KEY',
          `pattern ${opts.pattern} needs the remote static key`,
          {
            field: 'rs',
          },
        );
      }
      assertLength(opts.rs, DH_LEN, 'rs');
      this.#rs = opts.rs;
    } else if (opts.rs !== undefined) {
      throw noiseError('NOISE_UNSUPPORTED', `pattern ${opts.pattern} does not pre-know rs`, {
        field: 'rs',
      });
    }
    if (opts.e !== undefined) {
      assertLength(opts.e.secretKey, DH_LEN, 'e.secretKey');
      assertLength(opts.e.publicKey, DH_LEN, 'e.publicKey');
      assertLength(opts.e.wire, this.#codec.wireLength, 'e.wire');
      this.#fixedE = opts.e;
    }
    const prologue = opts.prologue ?? EMPTY;
    if (!(prologue instanceof Uint8Array)) throw new TypeError('prologue must be a Uint8Array');
    const name = opts.protocolName ?? noiseProtocolName(opts.pattern, hashName);
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError('protocolName must be a non-empty string');
    }

    this.#sym = new SymmetricState(alg, utf8(name));
    this.#sym.mixHash(prologue);
    // Pre-messages: the initiator's first, then the responder's (§7.1).
    if (pattern.initiatorStaticKnown) this.#sym.mixHash(this.#staticOf(true));
    if (pattern.responderStaticKnown) this.#sym.mixHash(this.#staticOf(false));
  }

  /** True once every handshake message was written or read. */
  get complete(): boolean {
    return this.#complete;
  }

  /** The peer's static public key, once known (given up front or received). Do not mutate. */
  get remoteStatic(): Uint8Array | undefined {
    return this.#rs;
  }

  /**
   * The transcript hash h (a copy): a label unique to this handshake's
   * transcript, for channel binding once `complete` (before that it is the
   * running hash).
   * @throws CryptoError NOISE_BAD_STATE after a failure.
   */
  handshakeHash(): Uint8Array {
    if (this.#failed) throw noiseError('NOISE_BAD_STATE', 'handshake failed earlier');
    return this.#sym.h.slice();
  }

  /**
   * Writes the next handshake message carrying `payload` (encrypted as soon
   * as the pattern has mixed in a DH).
   * @throws CryptoError NOISE_BAD_STATE when it is not this side's turn, the
   *   handshake is complete or failed; NOISE_BAD_MESSAGE when the message
   *   would exceed 65535 bytes or the peer's ephemeral key was low-order.
   */
  writeMessage(payload: Uint8Array = EMPTY): Uint8Array {
    const tokens = this.#begin(true);
    try {
      if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
      const length = this.#overhead(tokens) + payload.length;
      if (length > NOISE_MAX_MESSAGE_LEN) {
        throw noiseError('NOISE_BAD_MESSAGE', 'Noise messages are at most 65535 bytes', {
          length,
          max: NOISE_MAX_MESSAGE_LEN,
        });
      }
      const out = new Uint8Array(length);
      let off = 0;
      for (const token of tokens) {
        if (token === 'e') {
          const e = this.#fixedE ?? this.#codec.generate();
          this.#fixedE = undefined;
          this.#e = e;
          assertLength(e.wire, this.#codec.wireLength, 'e.wire');
          out.set(e.wire, off);
          off += e.wire.length;
          this.#sym.mixHash(e.wire);
        } else if (token === 's') {
          const ct = this.#sym.encryptAndHash(this.#need(this.#s, 's').publicKey);
          out.set(ct, off);
          off += ct.length;
        } else {
          this.#mixDh(token);
        }
      }
      out.set(this.#sym.encryptAndHash(payload), off);
      this.#end();
      return out;
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /**
   * Reads the peer's next handshake message and returns its payload.
   * @throws CryptoError NOISE_BAD_STATE out of turn, after completion or a
   *   failure; NOISE_BAD_MESSAGE for a message too short or over 65535 bytes,
   *   an undecodable or low-order key; NOISE_DECRYPT_FAILED when an encrypted
   *   field does not authenticate (wrong keys, prologue, or tampering).
   */
  readMessage(message: Uint8Array): Uint8Array {
    const tokens = this.#begin(false);
    try {
      if (!(message instanceof Uint8Array)) throw new TypeError('message must be a Uint8Array');
      const min = this.#overhead(tokens);
      if (message.length < min || message.length > NOISE_MAX_MESSAGE_LEN) {
        throw noiseError('NOISE_BAD_MESSAGE', 'Noise message has a bad length', {
          length: message.length,
          min,
          max: NOISE_MAX_MESSAGE_LEN,
        });
      }
      let off = 0;
      for (const token of tokens) {
        if (token === 'e') {
          // Copied: the caller may reuse its buffer, and a codec may return its input.
          const wire = message.slice(off, off + this.#codec.wireLength);
          off += wire.length;
          this.#sym.mixHash(wire);
          this.#re = this.#decodeEphemeral(wire);
        } else if (token === 's') {
          const len = DH_LEN + (this.#sym.hasKey() ? TAG_LEN : 0);
          this.#rs = this.#sym.decryptAndHash(message.subarray(off, off + len));
          off += len;
        } else {
          this.#mixDh(token);
        }
      }
      const payload = this.#sym.decryptAndHash(message.subarray(off));
      this.#end();
      return payload;
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /**
   * The transport CipherStates, oriented for this side (the initiator sends
   * with the first Split key). Callable once: afterwards this state holds no
   * key material.
   * @throws CryptoError NOISE_BAD_STATE before completion, after a failure or a previous split.
   */
  split(): { send: CipherState; recv: CipherState } {
    const { send, recv } = this.splitKeys();
    const out = { send: new CipherState(send), recv: new CipherState(recv) };
    wipe(send);
    wipe(recv);
    return out;
  }

  /**
   * The raw 32-byte transport keys, same orientation and same one-shot rule
   * as `split()`. The caller owns (and should wipe) them.
   */
  splitKeys(): { send: Uint8Array; recv: Uint8Array } {
    if (this.#failed) throw noiseError('NOISE_BAD_STATE', 'handshake failed earlier');
    if (!this.#complete) throw noiseError('NOISE_BAD_STATE', 'handshake not complete');
    const keys = this.#keys;
    if (keys === undefined) throw noiseError('NOISE_BAD_STATE', 'handshake already split');
    this.#keys = undefined;
    const [k1, k2] = keys;
    return this.#initiator ? { send: k1, recv: k2 } : { send: k2, recv: k1 };
  }

  /** Checks the turn and returns the tokens of the message about to be processed. */
  #begin(writing: boolean): readonly NoiseToken[] {
    if (this.#failed) throw noiseError('NOISE_BAD_STATE', 'handshake failed earlier');
    if (this.#complete) throw noiseError('NOISE_BAD_STATE', 'handshake already complete');
    const initiatorTurn = this.#step % 2 === 0;
    if ((initiatorTurn === this.#initiator) !== writing) {
      throw this.#fail(
        noiseError('NOISE_BAD_STATE', writing ? 'not our turn to write' : 'not our turn to read', {
          step: this.#step,
        }),
      );
    }
    return this.#pattern.messages[this.#step] as readonly NoiseToken[];
  }

  /** Bytes a message of `tokens` adds around its payload, from the current key state. */
  #overhead(tokens: readonly NoiseToken[]): number {
    let keyed = this.#sym.hasKey();
    let n = 0;
    for (const t of tokens) {
      if (t === 'e') n += this.#codec.wireLength;
      else if (t === 's') n += DH_LEN + (keyed ? TAG_LEN : 0);
      else keyed = true;
    }
    return n + (keyed ? TAG_LEN : 0);
  }

  #mixDh(token: NoiseToken): void {
    // es: initiator's e with responder's s; se: initiator's s with responder's e.
    const localStatic = token === 'ss' || token === (this.#initiator ? 'se' : 'es');
    const remoteStatic = token === 'ss' || token === (this.#initiator ? 'es' : 'se');
    const local = localStatic ? this.#need(this.#s, 's') : this.#need(this.#e, 'e');
    const remote = remoteStatic ? this.#need(this.#rs, 'rs') : this.#need(this.#re, 're');
    const shared = x25519(local.secretKey, remote);
    this.#sym.mixKey(shared);
    wipe(shared);
  }

  #decodeEphemeral(wire: Uint8Array): Uint8Array {
    let re: Uint8Array;
    try {
      re = this.#codec.decode(wire);
    } catch (err) {
      throw noiseError('NOISE_BAD_MESSAGE', 'ephemeral key did not decode', {
        cause: err instanceof SkymeshError ? err.code : String(err),
      });
    }
    if (!(re instanceof Uint8Array) || re.length !== DH_LEN) {
      throw noiseError('NOISE_BAD_MESSAGE', 'ephemeral codec returned a bad key');
    }
    return re;
  }

  #end(): void {
    this.#step += 1;
    if (this.#step < this.#pattern.messages.length) return;
    this.#complete = true;
    this.#keys = this.#sym.split();
    this.#wipeEphemeral();
  }

  /** Poisons the state, wipes what is secret, and maps low-level failures to Noise codes. */
  #fail(err: unknown): unknown {
    this.#failed = true;
    this.#keys?.forEach(wipe);
    this.#keys = undefined;
    this.#sym.wipe();
    this.#wipeEphemeral();
    if (err instanceof CryptoError && err.code === 'CRYPTO_DH_LOW_ORDER') {
      return noiseError('NOISE_BAD_MESSAGE', 'peer key is a low-order point');
    }
    return err;
  }

  #wipeEphemeral(): void {
    if (this.#e !== undefined) wipe(this.#e.secretKey);
    if (this.#fixedE !== undefined) wipe(this.#fixedE.secretKey);
    this.#e = undefined;
    this.#fixedE = undefined;
  }

  #staticOf(initiatorSide: boolean): Uint8Array {
    return initiatorSide === this.#initiator
      ? this.#need(this.#s, 's').publicKey
      : this.#need(this.#rs, 'rs');
  }

  #need<T>(key: T | undefined, field: string): T {
    if (key === undefined) {
      throw noiseError('NOISE_MISSING_KEY', `handshake needs ${field} here`, { field });
    }
    return key;
  }
}
