// main.ts as a process: a bad config value stops it with exit code 2 and a
// message naming the field; a good one starts a node that writes its
// descriptor, keeps its seed (mode 0600), reloads its directory file on
// SIGHUP, and shuts down cleanly on SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Identity } from '@skymesh/crypto';
import { descriptorFromJSON, descriptorToJSON, signDescriptor } from '@skymesh/protocol';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../src/node/testing.js';

const MAIN = join(import.meta.dirname, '../src/main.ts');

function run(env: Record<string, string>) {
  // node itself (not the tsx wrapper), so signals reach the node's process.
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@skymesh/source', MAIN], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

describe('main.ts', () => {
  it('a bad value stops the node with exit code 2, naming the field', async () => {
    const p = run({ SKYMESH_HOPS: '12', SKYMESH_DATA_DIR: await mkdtemp(join(tmpdir(), 'sm-')) });
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain('hops (from SKYMESH_HOPS)');
  });

  it('runs a node, reloads its directory on SIGHUP and stops cleanly on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sm-'));
    const out = join(dir, 'descriptor.json');
    const dirFile = join(dir, 'directory.json');
    await writeFile(dirFile, '[]');
    const p = run({
      SKYMESH_DATA_DIR: join(dir, 'data'),
      SKYMESH_DESCRIPTOR_OUT: out,
      SKYMESH_DIRECTORY_FILE: dirFile,
      SKYMESH_LOG_LEVEL: 'info',
    });
    try {
      await waitFor(() => p.stderr().includes('node running'), 'the node to start', 3000);
      const desc = descriptorFromJSON(JSON.parse(await readFile(out, 'utf8')));
      expect(desc.endpoints[0]!.transport).toBe('ws');
      expect((await stat(join(dir, 'data', 'identity.key'))).mode & 0o777).toBe(0o600);
      const other = signDescriptor(
        {
          roles: { relay: true, exit: false },
          endpoints: [{ transport: 'ws', host: '127.0.0.1', port: 9 }],
          pricePerMiB: 0n,
        },
        Identity.generate(),
      );
      await writeFile(dirFile, JSON.stringify([descriptorToJSON(other)]));
      p.child.kill('SIGHUP');
      await waitFor(() => p.stderr().includes('directory reloaded'), 'the reload', 2000);
      expect(p.stderr()).toContain('"added":1');
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      expect(p.stderr()).toContain('node closed');
    } finally {
      p.child.kill('SIGKILL');
    }
  });
});
