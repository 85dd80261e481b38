/**
 * @skymesh/protocol — Skymesh wire formats, pure and browser-safe: the
 * binary codec (Reader/Writer), typed protocol errors, shared constants and
 * the signed node descriptor. Layers live in subpaths
 * (@skymesh/protocol/link, /onion, /stream, /gateway).
 */
export * from './codec/index.js';
export * from './constants.js';
export * from './descriptor/index.js';
export * from './errors.js';
