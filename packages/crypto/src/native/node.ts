/**
 * Node's backends, fastest first: sodium (sodium-native's prebuilt
 * libsodium) when its binary loads, and openssl (node:crypto + libsodium
 * WASM), which serves where it does not (sodium-native's linux prebuilds
 * link glibc, so Alpine/musl images fall back) and is kept for comparison.
 */
import { createRequire } from 'node:module';
import type { CryptoBackend } from '../backend.js';
import { createOpenSslBackend, nativeReady } from './openssl.js';
import { createSodiumBackend, type SodiumNative } from './sodium.js';

export { nativeReady };

/** sodium-native, or null when its binary does not load on this platform. */
export function loadSodiumNative(): SodiumNative | null {
  try {
    return createRequire(import.meta.url)('sodium-native') as SodiumNative;
  } catch {
    return null;
  }
}

/** Fastest first; `sodium` is the loaded module, or null where it does not load. */
export function nativeBackends(sodium: SodiumNative | null = loadSodiumNative()): CryptoBackend[] {
  const openssl = createOpenSslBackend();
  return sodium ? [createSodiumBackend(sodium, openssl), openssl] : [openssl];
}
