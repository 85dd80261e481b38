/**
 * Noise Protocol Framework (revision 34) handshakes over X25519,
 * ChaCha20-Poly1305 and SHA-256 / BLAKE2b / BLAKE2s, running on whichever
 * crypto backend is active. Skymesh links use XK or IK, end-to-end sessions
 * NK. See docs/drafts/noise.md.
 */
export { CipherState, NOISE_MAX_MESSAGE_LEN } from './cipher-state.js';
export {
  type HandshakeOptions,
  HandshakeState,
  type NoiseHash,
  noiseProtocolName,
} from './handshake-state.js';
export {
  NOISE_PATTERNS,
  type NoisePattern,
  type NoisePatternName,
  type NoiseToken,
} from './patterns.js';
