/** Browser stand-in for Node's backends: there are none, noble serves. */
import type { CryptoBackend } from '../backend.js';

export const nativeReady: Promise<void> = Promise.resolve();
export function nativeBackends(): CryptoBackend[] {
  return [];
}
