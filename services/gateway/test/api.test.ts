// The gateway end to end through its HTTP API, on real PostgreSQL and on
// PGlite: accounts, deposits, transfers, withdrawals, history, the log,
// idempotency and bad input (each rejected with its code and no state change).
import { ed25519PublicKey, randomBytes, toHex } from '@skymesh/crypto';
import {
  callToJson,
  checkDispute,
  type GatewayClient,
  generateAccount,
  signCall,
  verifyAccountChain,
} from '@skymesh/protocol/gateway';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../src/db/client.js';
import { scanDeposits } from '../src/deposits.js';
import type { Gateway } from '../src/gateway.js';
import { conservation } from '../src/postings.js';
import {
  codeOf,
  freshDatabase,
  fund,
  injectTransport,
  openAccount,
  testGateway,
} from './_harness.js';

const COIN = 1_000_000n;

describe.each(['postgres', 'pglite'] as const)('gateway API on %s', (driver) => {
  let gw: Gateway;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (driver === 'postgres') {
      const d = await freshDatabase();
      drop = d.drop;
      gw = await testGateway({ DATABASE_URL: d.url });
    } else {
      gw = await testGateway();
    }
  });
  afterAll(async () => {
    await gw?.stop();
    await drop?.();
  });

  async function state() {
    const c = await conservation(gw.database.db);
    expect(c.ok).toBe(true);
    return { c, log: gw.ledger.logSize };
  }

  it('deposit, transfer, withdraw, complete; conservation holds at each step', async () => {
    const alice = await openAccount(gw);
    const bob = await openAccount(gw);
    await fund(gw, alice, 5n * COIN);
    expect(await alice.fetchBalance()).toBe(5n * COIN);
    await alice.transfer(bob.account, 1_250_000n);
    expect(alice.balance).toBe(3_750_000n);
    expect(await bob.fetchBalance()).toBe(1_250_000n);
    await state();

    const dest = await gw.devChain!.newDepositAddress();
    const { withdrawalId } = await alice.withdraw(2n * COIN, dest);
    expect(withdrawalId).toBeGreaterThan(0n);
    expect(alice.balance).toBe(1_750_000n);
    expect((await state()).c.pendingWithdrawals).toBe(2n * COIN);

    await gw.processWithdrawals(); // batch, build, broadcast
    gw.devChain!.mine();
    await gw.processWithdrawals(); // confirmed
    const after = (await state()).c;
    expect(after.pendingWithdrawals).toBe(0n);
    expect(after.withdrawn).toBe(2n * COIN);
    expect(gw.devChain!.received(dest)).toBe(2n * COIN);
    // more passes change nothing: the coins went out once
    await gw.processWithdrawals();
    expect(gw.devChain!.received(dest)).toBe(2n * COIN);

    // a rescan of the chain does not credit the deposit twice
    await gw.scanDeposits();
    expect(await alice.fetchBalance()).toBe(1_750_000n);

    const hist = await alice.history(0n, 100);
    expect(hist.map((l) => l.call.type)).toEqual([
      'create_account',
      'deposit_address',
      'balance',
      'transfer',
      'withdraw',
      'balance',
    ]);
    expect(verifyAccountChain(gw.ledger.gatewayKey, alice.links).balance).toBe(1_750_000n);

    await gw.ledger.checkpoint();
    const cp1 = await alice.audit();
    await bob.fetchBalance();
    await gw.ledger.checkpoint();
    const cp2 = await alice.audit();
    expect(cp2.size).toBe(cp1.size + 1n);
  });

  it('deposits are credited only with enough confirmations, and once', async () => {
    const a = await openAccount(gw);
    const address = await a.depositAddress();
    gw.devChain!.faucet(address, 3n * COIN);
    const scan = (minConfirmations: number) =>
      scanDeposits({ db: gw.database.db, chain: gw.chain, minConfirmations });
    expect(await scan(1)).toBe(0); // unconfirmed
    gw.devChain!.mine();
    expect(await scan(2)).toBe(0); // one confirmation, two wanted
    gw.devChain!.mine();
    expect(await scan(2)).toBe(1);
    expect(await scan(2)).toBe(0);
    expect(await a.fetchBalance()).toBe(3n * COIN);
    await state();
  });

  it('same call twice → same receipt; another call on a used sequence → GW_SEQUENCE_REUSED', async () => {
    const a = await openAccount(gw);
    const b = await openAccount(gw);
    await fund(gw, a, COIN);
    const t = injectTransport(gw.app);
    const call = signCall((a as unknown as { seed: Uint8Array }).seed, gw.ledger.gatewayKey, {
      type: 'transfer',
      account: a.account,
      sequence: a.nextSequence,
      previous: hashOf(a),
      to: b.account,
      amount: 10n,
    });
    const r1 = await t.call(callToJson(call));
    const r2 = await t.call(callToJson(call));
    expect(r2).toEqual(r1);
    const other = signCall((a as unknown as { seed: Uint8Array }).seed, gw.ledger.gatewayKey, {
      ...call,
      amount: 11n,
    } as typeof call);
    expect(await codeOf(t.call(callToJson(other)))).toBe('GW_SEQUENCE_REUSED');
    expect(await b.fetchBalance()).toBe(10n);
  });

  it('bad input is rejected with its code and changes nothing', async () => {
    const a = await openAccount(gw);
    const b = await openAccount(gw);
    await fund(gw, a, 3n * COIN);
    const before = await state();
    const seq = a.nextSequence;
    const t = injectTransport(gw.app);
    const seed = (a as unknown as { seed: Uint8Array }).seed;
    const base = { account: a.account, sequence: seq, previous: hashOf(a) };
    const sign = (c: object) =>
      callToJson(signCall(seed, gw.ledger.gatewayKey, { ...base, ...c } as never));
    const transfer = (amount: string) => ({
      ...sign({ type: 'transfer', to: b.account, amount: 1n }),
      body: { to: b.account.toString(), amount },
    });

    const otherSeed = randomBytes(32);
    const cases: [unknown, string][] = [
      // signature made for another amount
      [transfer('2'), 'GW_BAD_SIGNATURE'],
      [transfer('0'), 'GW_BAD_AMOUNT'],
      [transfer('-1'), 'GW_BAD_AMOUNT'],
      [transfer('1.5'), 'GW_BAD_AMOUNT'],
      [transfer('9223372036854775808'), 'GW_AMOUNT_TOO_LARGE'],
      [transfer('123456789012345678901234567890'), 'GW_AMOUNT_TOO_LARGE'],
      [sign({ type: 'transfer', to: b.account, amount: 10n * COIN }), 'GW_INSUFFICIENT_FUNDS'],
      [sign({ type: 'transfer', to: a.account, amount: 1n }), 'GW_SELF_TRANSFER'],
      [sign({ type: 'transfer', to: generateAccount().id, amount: 1n }), 'GW_UNKNOWN_RECIPIENT'],
      [
        sign({
          type: 'withdraw',
          amount: COIN - 1n,
          address: await gw.devChain!.newDepositAddress(),
        }),
        'GW_BELOW_MINIMUM',
      ],
      [sign({ type: 'withdraw', amount: COIN, address: 'not-an-address' }), 'GW_BAD_ADDRESS'],
      [sign({ type: 'balance', sequence: seq + 1n }), 'GW_BAD_SEQUENCE'],
      [sign({ type: 'balance', previous: new Uint8Array(32) }), 'GW_BAD_PREVIOUS'],
      [sign({ type: 'balance', sequence: seq - 1n }), 'GW_SEQUENCE_REUSED'],
      [
        { ...sign({ type: 'balance' }), account: generateAccount().id.toString() },
        'GW_UNKNOWN_ACCOUNT',
      ],
      // someone else's key claiming a's id
      [
        callToJson(
          signCall(otherSeed, gw.ledger.gatewayKey, {
            type: 'create_account',
            account: a.account,
            sequence: 0n,
            previous: new Uint8Array(32),
            publicKey: ed25519PublicKey(otherSeed),
          }),
        ),
        'GW_ACCOUNT_EXISTS',
      ],
      [{ type: 'balance' }, 'GW_BAD_FIELD'],
      [{ nonsense: true }, 'GW_BAD_FIELD'],
    ];
    for (const [body, code] of cases) {
      expect(await codeOf(t.call(body as never)), JSON.stringify(body)).toBe(code);
    }
    // malformed and oversized bodies
    const raw = async (payload: string, type = 'application/json') =>
      gw.app.inject({
        method: 'POST',
        url: '/v1/call',
        payload,
        headers: { 'content-type': type },
      });
    const bad = await raw('{"type":');
    expect(bad.json().error.code).toBe('GW_MALFORMED');
    const big = await raw(JSON.stringify({ type: 'balance', pad: 'x'.repeat(20_000) }));
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('GW_TOO_LARGE');
    expect((await raw('hello', 'text/plain')).json().error.code).toBe('GW_MALFORMED');

    const after = await state();
    expect(after.log).toBe(before.log);
    expect(after.c).toEqual(before.c);
    // and the account still works at the same sequence
    expect(a.nextSequence).toBe(seq);
    expect(await a.fetchBalance()).toBe(3n * COIN);
  });

  it('serves proofs, health and metrics', async () => {
    const health = await gw.app.inject({ method: 'GET', url: '/health' });
    expect(health.json().status).toBe('ok');
    const m = await gw.app.inject({ method: 'GET', url: '/metrics' });
    expect(m.body).toMatch(/^gateway_conservation_ok 1$/m);
    const inc = await gw.app.inject({ method: 'GET', url: '/v1/log/inclusion?index=x&size=1' });
    expect(inc.json().error.code).toBe('GW_BAD_FIELD');
    const far = await gw.app.inject({
      method: 'GET',
      url: `/v1/log/inclusion?index=0&size=${10 ** 9}`,
    });
    expect(far.json().error.code).toBe('GW_NOT_FOUND');
    const info = await gw.app.inject({ method: 'GET', url: '/v1/gateway' });
    expect(info.json().publicKey).toBe(toHex(gw.ledger.gatewayKey));
  });

  it('a client dispute against the gateway state is explained', async () => {
    const a = await openAccount(gw);
    await fund(gw, a, COIN);
    await a.fetchBalance();
    const claim = { balance: await a.fetchBalance(), nextSequence: a.nextSequence, links: [] };
    expect(checkDispute(gw.ledger.gatewayKey, a.links, claim).verdict).toBe('explained');
  });
  it('a batch whose transaction fails rolls back whole (rows written early included); its calls are retried one by one', async () => {
    const senders = await Promise.all(Array.from({ length: 12 }, () => openAccount(gw)));
    const poison = await openAccount(gw);
    const target = await openAccount(gw);
    for (const c of [...senders, poison]) gw.devChain!.faucet(await c.depositAddress(), COIN);
    gw.devChain!.mine();
    await gw.scanDeposits();
    // The receipts insert fails for the poison account's calls: in a batch, after
    // the journal entries were already sent (they go out while receipts are signed).
    await gw.database.db.execute(
      sql.raw(`CREATE FUNCTION fail_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'poisoned receipt'; END $$`),
    );
    await gw.database.db.execute(
      sql.raw(`CREATE TRIGGER poison BEFORE INSERT ON receipts FOR EACH ROW
        WHEN (NEW.account = ${BigInt.asIntN(64, poison.account)}) EXECUTE FUNCTION fail_poison()`),
    );
    const count = async (table: string) =>
      Number(
        (
          await rows<{ n: unknown }>(gw.database.db, sql.raw(`SELECT count(*) AS n FROM ${table}`))
        )[0]!.n,
      );
    const failures0 = gw.ledger.stats.batchFailures;
    const entries0 = await count('entries');
    // The writer takes the first call that arrives alone; the poisoned call comes last,
    // in the batch of the others.
    const results = await Promise.all([
      ...senders.map((s) => codeOf(s.transfer(target.account, 7_000n))),
      codeOf(poison.transfer(target.account, 5_000n)),
    ]);
    expect(results.pop()).toBe('GW_INTERNAL');
    expect(results).toEqual(senders.map(() => undefined));
    // Two failures: the shared batch, then the poisoned call retried alone (so it was not alone).
    expect(gw.ledger.stats.batchFailures - failures0).toBe(2);
    await gw.database.db.execute(sql.raw('DROP TRIGGER poison ON receipts'));
    // Exactly the 12 good transfers are in the journal; the poisoned one left nothing.
    expect((await count('entries')) - entries0).toBe(12);
    expect(await target.fetchBalance()).toBe(12n * 7_000n);
    // The poisoned call was not applied: re-sent now, it applies once.
    await poison.resume();
    expect(await poison.fetchBalance()).toBe(COIN - 5_000n);
    await state();
    expect(await count('receipts')).toBe(gw.ledger.logSize);
  });
});

function hashOf(c: GatewayClient): Uint8Array {
  return verifyAccountChain(c.gatewayKey, c.links).previous;
}
