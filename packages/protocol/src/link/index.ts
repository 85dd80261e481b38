/**
 * @skymesh/protocol/link — the bytes of node↔node links: the obfuscated
 * Noise IK handshake, encrypted frames with hidden lengths, and the records
 * (cells, keepalive, close, padding) frames carry. Pure and browser-safe;
 * the node's link layer (services/node/src/link) adds transports and timers.
 */
export * from './constants.js';
export * from './errors.js';
export * from './frame.js';
export * from './handshake.js';
export * from './keys.js';
export * from './records.js';
