/** The signed node descriptor: encoding, signing, verification, JSON form, exit policy. */
export * from './descriptor.js';
export { exitAllows } from './exit.js';
export {
  hostMatches,
  hostPatternProblem,
  hostProblem,
  MAX_HOST_LENGTH,
  normalizeHost,
  parseIP,
} from './host.js';
