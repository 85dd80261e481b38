/** @skymesh/route-server — the directory service: app factory, core, mirror, config. */
export { buildApp, MAX_MESSAGE_BYTES, metricsText, pathsToJSON, type AppOptions } from './app.js';
export { ConfigError, type Config, loadConfig, upstreamKeyBytes } from './config.js';
export {
  type DirectoryCounters,
  DirectoryService,
  type DirectoryServiceOptions,
  type PublishResult,
} from './directory.js';
export { HTTP_STATUS, RouteServerError, type RouteServerErrorCode, statusOf } from './errors.js';
export { DEFAULT_LIMITS, SybilGuard, type SybilLimits, sourceKeys } from './limits.js';
export { Mirror, type MirrorOptions, type SyncResult } from './mirror.js';
