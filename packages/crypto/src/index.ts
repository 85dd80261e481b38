/**
 * @skymesh/crypto — keys, addresses, AEAD, hashes, signatures, Noise and
 * Elligator2 behind one interface. On Node the sodium backend (sodium-native)
 * is picked automatically, or node:crypto + libsodium WASM where it does not
 * load; in browsers the @noble backend.
 */
export * from './address.js';
export * from './aead.js';
export type { CryptoBackend } from './backend.js';
export * from './bytes.js';
export * from './ed25519.js';
export * from './elligator2.js';
export * from './ephemeral.js';
export * from './errors.js';
export * from './hash.js';
export * from './identity.js';
export * from './noise/index.js';
export { availableBackends, backend, nobleBackend, ready, useBackend } from './select.js';
export * from './x25519.js';
