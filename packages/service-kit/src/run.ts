/**
 * The life of a service process, the same for every Skymesh service:
 * validate the configuration (a bad value: a fatal log line naming the
 * variables, exit code 2), log at LOG_LEVEL, start, print one
 * machine-readable `<NAME>_LISTENING <address> …` line for scripts and
 * tests that start the service on port 0, and stop once on SIGINT/SIGTERM
 * (exit 0, or 1 when stopping fails). A service's main.ts is then only the
 * part that is its own: how to build it from its config.
 */
import pino, { type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import { ConfigError, type Env } from './config.js';

/** What a started service hands back to the runner. */
export interface ServiceHandle {
  /** Where it listens (the URL fastify's `listen` returns). */
  address: string;
  /** Words printed after the address in the listening line (e.g. the service's key address). */
  announce?: readonly string[];
  /** Extra fields for the "listening" log line. */
  details?: Record<string, unknown>;
  /** Closes everything the service opened; called once. */
  stop(): Promise<void>;
}

/** How to load and start one service. */
export interface ServiceDefinition<C extends { LOG_LEVEL: LevelWithSilent }> {
  /** Logger name and listening-line prefix: `route-server` → `ROUTE_SERVER_LISTENING`. */
  name: string;
  /** Reads the configuration; throw ConfigError on a bad value. */
  loadConfig(env: Env): C;
  /** Builds and starts the service, listening when it returns. */
  start(config: C, logger: Logger): Promise<ServiceHandle>;
}

/** The parts of `process` the runner uses; tests pass a fake. */
export interface ServiceHost {
  env: Env;
  stdout: { write(line: string): unknown };
  on(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  exit(code: number): void;
  /** Where log lines go; unset → pino's default (stdout). */
  logDestination?: DestinationStream;
}

/** Exit code for a configuration error (distinct from a crash, which is 1). */
export const EXIT_BAD_CONFIG = 2;

/** `route-server` → `ROUTE_SERVER_LISTENING`. */
export function listeningPrefix(name: string): string {
  return `${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_LISTENING`;
}

/**
 * Runs a service until a signal stops it. Resolves once the service is
 * listening (or the process was told to exit); never rejects: failures are
 * logged and end in `host.exit`.
 *
 * @example
 *   await runService({
 *     name: 'gateway',
 *     loadConfig,
 *     async start(config, logger) {
 *       const gw = await startGateway(config, { logger });
 *       return { address: await gw.app.listen({ port: config.PORT }), stop: gw.stop };
 *     },
 *   });
 */
export async function runService<C extends { LOG_LEVEL: LevelWithSilent }>(
  service: ServiceDefinition<C>,
  host: ServiceHost = process,
): Promise<void> {
  const makeLogger = (level: LevelWithSilent) =>
    host.logDestination
      ? pino({ name: service.name, level }, host.logDestination)
      : pino({ name: service.name, level });
  let config: C;
  try {
    config = service.loadConfig(host.env);
  } catch (err) {
    const boot = makeLogger('info');
    if (err instanceof ConfigError) {
      boot.fatal({ variables: err.variables }, err.message);
      host.exit(EXIT_BAD_CONFIG);
    } else {
      boot.fatal({ err }, 'cannot read the configuration');
      host.exit(1);
    }
    return;
  }
  const logger = makeLogger(config.LOG_LEVEL);
  let handle: ServiceHandle;
  try {
    handle = await service.start(config, logger);
  } catch (err) {
    logger.fatal({ err }, `${service.name} failed to start`);
    host.exit(1);
    return;
  }
  // A second signal while stopping is ignored: the first one's stop runs to
  // the end (draining in-flight work) rather than being cut short.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    try {
      await handle.stop();
    } catch (err) {
      logger.error({ err }, 'stop failed');
      host.exit(1);
      return;
    }
    host.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) host.on(signal, () => void stop(signal));
  // The line goes out only once the signals are handled: a script that
  // stops the service as soon as it reads the line gets a clean stop.
  logger.info({ address: handle.address, ...handle.details }, `${service.name} listening`);
  const words = [handle.address, ...(handle.announce ?? [])].join(' ');
  host.stdout.write(`${listeningPrefix(service.name)} ${words}\n`);
}
