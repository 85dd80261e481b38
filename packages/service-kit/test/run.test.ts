/**
 * runService: exit 2 naming the variable on bad config, exit 1 when start
 * fails, one listening line, stop called once however many signals come.
 * In process with a fake host, and once as a real child process.
 */
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  EXIT_BAD_CONFIG,
  envInt,
  envLevel,
  listeningPrefix,
  loadEnvConfig,
  runService,
  type ServiceHandle,
  type ServiceHost,
} from '../src/index.js';

const schema = z.object({ PORT: envInt(0, 65535, 1), LOG_LEVEL: envLevel });
const loadConfig = (env: Record<string, string | undefined>) => loadEnvConfig(schema, env);

/** A host that records exits, output lines, log lines and signal listeners. */
function fakeHost(env: Record<string, string> = {}) {
  const exits: number[] = [];
  const out: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const listeners = new Map<string, (() => void)[]>();
  const host: ServiceHost = {
    env,
    stdout: { write: (s: string) => out.push(s) },
    on(signal, fn) {
      listeners.set(signal, [...(listeners.get(signal) ?? []), fn]);
    },
    exit: (code) => {
      exits.push(code);
    },
    logDestination: new Writable({
      write(chunk, _enc, cb) {
        logs.push(JSON.parse(String(chunk)));
        cb();
      },
    }),
  };
  const signal = (name: string) => {
    for (const fn of listeners.get(name) ?? []) fn();
  };
  return { host, exits, out, logs, signal, listeners };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('runService', () => {
  it('exits 2 and logs the bad variables when the config is bad', async () => {
    const h = fakeHost({ PORT: 'eighty' });
    let started = false;
    await runService(
      {
        name: 'demo',
        loadConfig,
        async start() {
          started = true;
          return { address: 'x', stop: async () => {} };
        },
      },
      h.host,
    );
    expect(h.exits).toEqual([EXIT_BAD_CONFIG]);
    expect(started).toBe(false);
    await settle();
    expect(h.logs.some((l) => JSON.stringify(l.variables) === '["PORT"]')).toBe(true);
    expect(h.out).toEqual([]);
  });

  it('exits 1 when loading throws something else or start fails', async () => {
    const a = fakeHost();
    await runService(
      {
        name: 'demo',
        loadConfig: () => {
          throw new Error('disk on fire');
        },
        start: async () => ({ address: 'x', stop: async () => {} }),
      },
      a.host,
    );
    expect(a.exits).toEqual([1]);
    const b = fakeHost();
    await runService(
      {
        name: 'demo',
        loadConfig,
        start: async () => {
          throw new Error('port taken');
        },
      },
      b.host,
    );
    expect(b.exits).toEqual([1]);
    expect(b.out).toEqual([]);
  });

  it('prints one listening line, logs at LOG_LEVEL and stops once', async () => {
    const h = fakeHost({ PORT: '7', LOG_LEVEL: 'warn' });
    let stops = 0;
    let release!: () => void;
    const handle: ServiceHandle = {
      address: 'http://127.0.0.1:7',
      announce: ['key1'],
      details: { db: 'memory' },
      stop: () => {
        stops++;
        return new Promise<void>((r) => {
          release = r;
        });
      },
    };
    await runService(
      {
        name: 'route-server',
        loadConfig,
        async start(config, logger) {
          expect(config.PORT).toBe(7);
          expect(logger.level).toBe('warn');
          return handle;
        },
      },
      h.host,
    );
    expect(h.out).toEqual(['ROUTE_SERVER_LISTENING http://127.0.0.1:7 key1\n']);
    expect([...h.listeners.keys()].sort()).toEqual(['SIGINT', 'SIGTERM']);
    h.signal('SIGTERM');
    h.signal('SIGINT');
    h.signal('SIGTERM');
    expect(stops).toBe(1);
    expect(h.exits).toEqual([]); // not before stop finishes
    release();
    await settle();
    expect(h.exits).toEqual([0]);
    await settle();
    expect(h.logs.every((l) => (l.level as number) >= 40)).toBe(true); // info lines filtered
  });

  it('exits 1 when stop fails', async () => {
    const h = fakeHost();
    await runService(
      {
        name: 'demo',
        loadConfig,
        start: async () => ({
          address: 'x',
          stop: async () => {
            throw new Error('stuck');
          },
        }),
      },
      h.host,
    );
    h.signal('SIGINT');
    await settle();
    expect(h.exits).toEqual([1]);
  });

  it('derives the listening prefix from the name', () => {
    expect(listeningPrefix('gateway')).toBe('GATEWAY_LISTENING');
    expect(listeningPrefix('route-server')).toBe('ROUTE_SERVER_LISTENING');
  });
});

describe('runService in a real process', () => {
  const fixture = fileURLToPath(new URL('./fixtures/service.ts', import.meta.url));
  const run = (env: Record<string, string>, onLine?: (line: string, kill: () => void) => void) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@skymesh/source', fixture],
      {
        env: { PATH: process.env.PATH, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      for (const line of String(d).split('\n')) onLine?.(line, () => child.kill('SIGTERM'));
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    return new Promise<{ code: number | null; out: string }>((resolve) =>
      child.once('exit', (code) => resolve({ code, out })),
    );
  };

  it('exits 2 naming the variable', async () => {
    const r = await run({ PORT: 'eighty' });
    expect(r.code).toBe(2);
    expect(r.out).toContain('PORT');
  });

  it('announces itself and stops cleanly on SIGTERM', async () => {
    const r = await run({ PORT: '9' }, (line, kill) => {
      if (line.startsWith('DEMO_SERVICE_LISTENING')) kill();
    });
    expect(r.code).toBe(0);
    expect(r.out).toContain('DEMO_SERVICE_LISTENING http://127.0.0.1:9 extra\n');
    expect(r.out).toContain('STOPPED\n');
  });
});
