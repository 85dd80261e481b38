// The WebSocket API writes the answers that finish in the same turn (a
// batch's receipts resolve together) to the connection in one go, instead of
// one socket write per answer, and leaves the connection uncorked after.
import type { Socket } from 'node:net';
import { ed25519PublicKey } from '@skymesh/crypto';
import {
  type Call,
  callToJson,
  generateAccount,
  signCall,
  ZERO_HASH,
} from '@skymesh/protocol/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Gateway } from '../src/gateway.js';
import { listeningGateway } from './_harness.js';

describe('WebSocket answers', () => {
  let gw: Gateway;
  let url: string;
  let close: () => Promise<void>;
  /** Socket writes the server made on each accepted connection (write and writev calls). */
  const writes: number[] = [];

  beforeAll(async () => {
    const g = await listeningGateway();
    ({ gw, close } = g);
    url = `${g.address.replace('http', 'ws')}/v1/ws`;
    gw.app.websocketServer.on('connection', (_ws, req) => {
      const s = req.socket as Socket & {
        _write: (...a: unknown[]) => void;
        _writev: (...a: unknown[]) => void;
      };
      const n = writes.push(0) - 1;
      for (const m of ['_write', '_writev'] as const) {
        const orig = s[m].bind(s);
        s[m] = (...a: unknown[]) => {
          writes[n]!++;
          orig(...a);
        };
      }
    });
  });
  afterAll(() => close?.());

  it('a burst of calls is answered in a few writes, and the socket still answers after', async () => {
    const ws = new WebSocket(url);
    await new Promise((r) => ws.once('open', r));
    const N = 40;
    const answers = new Map<number, Record<string, unknown>>();
    const all = new Promise<void>((resolve) => {
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as Record<string, unknown>;
        answers.set(m.id as number, m);
        if (answers.size === N + 1) resolve();
      });
    });
    const frames = Array.from({ length: N }, (_, i) => {
      const { id: account, seed } = generateAccount();
      const publicKey = ed25519PublicKey(seed);
      const opening: Call = {
        type: 'create_account',
        account,
        sequence: 0n,
        previous: ZERO_HASH,
        publicKey,
      };
      const call = signCall(seed, gw.ledger.gatewayKey, opening);
      return JSON.stringify({ id: i, call: callToJson(call) });
    });
    // All frames in one TCP write, so they reach the gateway together.
    const raw = (ws as unknown as { _socket: Socket })._socket;
    raw.cork();
    for (const f of frames) ws.send(f);
    raw.uncork();
    const before = writes.at(-1)!;
    // Once the burst is answered, a lone request still gets its answer (not left corked).
    const burst = new Promise<void>((resolve) => {
      const check = () => (answers.size === N ? resolve() : setTimeout(check, 5));
      check();
    });
    await burst;
    const burstWrites = writes.at(-1)! - before;
    ws.send(JSON.stringify({ id: N, log: 'checkpoint' }));
    await all;
    for (let i = 0; i < N; i++) {
      expect((answers.get(i)!.receipt as { status: number }).status).toBe(0);
    }
    expect(answers.get(N)!.size).toMatch(/^[0-9]+$/);
    // One write per answer would be N; the ledger answers the burst in a few batches.
    expect(burstWrites).toBeGreaterThan(0);
    expect(burstWrites).toBeLessThanOrEqual(N / 4);
    ws.close();
  });
});
