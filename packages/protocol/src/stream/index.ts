/**
 * @skymesh/protocol/stream — the end-to-end session layer's wire formats:
 * the Noise NK session handshake, resume messages, sealed records and the
 * stream frames inside them, the key schedule, and the layer's error codes.
 * Pure and browser-safe; the state machine that drives them lives in the
 * node (services/node/src/session). See docs/drafts/sessions.md.
 */
export * from './errors.js';
export * from './frames.js';
export * from './handshake.js';
export * from './keys.js';
export * from './messages.js';
