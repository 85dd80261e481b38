/**
 * Logging for the mesh node: a pino logger (JSON lines on stderr so stdout
 * stays free for a CLI's output), and the small interface every layer
 * accepts, so tests can pass a silent one and layers never import pino.
 * Logs never carry payload bytes or keys other than public addresses.
 */
import { type Logger, pino } from 'pino';

/** The subset of a pino logger the node's layers call. */
export interface NodeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** A logger that drops everything (the default of createNode). */
export const silentLogger: NodeLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/**
 * A pino logger writing JSON lines to stderr.
 * @param level @default 'info'
 */
export function createLogger(level: LogLevel = 'info', name = 'skymesh-node'): Logger {
  return pino({ name, level }, pino.destination({ fd: 2, sync: false }));
}
