// Concurrency on real PostgreSQL: 1,000 concurrent transfers onto a few hot
// accounts end with exact balances and conservation; withdrawals racing for
// the same funds get only what the balance allows.
import {
  callToJson,
  type GatewayClient,
  type GatewayError,
  receiptHash,
  signCall,
} from '@skymesh/protocol/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/gateway.js';
import { conservation } from '../src/postings.js';
import { codeOf, freshDatabase, injectTransport, openAccount, testGateway } from './_harness.js';

const COIN = 1_000_000n;
let gw: Gateway;
let drop: () => Promise<void>;

beforeAll(async () => {
  const d = await freshDatabase();
  drop = d.drop;
  gw = await testGateway({ DATABASE_URL: d.url, BATCH_MAX: '256' });
});
afterAll(async () => {
  await gw?.stop();
  await drop?.();
});

/** Opens `n` accounts and funds each with `amount` in one chain block and one scan. */
async function funded(n: number, amount: bigint): Promise<GatewayClient[]> {
  const clients = await Promise.all(Array.from({ length: n }, () => openAccount(gw)));
  for (const c of clients) gw.devChain!.faucet(await c.depositAddress(), amount);
  gw.devChain!.mine();
  await gw.scanDeposits();
  return clients;
}

const seedOf = (c: GatewayClient) => (c as unknown as { seed: Uint8Array }).seed;

describe('concurrency', () => {
  it('1,000 concurrent transfers onto 4 hot accounts: exact balances, conservation', async () => {
    const senders = await funded(50, 10n * COIN);
    const hot = await funded(4, 1n * COIN);
    const expected = new Map<bigint, bigint>();
    for (const c of [...senders, ...hot])
      expected.set(c.account, hot.includes(c) ? COIN : 10n * COIN);
    // 50 senders × 19 transfers to the hot accounts + 4 hot accounts × 12.5 among themselves ≈ 1,000.
    const plan = (from: GatewayClient, i: number, pool: GatewayClient[]) => {
      const to = pool[(i + Number(from.account % 7n)) % pool.length]!;
      return to === from ? pool[(pool.indexOf(to) + 1) % pool.length]! : to;
    };
    const jobs: Promise<void>[] = [];
    let done = 0;
    for (const s of senders) {
      jobs.push(
        (async () => {
          for (let i = 0; i < 19; i++) {
            const to = plan(s, i, hot);
            const amount = BigInt(1000 + i);
            await s.transfer(to.account, amount);
            expected.set(s.account, expected.get(s.account)! - amount);
            expected.set(to.account, expected.get(to.account)! + amount);
            done++;
          }
        })(),
      );
    }
    for (const h of hot) {
      jobs.push(
        (async () => {
          for (let i = 0; i < 13; i++) {
            const to = plan(h, i, hot);
            await h.transfer(to.account, 7n);
            expected.set(h.account, expected.get(h.account)! - 7n);
            expected.set(to.account, expected.get(to.account)! + 7n);
            done++;
          }
        })(),
      );
    }
    await Promise.all(jobs);
    expect(done).toBe(50 * 19 + 4 * 13);
    for (const c of [...senders, ...hot]) {
      expect(await c.fetchBalance(), c.account.toString()).toBe(expected.get(c.account));
    }
    const cons = await conservation(gw.database.db);
    expect(cons.ok).toBe(true);
    expect(cons.userBalances).toBe(54n * 10n * COIN - 4n * 9n * COIN);
    // group commit really batched: fewer transactions than calls
    expect(gw.ledger.stats.batches).toBeLessThan(gw.ledger.stats.applied);
  });

  it('100 withdrawals signed on the same sequence: exactly one applies', async () => {
    const [a] = await funded(1, 50n * COIN);
    const dest = await gw.devChain!.newDepositAddress();
    const t = injectTransport(gw.app);
    const previous = a!.links.at(-1)!.receipt;
    const prevHash = receiptHash(previous);
    const calls = Array.from({ length: 100 }, (_, i) =>
      signCall(seedOf(a!), gw.ledger.gatewayKey, {
        type: 'withdraw',
        account: a!.account,
        sequence: a!.nextSequence,
        previous: prevHash,
        amount: BigInt(i + 1) * COIN,
        address: dest,
      }),
    );
    const results = await Promise.allSettled(calls.map((c) => t.call(callToJson(c))));
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected')
        expect((r.reason as GatewayError).code).toBe('GW_SEQUENCE_REUSED');
    }
    const cons = await conservation(gw.database.db);
    expect(cons.ok).toBe(true);
  });

  it('20 accounts × 5 concurrent-across-accounts withdrawals of 1 coin with 3 coins each: 60 apply', async () => {
    const accts = await funded(20, 3n * COIN + 500n);
    const before = await conservation(gw.database.db);
    const dest = await gw.devChain!.newDepositAddress();
    const outcomes = await Promise.all(
      accts.map(async (c) => {
        const codes: (string | undefined)[] = [];
        for (let i = 0; i < 5; i++) codes.push(await codeOf(c.withdraw(COIN, dest)));
        return codes;
      }),
    );
    for (const codes of outcomes) {
      expect(codes).toEqual([
        undefined,
        undefined,
        undefined,
        'GW_INSUFFICIENT_FUNDS',
        'GW_INSUFFICIENT_FUNDS',
      ]);
    }
    for (const c of accts) expect(await c.fetchBalance()).toBe(500n);
    const after = await conservation(gw.database.db);
    expect(after.ok).toBe(true);
    expect(after.pendingWithdrawals - before.pendingWithdrawals).toBe(60n * COIN);
  });

  it('the same call sent 20 times at once: one transfer, 20 identical receipts', async () => {
    const [a, b] = await funded(2, COIN);
    const t = injectTransport(gw.app);
    const call = callToJson(
      signCall(seedOf(a!), gw.ledger.gatewayKey, {
        type: 'transfer',
        account: a!.account,
        sequence: a!.nextSequence,
        previous: receiptHash(a!.links.at(-1)!.receipt),
        to: b!.account,
        amount: 1234n,
      }),
    );
    const answers = await Promise.all(Array.from({ length: 20 }, () => t.call(call)));
    for (const r of answers) expect(r.receipt).toEqual(answers[0]!.receipt);
    expect(await b!.fetchBalance()).toBe(COIN + 1234n);
    expect((await conservation(gw.database.db)).ok).toBe(true);
  });
});
