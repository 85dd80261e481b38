/**
 * Backend selection. On Node the package's `#native` import resolves to the
 * sodium backend (sodium-native) and the openssl backend (node:crypto +
 * libsodium WASM, the fallback where sodium-native does not load); in
 * browsers to nothing, and noble serves. Selection is automatic: the first
 * (fastest) one serves; `useBackend` exists for tests and benchmarks.
 */
import { nativeBackends, nativeReady } from '#native';
import type { CryptoBackend } from './backend.js';
import { nobleBackend } from './backends/noble.js';

const natives = nativeBackends();
let active: CryptoBackend = natives[0] ?? nobleBackend;

/** The backend every function of this package calls. */
export function backend(): CryptoBackend {
  return active;
}

/** Every backend usable in this runtime, fastest first. */
export function availableBackends(): CryptoBackend[] {
  return [...natives, nobleBackend];
}

/** Switches the active backend (tests, benchmarks). Returns the previous one. */
export function useBackend(next: CryptoBackend): CryptoBackend {
  const prev = active;
  active = next;
  return prev;
}

/**
 * Resolves when optional accelerators are loaded (the openssl fallback's
 * libsodium WASM; the sodium backend needs no wait). Every function works
 * before that, only slower for short AEAD messages on the fallback.
 */
export function ready(): Promise<void> {
  return nativeReady;
}

export { nobleBackend };
