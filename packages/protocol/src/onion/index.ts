/**
 * @skymesh/protocol/onion — the route layer's wire formats, pure and
 * browser-safe: the Sphinx-style one-pass setup packet (build at the source,
 * process at each hop), data-cell onion layers, the route header, the
 * setup replay cache and this layer's error codes. The node's router
 * (services/node/src/route) does the I/O. Layouts: docs/drafts/routes.md.
 */
export * from './cell.js';
export * from './constants.js';
export * from './errors.js';
export { deriveHopKeys, type HopKeys } from './keys.js';
export * from './layers.js';
export * from './replay.js';
export * from './setup.js';
