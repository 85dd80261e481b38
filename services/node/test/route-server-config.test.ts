// The node's routeServer section: file and SKYMESH_ROUTE_SERVER_* overrides,
// the agent settings it gives, and refusals naming the field.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Identity, toHex } from '@skymesh/crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, nodeInitFromConfig } from '../src/config.js';

const server = Identity.generate();
const publisher = Identity.generate();

async function fieldsOf(env: Record<string, string>): Promise<string[]> {
  try {
    await loadConfig({ argv: [], env });
  } catch (err) {
    if (err instanceof ConfigError) return err.fields;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('routeServer config', () => {
  it('is off by default', async () => {
    const c = await loadConfig({ argv: [], env: {} });
    expect(c.routeServer).toBeUndefined();
    expect(nodeInitFromConfig(c).routeServer).toBeUndefined();
  });

  it('takes a key (hex or address), a URL and a .mesh service from the environment', async () => {
    const c = await loadConfig({
      argv: [],
      env: {
        SKYMESH_ROUTE_SERVER_KEY: server.address,
        SKYMESH_ROUTE_SERVER_URL: 'http://127.0.0.1:8401',
        SKYMESH_ROUTE_SERVER_PUBLISH_URL: 'https://routes.example.org',
        SKYMESH_ROUTE_SERVER_MESH: `${publisher.address}.mesh:8401`,
      },
    });
    const s = nodeInitFromConfig(c).routeServer!;
    expect(toHex(s.key)).toBe(toHex(server.publicKey));
    expect(s).toMatchObject({
      url: 'http://127.0.0.1:8401',
      publishUrl: 'https://routes.example.org',
      mesh: { address: publisher.address, port: 8401 },
      publishIntervalMs: 900_000,
      reportIntervalMs: 60_000,
      syncIntervalMs: 30_000,
      ask: true,
    });
    const hex = await loadConfig({
      argv: [],
      env: {
        SKYMESH_ROUTE_SERVER_KEY: toHex(server.publicKey),
        SKYMESH_ROUTE_SERVER_URL: 'http://127.0.0.1:8401',
      },
    });
    expect(toHex(nodeInitFromConfig(hex).routeServer!.key)).toBe(toHex(server.publicKey));
  });

  it("staleAfterS from the file becomes the agent's staleAfterMs; unset, the agent's default applies", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skymesh-rs-config-'));
    const file = join(dir, 'node.json');
    const section = { key: server.address, url: 'http://127.0.0.1:8401' };
    await writeFile(file, JSON.stringify({ routeServer: { ...section, staleAfterS: 600 } }));
    const c = await loadConfig({ argv: ['--config', file], env: {} });
    expect(nodeInitFromConfig(c).routeServer!.staleAfterMs).toBe(600_000);
    await writeFile(file, JSON.stringify({ routeServer: section }));
    const d = await loadConfig({ argv: ['--config', file], env: {} });
    expect(nodeInitFromConfig(d).routeServer).not.toHaveProperty('staleAfterMs');
    await writeFile(file, JSON.stringify({ routeServer: { ...section, staleAfterS: 90 } }));
    await expect(loadConfig({ argv: ['--config', file], env: {} })).rejects.toMatchObject({
      fields: ['routeServer.staleAfterS'],
    });
  });

  it('refuses a bad key, a non-http URL, a bad .mesh service, and neither url nor mesh', async () => {
    const key = server.address;
    const cases: [Record<string, string>, string][] = [
      [
        { SKYMESH_ROUTE_SERVER_KEY: 'abc', SKYMESH_ROUTE_SERVER_URL: 'http://x:1' },
        'routeServer.key',
      ],
      [{ SKYMESH_ROUTE_SERVER_KEY: key, SKYMESH_ROUTE_SERVER_URL: 'ftp://x/' }, 'routeServer.url'],
      [
        { SKYMESH_ROUTE_SERVER_KEY: key, SKYMESH_ROUTE_SERVER_MESH: 'nothere' },
        'SKYMESH_ROUTE_SERVER_MESH',
      ],
      [
        { SKYMESH_ROUTE_SERVER_KEY: key, SKYMESH_ROUTE_SERVER_MESH: 'notanaddress:8401' },
        'routeServer.mesh.address',
      ],
      [{ SKYMESH_ROUTE_SERVER_KEY: key }, 'routeServer'],
    ];
    for (const [env, field] of cases) expect(await fieldsOf(env), field).toEqual([field]);
  });
});
