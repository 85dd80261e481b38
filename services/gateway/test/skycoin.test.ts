// The Skycoin adapter against a local HTTP server on 127.0.0.1 that answers
// as the node's documented REST API does (CSRF tokens included), and the
// withdrawal processor's crash safety on top of it: a batch whose signed
// transaction is stored is re-sent byte for byte, never rebuilt.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, sha256, toHex } from '@skymesh/crypto';
import {
  GatewayClient,
  type GatewayTransport,
  generateAccount,
  parseCall,
  receiptToJson,
} from '@skymesh/protocol/gateway';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base58Decode, isSkycoinAddress, skycoinAddressFromHash } from '../src/chain/base58.js';
import { SkycoinChain } from '../src/chain/skycoin.js';
import { ChainError } from '../src/chain/types.js';
import { openDatabase, rows } from '../src/db/client.js';
import { creditDeposit } from '../src/deposits.js';
import { Ledger } from '../src/ledger.js';
import { conservation } from '../src/postings.js';
import { processWithdrawals } from '../src/withdrawals.js';

// A known-good address from the Skycoin docs (skycoin/skycoin src/api/README.md examples).
const DOC_ADDRESS = '2GgFvqoyk9RjwVzj8tqfcXVXB4orBwoc9qv';

/** A fake Skycoin node: the endpoints the adapter uses, with CSRF enforcement. */
function fakeNode() {
  let csrf = '';
  let seq = 100;
  const outputs: { hash: string; block_seq: number; address: string; coins: string }[] = [];
  const txs = new Map<
    string,
    { raw: string; injected: number; block: number | null; to: unknown }
  >();
  const log: string[] = [];
  let failInject: number | undefined;
  const body = (req: IncomingMessage) =>
    new Promise<string>((r) => {
      let s = '';
      req.on('data', (d) => {
        s += d;
      });
      req.on('end', () => r(s));
    });
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const send = (code: number, json: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(typeof json === 'string' ? json : JSON.stringify(json));
    };
    log.push(`${req.method} ${url.pathname}`);
    if (req.method === 'POST') {
      if (req.headers['x-csrf-token'] !== csrf || !csrf) {
        res.writeHead(403);
        res.end('403 Forbidden - invalid CSRF token');
        return;
      }
    }
    const text = req.method === 'POST' ? await body(req) : '';
    switch (url.pathname) {
      case '/api/v1/csrf':
        csrf = toHex(randomBytes(16));
        return send(200, { csrf_token: csrf });
      case '/api/v1/wallet/newAddress':
        expect(new URLSearchParams(text).get('id')).toBe('gw.wlt');
        return send(200, { addresses: [skycoinAddressFromHash(randomBytes(20))] });
      case '/api/v1/outputs': {
        const addrs = new Set((url.searchParams.get('addrs') ?? '').split(','));
        return send(200, {
          head: { seq, block_hash: 'x' },
          head_outputs: outputs.filter((o) => addrs.has(o.address)),
          outgoing_outputs: [],
          incoming_outputs: [],
        });
      }
      case '/api/v1/wallet/transaction': {
        const j = JSON.parse(text);
        const raw = toHex(sha256(randomBytes(32)));
        const txid = toHex(sha256(new TextEncoder().encode(raw)));
        txs.set(txid, { raw, injected: 0, block: null, to: j.to });
        return send(200, {
          data: {
            transaction: { txid, fee: '1', inputs: [], outputs: [] },
            encoded_transaction: raw,
          },
        });
      }
      case '/api/v1/injectTransaction': {
        const { rawtx } = JSON.parse(text);
        if (failInject !== undefined) return send(failInject, `${failInject} error`);
        const t = [...txs.entries()].find(([, v]) => v.raw === rawtx);
        if (!t) return send(400, '400 Bad Request - invalid transaction');
        t[1].injected++;
        return send(200, JSON.stringify(t[0]));
      }
      case '/api/v1/transaction': {
        const t = txs.get(url.searchParams.get('txid') ?? '');
        if (!t || t.injected === 0) return send(404, '404 Not Found');
        const confirmed = t.block !== null;
        return send(200, {
          status: {
            confirmed,
            unconfirmed: !confirmed,
            height: confirmed ? seq - t.block! + 1 : 0,
            block_seq: t.block ?? 0,
          },
          txn: { txid: url.searchParams.get('txid') },
        });
      }
      default:
        return send(404, '404 Not Found');
    }
  });
  return {
    server,
    outputs,
    txs,
    log,
    mine: () => {
      seq++;
      for (const t of txs.values()) if (t.injected && t.block === null) t.block = seq;
    },
    height: () => seq,
    setFailInject: (c: number | undefined) => {
      failInject = c;
    },
  };
}

