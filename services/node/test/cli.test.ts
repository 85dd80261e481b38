/**
 * The `skymesh` CLI: --help for every command, keygen --json, node + status
 * in process (real node, OS-chosen loopback ports), and the real bin running
 * `mesh --json` as a child process that Ctrl-C (SIGINT) stops cleanly with
 * its ports freed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeAppsSchemaWithEnv } from '../src/apps/config.js';
import { portRefuses, runCurl } from '../src/apps/testing.js';
import { type CliIo, runCli } from '../src/cli/main.js';
import { loadConfig } from '../src/config.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'skymesh-cli-'));
  dirs.push(d);
  return d;
}

/** An io that records output; stop() ends a long-running command. */
function testIo(env: Record<string, string | undefined> = {}) {
  let out = '';
  let err = '';
  let stop!: (s: string) => void;
  const stopped = new Promise<string>((r) => {
    stop = r;
  });
  const io: CliIo = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env,
    stopSignal: () => stopped,
  };
  return { io, out: () => out, err: () => err, stop: () => stop('SIGINT') };
}

describe('skymesh CLI', () => {
  it('--help works for the command and every subcommand', async () => {
    for (const args of [
      ['--help'],
      ['keygen', '--help'],
      ['node', '--help'],
      ['status', '--help'],
      ['mesh', '-h'],
      ['plan', '--help'],
      ['demo-http', '--help'],
    ]) {
      const t = testIo();
      expect(await runCli(args, t.io)).toBe(0);
      expect(t.out()).toMatch(/Usage: skymesh/);
    }
  });

  it('bad usage exits 2', async () => {
    const t = testIo();
    expect(await runCli(['frobnicate'], t.io)).toBe(2);
    expect(await runCli(['keygen', '--bogus'], t.io)).toBe(2);
    expect(await runCli(['mesh', '--nodes', 'many'], t.io)).toBe(2);
    expect(await runCli([], t.io)).toBe(2);
  });

  it('keygen --json writes a 0600 key and refuses to overwrite it', async () => {
    const dir = await tempDir();
    const t = testIo();
    expect(await runCli(['keygen', '--data-dir', dir, '--json'], t.io)).toBe(0);
    const info = JSON.parse(t.out()) as { address: string; publicKey: string; path: string };
    expect(info.address).toMatch(/^[a-z2-7]{58}$/);
    expect((await readFile(info.path, 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(info.path)).mode & 0o777).toBe(0o600);
    const again = testIo();
    expect(await runCli(['keygen', '--data-dir', dir], again.io)).toBe(1);
    expect(await runCli(['keygen', '--data-dir', dir, '--force'], again.io)).toBe(0);
  });

  it('node runs from a config file and status reads its API (--json and text)', async () => {
    const dir = await tempDir();
    const config = join(dir, 'node.json');
    await writeFile(
      config,
      JSON.stringify({
        dataDir: join(dir, 'data'),
        logLevel: 'silent',
        publish: { 80: '127.0.0.1:9' },
        socks: { port: 0 },
        api: { port: 0 },
      }),
    );
    const t = testIo();
    const done = runCli(['node', '--config', config], t.io);
    for (let i = 0; i < 200 && !t.out().includes('api '); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const api = /api\s+(http:\/\/\S+)/.exec(t.out())?.[1];
    expect(api).toBeDefined();
    expect(t.out()).toMatch(/publish \w+\.mesh:80 -> 127\.0\.0\.1:9/);
    const s = testIo();
    expect(await runCli(['status', '--api', api!, '--json'], s.io)).toBe(0);
    const answers = JSON.parse(s.out()) as { status: { address: string } };
    expect(t.out()).toContain(answers.status.address);
    const text = testIo();
    expect(await runCli(['status', '--api', api!], text.io)).toBe(0);
    expect(text.out()).toMatch(/^address\s+\w{58}/);
    t.stop();
    expect(await done).toBe(0);
    const down = testIo();
    expect(await runCli(['status', '--api', api!], down.io)).toBe(1);
  });

  it('plan writes node configs that validate and name the whole topology', async () => {
    const dir = await tempDir();
    const t = testIo();
    expect(await runCli(['plan', '--out', dir, '--json'], t.io)).toBe(0);
    const plan = JSON.parse(t.out()) as { addresses: string[]; socksPassword: string };
    expect(plan.addresses).toHaveLength(6);
    for (let i = 0; i < 6; i++) {
      const config = await loadConfig({
        argv: ['--config', join(dir, `node${i}.json`)],
        env: {},
        schema: nodeAppsSchemaWithEnv({}),
      });
      expect(config.topology?.nodes).toEqual(plan.addresses);
      expect(config.directory).toHaveLength(5);
      expect(config.roles.exit).toBe(i === 4);
      expect(config.socks.enabled).toBe(i === 0);
    }
    const node0 = await loadConfig({
      argv: ['--config', join(dir, 'node0.json')],
      env: {},
      schema: nodeAppsSchemaWithEnv({}),
    });
    expect(node0.socks.users?.skymesh).toBe(plan.socksPassword);
    expect(await runCli(['plan'], testIo().io)).toBe(2);
  });

  it('mesh on a taken port exits 1 with a hint and leaves nothing running', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as AddressInfo).port;
    const t = testIo();
    const code = await runCli(['mesh', '--nodes', '2', '--socks-port', String(taken)], t.io);
    blocker.close();
    expect(code).toBe(1);
    expect(t.err()).toContain('--socks-port');
  });

  it('a bad config value exits 2 naming the field', async () => {
    const t = testIo({ SKYMESH_SOCKS_PORT: 'x' });
    expect(await runCli(['node'], t.io)).toBe(2);
    expect(t.err()).toContain('SKYMESH_SOCKS_PORT');
  });

  it('the bin runs `mesh --json`, serves curl, and stops on SIGINT with ports freed', async () => {
    const bin = fileURLToPath(new URL('../src/cli/skymesh', import.meta.url));
    const child = spawn(bin, ['mesh', '--json', '--socks-port', '0', '--api-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    for (let i = 0; i < 400 && !out.includes('\n'); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    try {
      const info = JSON.parse(out) as {
        socks: { host: string; port: number };
        api: string;
        commands: string[];
        serviceAddress: string;
      };
      const r = await runCurl([
        '--socks5-hostname',
        `${info.socks.host}:${info.socks.port}`,
        `http://${info.serviceAddress}.mesh/`,
      ]);
      expect(r.stdout.toString()).toContain('Hello from a Skymesh service');
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(await portRefuses(info.socks.port)).toBe(true);
      expect(await portRefuses(Number(new URL(info.api).port))).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
