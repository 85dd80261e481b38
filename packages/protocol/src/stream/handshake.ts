/**
 * The session handshake: Noise NK inside the route, source as initiator,
 * destination as responder. The destination's static key is the X25519 form
 * of its Ed25519 address key, so dialling an address authenticates its
 * holder; the source has no static key, so the destination learns nothing
 * about who it is. Authentication is by Diffie-Hellman only (deniable), and
 * both messages bring fresh ephemerals (forward secret once message 2 is in).
 *
 *   HELLO   → e, es   payload: the source's SessionParams (encrypted)
 *   WELCOME ← e, ee   payload: the destination's SessionParams (encrypted)
 *
 * The protocol name is SESSION_PROTOCOL_NAME, not the standard Noise name,
 * so no other protocol's NK transcript can be confused with a session's.
 */
import {
  ed25519PublicToX25519,
  HandshakeState,
  SkymeshError,
  wipe,
  type X25519KeyPair,
} from '@skymesh/crypto';
import { SessionError } from './errors.js';
import { deriveSessionKeys, type SessionKeys } from './keys.js';
import {
  decodeSessionParams,
  encodeRouteMessage,
  encodeSessionParams,
  type SessionParams,
} from './messages.js';

/** The Noise protocol name hashed into every session handshake (domain separation). */
export const SESSION_PROTOCOL_NAME = 'Skymesh_Session_v1_NK_25519_ChaChaPoly_BLAKE2b';

/** What a completed handshake gives each end. */
export interface EstablishedSession {
  readonly keys: SessionKeys;
  /** What the peer announced. */
  readonly peer: SessionParams;
  /** The Noise handshake hash (channel binding; not secret). */
  readonly handshakeHash: Uint8Array;
}

function badHandshake(err: unknown): SessionError {
  if (err instanceof SessionError) return err;
  const cause = err instanceof SkymeshError ? err.code : String(err);
  return new SessionError('SESSION_BAD_HANDSHAKE', 'session handshake failed', { cause });
}

function establish(
  hs: HandshakeState,
  initiator: boolean,
  peer: SessionParams,
): EstablishedSession {
  const handshakeHash = hs.handshakeHash();
  const { send, recv } = hs.splitKeys();
  // Both ends derive from (initiator→responder, responder→initiator).
  const keys = initiator
    ? deriveSessionKeys(send, recv, handshakeHash)
    : deriveSessionKeys(recv, send, handshakeHash);
  wipe(send);
  wipe(recv);
  return { keys, peer, handshakeHash };
}

/** The source's side of a handshake in progress. */
export interface SessionInitiator {
  /** The HELLO route payload to send first. */
  readonly hello: Uint8Array;
  /**
   * Completes the handshake with the WELCOME's Noise message.
   * @throws SessionError SESSION_BAD_HANDSHAKE (wrong destination key, tampering, bad params).
   */
  finish(welcomeNoise: Uint8Array): EstablishedSession;
}

/**
 * Starts a handshake towards the holder of `destinationKey` (Ed25519).
 * @throws SessionError SESSION_BAD_HANDSHAKE when the key is not a valid point.
 */
export function initiateSession(
  destinationKey: Uint8Array,
  params: SessionParams,
): SessionInitiator {
  let hs: HandshakeState;
  let hello: Uint8Array;
  try {
    hs = new HandshakeState({
      pattern: 'NK',
      initiator: true,
      hash: 'BLAKE2b',
      rs: ed25519PublicToX25519(destinationKey),
      protocolName: SESSION_PROTOCOL_NAME,
    });
    hello = encodeRouteMessage({
      type: 'hello',
      noise: hs.writeMessage(encodeSessionParams(params)),
    });
  } catch (err) {
    throw badHandshake(err);
  }
  return {
    hello,
    finish(welcomeNoise) {
      try {
        const peer = decodeSessionParams(hs.readMessage(welcomeNoise));
        return establish(hs, true, peer);
      } catch (err) {
        throw badHandshake(err);
      }
    },
  };
}

/** The destination's answer to a HELLO. */
export interface SessionResponse {
  /** The WELCOME route payload to send back. */
  readonly welcome: Uint8Array;
  readonly session: EstablishedSession;
}

/**
 * Answers a HELLO's Noise message with the destination's static DH key pair
 * (Identity.dhSecretKey / dhPublicKey).
 * @throws SessionError SESSION_BAD_HANDSHAKE for anything wrong with the HELLO.
 */
export function respondToSession(
  staticKey: X25519KeyPair,
  helloNoise: Uint8Array,
  params: SessionParams,
): SessionResponse {
  try {
    const hs = new HandshakeState({
      pattern: 'NK',
      initiator: false,
      hash: 'BLAKE2b',
      s: staticKey,
      protocolName: SESSION_PROTOCOL_NAME,
    });
    const peer = decodeSessionParams(hs.readMessage(helloNoise));
    const welcome = encodeRouteMessage({
      type: 'welcome',
      noise: hs.writeMessage(encodeSessionParams(params)),
    });
    return { welcome, session: establish(hs, false, peer) };
  } catch (err) {
    throw badHandshake(err);
  }
}