let node: ReturnType<typeof fakeNode>;
let base: string;
beforeAll(async () => {
  node = fakeNode();
  await new Promise<void>((r) => node.server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(node.server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => node.server.close(() => r())));

describe('base58 addresses', () => {
  it('accepts a documented address and rejects a broken checksum', () => {
    expect(isSkycoinAddress(DOC_ADDRESS)).toBe(true);
    expect(base58Decode(DOC_ADDRESS)).toHaveLength(25);
    const broken = `${DOC_ADDRESS.slice(0, -1)}${DOC_ADDRESS.endsWith('v') ? 'w' : 'v'}`;
    expect(isSkycoinAddress(broken)).toBe(false);
    expect(isSkycoinAddress('0OIl')).toBe(false);
    expect(isSkycoinAddress(skycoinAddressFromHash(randomBytes(20)))).toBe(true);
  });
});

describe('SkycoinChain', () => {
  it('new addresses, deposits with confirmations, CSRF on every POST', async () => {
    const chain = new SkycoinChain({ nodeUrl: base, walletId: 'gw.wlt' });
    const addr = await chain.newDepositAddress();
    expect(chain.validateAddress(addr)).toBe(true);
    node.outputs.push({
      hash: 'out1',
      block_seq: node.height() - 2,
      address: addr,
      coins: '2.500000',
    });
    const deps = await chain.listDeposits([addr]);
    expect(deps).toEqual([{ id: 'out1', address: addr, amount: 2_500_000n, confirmations: 3 }]);
    expect(node.log).toContain('GET /api/v1/csrf');
  });

  it('build, inject, track; 400 is permanent, 503 is not', async () => {
    const chain = new SkycoinChain({ nodeUrl: base, walletId: 'gw.wlt' });
    const tx = await chain.buildTransaction([{ address: DOC_ADDRESS, amount: 1_500_000n }]);
    expect(node.txs.get(tx.txid)!.to).toEqual([{ address: DOC_ADDRESS, coins: '1.500000' }]);
    expect(await chain.transactionStatus(tx.txid)).toEqual({ state: 'unknown' });
    await chain.broadcast(tx);
    expect(await chain.transactionStatus(tx.txid)).toEqual({ state: 'pending' });
    node.mine();
    expect(await chain.transactionStatus(tx.txid)).toEqual({
      state: 'confirmed',
      confirmations: 1,
    });
    const bad = await chain.broadcast({ txid: 'x', raw: 'deadbeef' }).catch((e) => e);
    expect(bad).toBeInstanceOf(ChainError);
    expect((bad as ChainError).permanent).toBe(true);
    node.setFailInject(503);
    const busy = await chain.broadcast(tx).catch((e) => e);
    expect((busy as ChainError).permanent).toBe(false);
    node.setFailInject(undefined);
  });
});

describe('withdrawals over Skycoin on PGlite', () => {
  it('a crash after signing re-sends the stored bytes; coins go out once', async () => {
    const chain = new SkycoinChain({ nodeUrl: base, walletId: 'gw.wlt' });
    const database = await openDatabase({});
    const db = database.db;
    const ledger = await Ledger.open({
      database,
      gatewaySeed: randomBytes(32),
      chain,
      logger: pino({ level: 'error' }),
    });
    const transport: GatewayTransport = {
      call: async (c) => {
        const r = await ledger.submit(parseCall(c));
        return { receipt: receiptToJson(r.receipt) };
      },
      checkpoint: async () => {
        throw new Error('unused');
      },
      inclusionProof: async () => [],
      consistencyProof: async () => [],
    };
    const c = new GatewayClient({
      gatewayKey: ledger.gatewayKey,
      transport,
      account: generateAccount(),
    });
    await c.createAccount();
    const addr = await c.depositAddress();
    await creditDeposit(db, { id: 'dep-1', address: addr, amount: 5_000_000n, confirmations: 6 });
    expect(await c.fetchBalance()).toBe(5_000_000n);
    // Skycoin moves multiples of 1,000 droplets only
    expect(await c.withdraw(1_000_500n, DOC_ADDRESS).catch((e) => e.code)).toBe('GW_BAD_AMOUNT');
    await c.withdraw(2_000_000n, DOC_ADDRESS);

    // Crash simulation: the node refuses the broadcast (503), the batch stays "signed".
    node.setFailInject(503);
    await processWithdrawals({ db, chain, confirmations: 1 });
    const [b] = await rows<{ status: string; txid: string }>(
      db,
      sql`SELECT status, txid FROM withdrawal_batches`,
    );
    expect(b!.status).toBe('signed');
    const built = node.txs.size;
    // "Restart": the node is back; the same transaction is injected, none is built.
    node.setFailInject(undefined);
    await processWithdrawals({ db, chain, confirmations: 1 });
    await processWithdrawals({ db, chain, confirmations: 1 });
    expect(node.txs.size).toBe(built);
    expect(node.txs.get(b!.txid)!.injected).toBe(1);
    node.mine();
    await processWithdrawals({ db, chain, confirmations: 1 });
    const cons = await conservation(db);
    expect(cons.ok).toBe(true);
    expect(cons.withdrawn).toBe(2_000_000n);
    expect(cons.pendingWithdrawals).toBe(0n);

    // A permanent rejection refunds.
    await c.withdraw(1_000_000n, DOC_ADDRESS);
    node.setFailInject(400);
    await processWithdrawals({ db, chain, confirmations: 1 });
    node.setFailInject(undefined);
    expect(await c.fetchBalance()).toBe(3_000_000n);
    expect((await conservation(db)).ok).toBe(true);
    await ledger.close();
    await database.close();
  });
});
