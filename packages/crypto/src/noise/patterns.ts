/**
 * The handshake patterns Skymesh uses (Noise rev. 34, §7.4 and §7.5), as
 * data: which side's static key is known in advance (pre-messages) and the
 * tokens of each message. Messages alternate, the initiator sending the
 * first. Links use XK or IK, end-to-end sessions NK (the source stays
 * anonymous); NN, KK and XX are kept for tests and future uses.
 */

/** A handshake token: send/receive a key (`e`, `s`) or mix in a DH (`ee`, `es`, `se`, `ss`). */
export type NoiseToken = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss';

export type NoisePatternName = 'NN' | 'NK' | 'KK' | 'XK' | 'IK' | 'XX';

export interface NoisePattern {
  /** Pre-message `-> s`: the responder knows the initiator's static key beforehand. */
  readonly initiatorStaticKnown: boolean;
  /** Pre-message `<- s`: the initiator knows the responder's static key beforehand. */
  readonly responderStaticKnown: boolean;
  /** Tokens of each message; even indexes are sent by the initiator. */
  readonly messages: readonly (readonly NoiseToken[])[];
}

export const NOISE_PATTERNS: Readonly<Record<NoisePatternName, NoisePattern>> = {
  NN: {
    initiatorStaticKnown: false,
    responderStaticKnown: false,
    messages: [['e'], ['e', 'ee']],
  },
  NK: {
    initiatorStaticKnown: false,
    responderStaticKnown: true,
    messages: [
      ['e', 'es'],
      ['e', 'ee'],
    ],
  },
  KK: {
    initiatorStaticKnown: true,
    responderStaticKnown: true,
    messages: [
      ['e', 'es', 'ss'],
      ['e', 'ee', 'se'],
    ],
  },
  XK: {
    initiatorStaticKnown: false,
    responderStaticKnown: true,
    messages: [
      ['e', 'es'],
      ['e', 'ee'],
      ['s', 'se'],
    ],
  },
  IK: {
    initiatorStaticKnown: false,
    responderStaticKnown: true,
    messages: [
      ['e', 'es', 's', 'ss'],
      ['e', 'ee', 'se'],
    ],
  },
  XX: {
    initiatorStaticKnown: false,
    responderStaticKnown: false,
    messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']],
  },
};

/** Whether the side `initiator` needs its own static key in `pattern`. */
export function needsLocalStatic(pattern: NoisePattern, initiator: boolean): boolean {
  if (initiator ? pattern.initiatorStaticKnown : pattern.responderStaticKnown) return true;
  // `es` uses the responder's static, `se` the initiator's, `ss` both.
  const mine = initiator ? 'se' : 'es';
  return pattern.messages.some((tokens, i) =>
    tokens.some((t) => t === 'ss' || t === mine || (t === 's' && i % 2 === (initiator ? 0 : 1))),
  );
}

/** Whether the side `initiator` must be given the peer's static key up front. */
export function needsRemoteStatic(pattern: NoisePattern, initiator: boolean): boolean {
  return initiator ? pattern.responderStaticKnown : pattern.initiatorStaticKnown;
}
