// The node's configuration: defaults, file + SKYMESH_* overrides, errors
// naming the bad field, and the identity seed kept with mode 0600.
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  loadConfig,
  loadOrCreateIdentity,
  nodeConfigSchema,
  nodeInitFromConfig,
} from '../src/config.js';

async function fails(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('node config', () => {
  it('has a default for every field', async () => {
    const c = await loadConfig({ argv: [], env: {} });
    expect(c).toMatchObject({
      listen: [{ transport: 'ws', host: '127.0.0.1', port: 0 }],
      roles: { relay: true, exit: false },
      exitPolicy: { ports: [], hosts: [] },
      pricePerMiB: 0n,
      hops: 3,
    });
    expect(nodeInitFromConfig(c).hops).toBe(3);
  });

  it('reads --config, then applies SKYMESH_* overrides', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skymesh-cfg-'));
    const file = join(dir, 'node.json');
    await writeFile(file, JSON.stringify({ hops: 2, pricePerMiB: '1000', roles: { exit: true } }));
    const c = await loadConfig({
      argv: ['--config', file],
      env: {
        SKYMESH_LISTEN: 'tcp://[::1]:4100, ws://127.0.0.1:0',
        SKYMESH_EXIT_PORTS: '80,443-444',
        SKYMESH_EXIT_HOSTS: '*.example.org',
        SKYMESH_HOPS: '4',
      },
    });
    expect(c.hops).toBe(4);
    expect(c.pricePerMiB).toBe(1000n);
    expect(c.roles).toEqual({ relay: true, exit: true });
    expect(c.listen).toEqual([
      { transport: 'tcp', host: '::1', port: 4100 },
      { transport: 'ws', host: '127.0.0.1', port: 0 },
    ]);
    expect(c.exitPolicy).toEqual({
      ports: [
        { from: 80, to: 80 },
        { from: 443, to: 444 },
      ],
      hosts: ['*.example.org'],
    });
    const viaEnv = await loadConfig({ argv: [], env: { SKYMESH_CONFIG: file } });
    expect(viaEnv.hops).toBe(2);
  });

  it('a bad value names the field and where it came from', async () => {
    const e1 = await fails(
      loadConfig({ argv: [], env: { SKYMESH_LISTEN: 'ws://127.0.0.1:70000' } }),
    );
    expect(e1.code).toBe('NODE_CONFIG_INVALID');
    expect(e1.fields).toEqual(['listen.0.port']);
    expect(e1.message).toContain('SKYMESH_LISTEN');
    const e2 = await fails(loadConfig({ argv: [], env: { SKYMESH_HOPS: 'x' } }));
    expect(e2.fields).toEqual(['SKYMESH_HOPS']);
    const dir = await mkdtemp(join(tmpdir(), 'skymesh-cfg-'));
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ pricePerMiB: 1.5, colour: 'red' }));
    const e3 = await fails(loadConfig({ argv: [`--config=${file}`], env: {} }));
    expect(e3.fields.sort()).toEqual(['(root)', 'pricePerMiB']);
    const e4 = await fails(loadConfig({ argv: ['--config', join(dir, 'missing.json')], env: {} }));
    expect(e4.fields).toEqual(['config']);
  });

  it('apps extend the schema with their own sections', async () => {
    const schema = nodeConfigSchema.extend({ socks: z.object({ port: z.number() }).optional() });
    const c = await loadConfig({ argv: [], env: {}, schema });
    expect(c.socks).toBeUndefined();
    expect(c.hops).toBe(3);
  });

  it('keeps the identity seed in the data dir with mode 0600', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'skymesh-id-')), 'data');
    const a = await loadOrCreateIdentity(dir);
    const b = await loadOrCreateIdentity(dir);
    expect(b.address).toBe(a.address);
    const st = await stat(join(dir, 'identity.key'));
    expect(st.mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o077).toBe(0);
    expect((await readFile(join(dir, 'identity.key'), 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
    await writeFile(join(dir, 'identity.key'), 'nonsense');
    expect((await fails(loadOrCreateIdentity(dir))).code).toBe('NODE_CONFIG_INVALID');
  });
});
