/** Browser stand-in for the native backend: there is none, noble serves. */
import type { CryptoBackend } from '../backend.js';

export const nativeReady: Promise<void> = Promise.resolve();
export function createNativeBackend(): CryptoBackend | null {
  return null;
}
