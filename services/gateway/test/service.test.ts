// Service plumbing: config validation (a bad value names the variable, the
// process exits 2), the WebSocket API on 127.0.0.1, message size limits, and
// that no client address reaches the logs.
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ed25519PublicKey, randomBytes, toHex } from '@skymesh/crypto';
import { callToJson, generateAccount, signCall, ZERO_HASH } from '@skymesh/protocol/gateway';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../src/config.js';
import { type Gateway, startGateway } from '../src/gateway.js';
import { freshDatabase } from './_harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function configError(env: Record<string, string>): string[] | undefined {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.variables;
    throw e;
  }
  return undefined;
}

describe('config', () => {
  it('names the bad variable', () => {
    expect(configError({})).toBeUndefined();
    expect(configError({ PORT: 'eighty' })).toEqual(['PORT']);
    expect(configError({ PORT: '70000' })).toEqual(['PORT']);
    expect(configError({ DATABASE_URL: 'mysql://x' })).toEqual(['DATABASE_URL']);
    expect(configError({ GATEWAY_KEY: 'abc' })).toEqual(['GATEWAY_KEY']);
    expect(configError({ NODE_ENV: 'production' })).toEqual(['GATEWAY_KEY']);
    expect(configError({ CHAIN: 'skycoin' })).toEqual(['SKYCOIN_WALLET_ID']);
    expect(configError({ CHAIN: 'bitcoin' })).toEqual(['CHAIN']);
    expect(configError({ BATCH_MAX: '0' })).toEqual(['BATCH_MAX']);
    expect(loadConfig({ PORT: '' }).PORT).toBe(8402); // empty means unset
  });

  it('the process stops with exit code 2 naming the variable', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@skymesh/source', 'src/main.ts'],
      {
        cwd: root,
        env: { PATH: process.env.PATH, PORT: 'eighty' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(out).toContain('PORT');
  });
});

describe('WebSocket API and logs', () => {
  let gw: Gateway;
  let drop: () => Promise<void>;
  let url: string;
  const logged: string[] = [];

  beforeAll(async () => {
    const d = await freshDatabase();
    drop = d.drop;
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logged.push(String(chunk));
        cb();
      },
    });
    gw = await startGateway(
      loadConfig({
        DATABASE_URL: d.url,
        GATEWAY_KEY: toHex(randomBytes(32)),
        DEVCHAIN_BLOCK_MS: '0',
      }),
      { logger: pino({ level: 'trace' }, sink), jobs: false },
    );
    const address = await gw.app.listen({ host: '127.0.0.1', port: 0 });
    url = `${address.replace('http', 'ws')}/v1/ws`;
  });
  afterAll(async () => {
    await gw?.stop();
    await drop?.();
  });

  const exchange = (ws: WebSocket, msg: string | Buffer) =>
    new Promise<Record<string, unknown>>((resolve) => {
      ws.once('message', (d) => resolve(JSON.parse(String(d))));
      ws.send(msg);
    });

  it('carries calls and answers errors with codes', async () => {
    const ws = new WebSocket(url);
    await new Promise((r) => ws.once('open', r));
    const { id, seed } = generateAccount();
    const call = signCall(seed, gw.ledger.gatewayKey, {
      type: 'create_account',
      account: id,
      sequence: 0n,
      previous: ZERO_HASH,
      publicKey: ed25519PublicKey(seed),
    });
    const ok = await exchange(ws, JSON.stringify({ id: 1, call: callToJson(call) }));
    expect(ok.id).toBe(1);
    expect((ok.receipt as { sequence: string }).sequence).toBe('0');
    const again = await exchange(ws, JSON.stringify({ id: 2, call: callToJson(call) }));
    expect(again.receipt).toEqual(ok.receipt);
    expect(((await exchange(ws, 'not json')).error as { code: string }).code).toBe('GW_MALFORMED');
    expect(((await exchange(ws, JSON.stringify({ id: 3 }))).error as { code: string }).code).toBe(
      'GW_MALFORMED',
    );
    expect(((await exchange(ws, Buffer.from([1, 2, 3]))).error as { code: string }).code).toBe(
      'GW_MALFORMED',
    );
    // Over the 16 KiB message limit the socket is closed (1009 message too big).
    const closed = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    ws.send('x'.repeat(20_000));
    expect(await closed).toBe(1009);
  });

  it('never logs a client address', async () => {
    const res = await fetch(url.replace('ws', 'http').replace('/v1/ws', '/v1/call'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"broken":',
    });
    expect(res.status).toBe(400);
    await fetch(url.replace('ws', 'http').replace('/v1/ws', '/nowhere'));
    expect(logged.join('\n')).not.toMatch(/127\.0\.0\.1|remoteAddress|remotePort/);
  });
});
