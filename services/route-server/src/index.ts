/** @skymesh/route-server — the directory service: app factory, core, mirror, config. */
export { type AppOptions, buildApp, MAX_MESSAGE_BYTES, metricsText, pathsToJSON } from './app.js';
export { type Config, ConfigError, loadConfig, upstreamKeyBytes } from './config.js';
export {
  type DirectoryCounters,
  DirectoryService,
  type DirectoryServiceOptions,
  type PublishResult,
} from './directory.js';
export { HTTP_STATUS, RouteServerError, type RouteServerErrorCode, statusOf } from './errors.js';
export { DEFAULT_LIMITS, SybilGuard, type SybilLimits, sourceKeys } from './limits.js';
export { Mirror, type MirrorOptions, type SyncResult } from './mirror.js';
