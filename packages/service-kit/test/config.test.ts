/** loadEnvConfig: typed values, empty means unset, every bad variable named once. */

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, envBool, envInt, envLevel, envSeed, loadEnvConfig } from '../src/index.js';

const schema = z
  .object({
    PORT: envInt(0, 65535, 8080),
    FLAG: envBool.default(false),
    KEY: envSeed.optional(),
    LOG_LEVEL: envLevel,
    MODE: z.enum(['a', 'b']).default('a'),
  })
  .superRefine((c, ctx) => {
    if (c.MODE === 'b' && !c.KEY)
      ctx.addIssue({ code: 'custom', path: ['KEY'], message: 'is required with MODE=b' });
  });

const bad = (env: Record<string, string>) => {
  try {
    loadEnvConfig(schema, env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  return undefined;
};

describe('loadEnvConfig', () => {
  it('gives defaults and parsed values', () => {
    expect(loadEnvConfig(schema, {})).toEqual({
      PORT: 8080,
      FLAG: false,
      LOG_LEVEL: 'info',
      MODE: 'a',
    });
    const c = loadEnvConfig(schema, {
      PORT: '0',
      FLAG: '1',
      LOG_LEVEL: 'silent',
      KEY: 'ab'.repeat(32),
    });
    expect(c.PORT).toBe(0);
    expect(c.FLAG).toBe(true);
    expect(c.LOG_LEVEL).toBe('silent');
    expect(loadEnvConfig(schema, { FLAG: 'false' }).FLAG).toBe(false);
  });

  it('treats an empty or undefined variable as unset', () => {
    expect(loadEnvConfig(schema, { PORT: '', FLAG: undefined }).PORT).toBe(8080);
  });

  it('ignores variables the schema does not name', () => {
    expect(loadEnvConfig(schema, { PATH: '/bin', HOME: '/root' }).PORT).toBe(8080);
  });

  it('names every bad variable, each once, with code CONFIG_INVALID', () => {
    const e = bad({ PORT: 'eighty', FLAG: 'maybe', KEY: 'AB'.repeat(32), LOG_LEVEL: 'loud' });
    expect(e?.code).toBe('CONFIG_INVALID');
    expect(e?.variables.sort()).toEqual(['FLAG', 'KEY', 'LOG_LEVEL', 'PORT']);
    expect(e?.details).toEqual({ variables: e?.variables });
    expect(bad({ PORT: '70000' })?.variables).toEqual(['PORT']);
    expect(bad({ PORT: '1.5' })?.variables).toEqual(['PORT']);
    expect(bad({ MODE: 'b' })?.variables).toEqual(['KEY']);
    expect(bad({ MODE: 'b', KEY: 'ab'.repeat(32) })).toBeUndefined();
  });

  it('serialises for logs and the wire', () => {
    const e = bad({ PORT: 'x' });
    expect(JSON.parse(JSON.stringify(e))).toMatchObject({
      code: 'CONFIG_INVALID',
      details: { variables: ['PORT'] },
    });
  });
});
