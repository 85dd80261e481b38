/**
 * The demo seeds file is created, never taken over: a path holding some
 * other file, or a running stack's seeds, is refused with
 * STACK_ACCOUNTS_FILE_EXISTS and left as it was; a seeds file left by a
 * stack whose process is gone is replaced; on close a stack removes the
 * file only if it is still the one it created. Gateways on OS-chosen
 * loopback ports, no demo accounts (no funding), so it stays quick.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStackGateway } from '../src/gateway.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-stack-seeds-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'started',
    (e: unknown) => (e as { code?: string }).code ?? String(e),
  );

const start = (accountsFile: string) =>
  startStackGateway({ port: 0, demoAccounts: 0, accountsFile });

describe('the demo seeds file', () => {
  it('refuses a path holding some other file and leaves it alone', async () => {
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'my notes\n');
    expect(await codeOf(start(file))).toBe('STACK_ACCOUNTS_FILE_EXISTS');
    expect(await readFile(file, 'utf8')).toBe('my notes\n');
  });

  it("a second stack on the same path is refused; the first's file stays until it stops", async () => {
    const file = join(dir, 'shared', 'accounts.json');
    const first = await start(file);
    try {
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const written = await readFile(file, 'utf8');
      expect(JSON.parse(written)).toMatchObject({ gatewayKey: first.publicKey, accounts: [] });
      expect(await codeOf(start(file))).toBe('STACK_ACCOUNTS_FILE_EXISTS');
      expect(await readFile(file, 'utf8')).toBe(written);
    } finally {
      await first.close();
    }
    expect(existsSync(file)).toBe(false);
  });

  it('a stack stopping leaves a file that replaced its own', async () => {
    const file = join(dir, 'replaced.json');
    const gw = await start(file);
    await rm(file);
    await writeFile(file, 'someone else\n');
    await gw.close();
    expect(await readFile(file, 'utf8')).toBe('someone else\n');
  });

  it('replaces a seeds file left by a stack whose process is gone', async () => {
    const file = join(dir, 'left.json');
    const first = await start(file);
    const leftover = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await first.close();
    // The same file as written by a stack that died (its pid exited).
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    await writeFile(file, JSON.stringify({ ...leftover, pid: dead }), { mode: 0o600 });
    const second = await start(file);
    try {
      expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({
        pid: process.pid,
        gatewayKey: second.publicKey,
      });
    } finally {
      await second.close();
    }
    expect(existsSync(file)).toBe(false);
  });
});
