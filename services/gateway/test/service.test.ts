// Service plumbing: config validation (a bad value names the variable, the
// process exits 2), the WebSocket API on 127.0.0.1, message size limits, and
// that no client address reaches the logs.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ed25519PublicKey } from '@skymesh/crypto';
import {
  callToJson,
  GatewayClient,
  generateAccount,
  signCall,
  type WebSocketLike,
  wsTransport,
  ZERO_HASH,
} from '@skymesh/protocol/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../src/config.js';
import type { Gateway } from '../src/gateway.js';
import { codeOf, fund, listeningGateway } from './_harness.js';

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
  let url: string;
  let logged: string[];
  let close: () => Promise<void>;

  beforeAll(async () => {
    const g = await listeningGateway();
    ({ gw, logged, close } = g);
    url = `${g.address.replace('http', 'ws')}/v1/ws`;
  });
  afterAll(() => close?.());

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

  it('the client library over wsTransport: calls, errors, proofs, one socket', async () => {
    let opened = 0;
    class Counting extends WebSocket {
      constructor(u: string) {
        super(u);
        opened++;
      }
    }
    const transport = wsTransport({ url, WebSocket: Counting as never });
    const gatewayKey = gw.ledger.gatewayKey;
    const alice = new GatewayClient({ gatewayKey, transport, account: generateAccount() });
    const bob = new GatewayClient({ gatewayKey, transport, account: generateAccount() });
    await Promise.all([alice.createAccount(), bob.createAccount()]);
    await fund(gw, alice, 3_000_000n);
    await alice.transfer(bob.account, 1_000_000n);
    expect(await alice.fetchBalance()).toBe(2_000_000n);
    expect(await codeOf(alice.transfer(bob.account, 9_000_000n))).toBe('GW_INSUFFICIENT_FUNDS');
    expect(await codeOf(alice.transfer(123n, 1n))).toBe('GW_BAD_FIELD');
    const history = await alice.history(0n, 10);
    expect(history.map((l) => l.call.type)).toEqual([
      'create_account',
      'deposit_address',
      'transfer',
      'balance',
    ]);
    // Checkpoint, consistency and inclusion proofs over the same socket.
    await gw.ledger.checkpoint();
    await alice.audit();
    await bob.fetchBalance();
    await gw.ledger.checkpoint();
    const cp = await bob.audit();
    expect(Number(cp.size)).toBe(gw.ledger.logSize);
    expect(opened).toBe(1);
    transport.close();
  });

  it('a socket lost before the answer: the call is re-sent on a new socket and applied once', async () => {
    const sockets: WebSocket[] = [];
    let dropNext = false;
    const transport = wsTransport({
      connect: () => {
        const ws = new WebSocket(url);
        sockets.push(ws);
        // Passes the call on, then drops the connection before the answer can arrive.
        const send = ws.send.bind(ws);
        return Object.assign(ws, {
          send: (data: string) => {
            send(data);
            if (dropNext) {
              dropNext = false;
              ws.terminate();
            }
          },
        }) as unknown as WebSocketLike;
      },
    });
    const gatewayKey = gw.ledger.gatewayKey;
    const a = new GatewayClient({ gatewayKey, transport, account: generateAccount() });
    const b = new GatewayClient({ gatewayKey, transport, account: generateAccount() });
    await a.createAccount();
    await b.createAccount();
    await fund(gw, a, 2_000_000n);
    dropNext = true;
    expect(await codeOf(a.transfer(b.account, 500_000n))).toBe('GW_UNAVAILABLE');
    // The next call first re-sends the pending transfer (same bytes), on a new socket.
    expect(await a.fetchBalance()).toBe(1_500_000n);
    expect(await b.fetchBalance()).toBe(500_000n);
    expect(sockets.length).toBe(2);
    expect(a.nextSequence).toBe(4n);
    transport.close();
  });

  it('a gateway that cannot be reached is GW_UNAVAILABLE', async () => {
    const transport = wsTransport({ url: 'ws://127.0.0.1:1/v1/ws', WebSocket: WebSocket as never });
    expect(await codeOf(transport.checkpoint())).toBe('GW_UNAVAILABLE');
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
