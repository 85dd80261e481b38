/**
 * Backend selection. On Node the package's `#native` import resolves to the
 * node:crypto + libsodium backend; in browsers to nothing, and noble serves.
 * Selection is automatic; `useBackend` exists for tests and benchmarks.
 */
import { createNativeBackend, nativeReady } from '#native';
import type { CryptoBackend } from './backend.js';
import { nobleBackend } from './backends/noble.js';

const native = createNativeBackend();
let active: CryptoBackend = native ?? nobleBackend;

/** The backend every function of this package calls. */
export function backend(): CryptoBackend {
  return active;
}

/** Every backend usable in this runtime, fastest first. */
export function availableBackends(): CryptoBackend[] {
  return native ? [native, nobleBackend] : [nobleBackend];
}

/** Switches the active backend (tests, benchmarks). Returns the previous one. */
export function useBackend(next: CryptoBackend): CryptoBackend {
  const prev = active;
  active = next;
  return prev;
}

/**
 * Resolves when optional accelerators (libsodium's WASM) are loaded. Every
 * function works before that, only slower for short AEAD messages.
 */
export function ready(): Promise<void> {
  return nativeReady;
}

export { nobleBackend };
