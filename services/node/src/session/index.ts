/**
 * The node's session layer: end-to-end Noise NK sessions over routes,
 * multiplexed flow-controlled streams (Node Duplex), and failover to a new
 * route without losing a byte. createSessionClient is the source's end,
 * createSessionServer the destination's. Wire formats are in
 * @skymesh/protocol/stream; docs/drafts/sessions.md has the whole design.
 */
export {
  SessionError,
  type SessionErrorCode,
  type StreamTarget,
  WireCode,
} from '@skymesh/protocol/stream';
export {
  createSessionClient,
  type SessionClient,
  type SessionClientOptions,
  type SessionClientState,
} from './client.js';
export type { SessionStats } from './engine.js';
export {
  createMemoryRoutePair,
  type MemoryRouteOptions,
  type MemoryRoutePair,
} from './memory-route.js';
export type { SessionTuning } from './options.js';
export {
  createSessionServer,
  type SessionServer,
  type SessionServerOptions,
  type SessionServerStats,
} from './server.js';
export { SessionStream } from './stream.js';
