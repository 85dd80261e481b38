/**
 * @skymesh/protocol/gateway — the payment gateway's wire formats, pure and
 * browser-safe: signed calls, signed receipts, RFC 6962 transparency-log
 * proofs, signed checkpoints, chain verifiers, the dispute check and a client.
 */
export * from './amount.js';
export * from './call.js';
export * from './checkpoint.js';
export * from './client.js';
export * from './dispute.js';
export * from './errors.js';
export * from './merkle.js';
export * from './receipt.js';
export * from './ws-transport.js';
