/**
 * @skymesh/service-kit — what every Skymesh service process shares (Node
 * only, private): environment configuration checked with zod, and the
 * process lifecycle around a service's own start and stop.
 */
export {
  ConfigError,
  type Env,
  envBool,
  envInt,
  envLevel,
  envLoader,
  envSeed,
  loadEnvConfig,
} from './config.js';
export {
  EXIT_BAD_CONFIG,
  listeningPrefix,
  runService,
  type ServiceDefinition,
  type ServiceHandle,
  type ServiceHost,
} from './run.js';
