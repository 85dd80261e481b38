/** Configuration: defaults, and a bad value names its variable. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, upstreamKeyBytes } from '../src/config.js';
import { node } from './_harness.js';

const fail = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.variables;
    throw e;
  }
  return [];
};

describe('config', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(8401);
    expect(c.NODES_PER_IP).toBe(4);
    expect(c.UPSTREAM_URL).toBeUndefined();
  });

  it('names every bad variable', () => {
    expect(fail({ PORT: 'eighty' })).toEqual(['PORT']);
    expect(fail({ ROUTE_SERVER_KEY: 'xyz' })).toEqual(['ROUTE_SERVER_KEY']);
    expect(fail({ NODE_ENV: 'production' })).toEqual(['ROUTE_SERVER_KEY']);
    expect(fail({ UPSTREAM_URL: 'http://127.0.0.1:1' })).toEqual(['UPSTREAM_KEY']);
    expect(fail({ UPSTREAM_URL: 'nope', UPSTREAM_KEY: 'ab' })).toEqual([
      'UPSTREAM_URL',
      'UPSTREAM_KEY',
    ]);
    expect(fail({ REQ_RATE_PER_IP: '-1', DESCRIPTOR_TTL_S: '5' })).toEqual([
      'DESCRIPTOR_TTL_S',
      'REQ_RATE_PER_IP',
    ]);
  });

  it('takes the upstream key as hex or as an address', () => {
    const id = node(1);
    const hex = Buffer.from(id.publicKey).toString('hex');
    expect(upstreamKeyBytes(hex)).toEqual(id.publicKey);
    expect(upstreamKeyBytes(id.address)).toEqual(id.publicKey);
    expect(
      loadConfig({ UPSTREAM_URL: 'http://127.0.0.1:9', UPSTREAM_KEY: id.address }).UPSTREAM_KEY,
    ).toBe(id.address);
  });
});
