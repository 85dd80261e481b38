/**
 * Service configuration from environment variables: one zod schema, checked
 * once at start. An empty variable counts as unset (as in `FOO= cmd`), and a
 * failure names every bad variable so an operator fixes them all in one go.
 */
import { SkymeshError } from '@skymesh/crypto';
import type { LevelWithSilent } from 'pino';
import { z } from 'zod';

/** The environment as Node gives it (`process.env`) or as a test writes it. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Thrown when the environment holds a bad value. `variables` lists each bad
 * variable once, in the order the schema reported them; the message names
 * them with the reason.
 */
export class ConfigError extends SkymeshError<'CONFIG_INVALID'> {
  /** The bad variables, e.g. `['PORT', 'GATEWAY_KEY']`. */
  readonly variables: string[];
  constructor(variables: string[], message: string) {
    super('CONFIG_INVALID', message, { variables });
    this.variables = variables;
  }
}

/**
 * Validates `env` against `schema` (a zod object over variable names) and
 * returns the parsed, typed configuration.
 *
 * @example
 *   const schema = z.object({ PORT: envInt(0, 65535, 8080) });
 *   const { PORT } = loadEnvConfig(schema, process.env);
 * @throws ConfigError naming every bad variable.
 */
export function loadEnvConfig<S extends z.ZodType>(schema: S, env: Env = process.env): z.output<S> {
  const present: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') present[k] = v;
  const r = schema.safeParse(present);
  if (r.success) return r.data;
  const variables: string[] = [];
  const reasons: string[] = [];
  for (const issue of r.error.issues) {
    const name = String(issue.path[0] ?? '?');
    if (!variables.includes(name)) variables.push(name);
    reasons.push(`${name} ${issue.message}`);
  }
  throw new ConfigError(variables, `invalid configuration: ${reasons.join('; ')}`);
}

/** A boolean variable: `true`/`1` or `false`/`0`. */
export const envBool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

/** An integer variable in [min, max], `fallback` when unset. */
export const envInt = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** LOG_LEVEL: a pino level name, `info` when unset. */
export const envLevel = z
  .enum([
    'fatal',
    'error',
    'warn',
    'info',
    'debug',
    'trace',
    'silent',
  ] as const satisfies readonly LevelWithSilent[])
  .default('info');

/** An Ed25519 seed given as 64 lowercase hex digits. */
export const envSeed = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

/**
 * A service's `loadConfig`: `envLoader(schema)(env)` is `loadEnvConfig(schema, env)`,
 * reading `process.env` when called without an argument.
 *
 * @example
 *   export const loadConfig = envLoader(schema);
 */
export function envLoader<S extends z.ZodType>(schema: S): (env?: Env) => z.output<S> {
  return (env = process.env) => loadEnvConfig(schema, env);
}
