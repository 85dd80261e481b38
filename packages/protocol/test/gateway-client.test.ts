// The client library against a tiny in-memory gateway written here from the
// spec, then the dispute check on honest, rolled-back and thieving claims.
import { ed25519PublicKey, equalBytes, randomBytes, toHex } from '@skymesh/crypto';
import {
  addressResult,
  type CallResponseJson,
  callDebit,
  callHash,
  callToJson,
  checkDispute,
  checkpointToJson,
  encodeReceipt,
  GatewayClient,
  GatewayError,
  type GatewayTransport,
  generateAccount,
  historyResult,
  importLog,
  leafHash,
  MerkleTree,
  parseCall,
  type Receipt,
  receiptHash,
  receiptToJson,
  type SignedCall,
  signCheckpoint,
  signReceipt,
  verifyAccountChain,
  verifyCallSignature,
  withdrawalResult,
} from '@skymesh/protocol/gateway';
import { describe, expect, it } from 'vitest';

/** A minimal honest gateway (no persistence) used to drive the client. */
function fakeGateway() {
  const seed = randomBytes(32);
  const key = ed25519PublicKey(seed);
  const tree = new MerkleTree();
  const accounts = new Map<
    bigint,
    {
      pub: Uint8Array;
      next: bigint;
      prev: Uint8Array;
      balance: bigint;
      links: { call: SignedCall; receipt: Receipt }[];
    }
  >();
  let dropNext = false;
  const fail = (code: GatewayError['code']) => {
    throw new GatewayError(code, code);
  };
  function exec(call: SignedCall): CallResponseJson {
    let acc = accounts.get(call.account);
    if (call.type === 'create_account') {
      if (acc) {
        const same = acc.links[0];
        if (same && equalBytes(callHash(key, same.call), callHash(key, call))) {
          return { receipt: receiptToJson(same.receipt) };
        }
        fail('GW_ACCOUNT_EXISTS');
      }
      if (!verifyCallSignature(call.publicKey, key, call)) fail('GW_BAD_SIGNATURE');
      acc = { pub: call.publicKey, next: 0n, prev: new Uint8Array(32), balance: 0n, links: [] };
    }
    if (!acc) return fail('GW_UNKNOWN_ACCOUNT');
    if (!verifyCallSignature(acc.pub, key, call)) fail('GW_BAD_SIGNATURE');
    if (call.sequence < acc.next) {
      const old = acc.links[Number(call.sequence)]!;
      if (equalBytes(callHash(key, old.call), callHash(key, call))) {
        return { receipt: receiptToJson(old.receipt) };
      }
      fail('GW_SEQUENCE_REUSED');
    }
    if (call.sequence > acc.next) fail('GW_BAD_SEQUENCE');
    if (!equalBytes(call.previous, acc.prev)) fail('GW_BAD_PREVIOUS');
    if (callDebit(call) > acc.balance) fail('GW_INSUFFICIENT_FUNDS');
    let result: Uint8Array = new Uint8Array(0);
    let history: CallResponseJson['history'];
    if (call.type === 'transfer') {
      const to = accounts.get(call.to);
      if (!to) fail('GW_UNKNOWN_RECIPIENT');
      to!.balance += call.amount;
    }
    if (call.type === 'deposit_address') result = addressResult(`dev${call.account}`);
    if (call.type === 'withdraw') result = withdrawalResult(7n);
    if (call.type === 'history') {
      const slice = acc.links.slice(
        Number(call.fromSequence),
        Number(call.fromSequence) + call.limit,
      );
      history = slice.map((l) => ({
        call: callToJson(l.call),
        receipt: receiptToJson(l.receipt),
      }));
      result = historyResult(slice.length);
    }
    acc.balance -= callDebit(call);
    const receipt = signReceipt(seed, {
      type: call.type,
      account: call.account,
      sequence: call.sequence,
      callHash: callHash(key, call),
      status: 0,
      balance: acc.balance,
      time: BigInt(Date.now()),
      logIndex: BigInt(tree.size),
      previous: call.previous,
      result,
    });
    tree.append(leafHash(encodeReceipt(receipt)));
    accounts.set(call.account, acc);
    acc.links.push({ call, receipt });
    acc.next++;
    acc.prev = receiptHash(receipt);
    return { receipt: receiptToJson(receipt), ...(history ? { history } : {}) };
  }
  const transport: GatewayTransport = {
    async call(json) {
      const res = exec(parseCall(json));
      if (dropNext) {
        dropNext = false;
        throw new Error('connection reset');
      }
      return res;
    },
    async checkpoint() {
      return checkpointToJson(
        signCheckpoint(seed, key, { size: BigInt(tree.size), root: tree.root(), time: 1n }),
      );
    },
    async inclusionProof(index, size) {
      return tree.inclusionProof(Number(index), Number(size)).map(toHex);
    },
    async consistencyProof(a, b) {
      return tree.consistencyProof(Number(a), Number(b)).map(toHex);
    },
  };
  return {
    key,
    transport,
    accounts,
    credit: (id: bigint, n: bigint) => {
      accounts.get(id)!.balance += n;
    },
    dropNextResponse: () => {
      dropNext = true;
    },
  };
}

async function codeOfAsync(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof GatewayError ? e.code : String(e);
  }
  return undefined;
}

/** A fake gateway with two open accounts. */
async function twoAccounts() {
  const gw = fakeGateway();
  const open = async () => {
    const c = new GatewayClient({
      gatewayKey: gw.key,
      transport: gw.transport,
      account: generateAccount(),
    });
    await c.createAccount();
    return c;
  };
  return { gw, a: await open(), b: await open() };
}

describe('GatewayClient', () => {
  it('runs every call, keeps a verifiable chain, audits the log', async () => {
    const { gw, a: alice, b: bob } = await twoAccounts();
    expect(await alice.depositAddress()).toBe(`dev${alice.account}`);
    gw.credit(alice.account, 5_000_000n);
    expect(await alice.fetchBalance()).toBe(5_000_000n);
    await alice.transfer(bob.account, 1_500_000n);
    expect(alice.balance).toBe(3_500_000n);
    expect(await bob.fetchBalance()).toBe(1_500_000n);
    const w = await alice.withdraw(1_000_000n, 'addr');
    expect(w.withdrawalId).toBe(7n);
    const hist = await alice.history(0n, 3);
    expect(hist.map((l) => l.call.type)).toEqual(['create_account', 'deposit_address', 'balance']);
    expect(await codeOfAsync(alice.transfer(bob.account, 10n ** 12n))).toBe(
      'GW_INSUFFICIENT_FUNDS',
    );
    // the rejected call did not consume a sequence
    await alice.transfer(bob.account, 1n);
    const cp1 = await alice.audit();
    await bob.transfer(alice.account, 2n);
    const cp2 = await alice.audit();
    expect(cp2.size).toBeGreaterThan(cp1.size);

    const state = verifyAccountChain(gw.key, alice.links);
    expect(state.balance).toBe(alice.balance);
    const log = importLog(JSON.parse(JSON.stringify(alice.exportLog())));
    expect(log.account).toBe(alice.account);
    expect(verifyAccountChain(log.gatewayKey, log.links).nextSequence).toBe(alice.nextSequence);
  });

  it('re-sends a call whose answer was lost; the gateway applies it once', async () => {
    const { gw, a, b } = await twoAccounts();
    gw.credit(a.account, 100n);
    gw.dropNextResponse();
    await expect(a.transfer(b.account, 40n)).rejects.toThrow('connection reset');
    await a.resume();
    expect(a.balance).toBe(60n);
    expect(gw.accounts.get(b.account)!.balance).toBe(40n);
    expect(a.nextSequence).toBe(2n);
  });
});

describe('dispute check', () => {
  async function setup() {
    const { gw, a, b } = await twoAccounts();
    gw.credit(a.account, 1000n);
    await a.fetchBalance();
    await a.transfer(b.account, 100n);
    return { gw, a, b };
  }

  it('an honest claim is explained, including calls the client lost', async () => {
    const { gw, a, b } = await setup();
    const kept = [...a.links];
    await a.transfer(b.account, 50n);
    const acc = gw.accounts.get(a.account)!;
    const claim = {
      balance: acc.balance,
      nextSequence: acc.next,
      links: acc.links.slice(kept.length),
    };
    expect(checkDispute(gw.key, kept, claim)).toEqual({
      verdict: 'explained',
      balance: 850n,
      nextSequence: 4n,
    });
  });

  it('a lower balance with no signed call is theft', async () => {
    const { gw, a } = await setup();
    const acc = gw.accounts.get(a.account)!;
    const v = checkDispute(gw.key, a.links, {
      balance: acc.balance - 1n,
      nextSequence: acc.next,
      links: [],
    });
    expect(v).toMatchObject({ verdict: 'theft', reason: 'balance-mismatch' });
  });

  it('forgetting signed receipts is theft (rollback)', async () => {
    const { gw, a } = await setup();
    const v = checkDispute(gw.key, a.links, { balance: 1000n, nextSequence: 2n, links: [] });
    expect(v).toMatchObject({ verdict: 'theft', reason: 'rollback' });
  });

  it('claiming calls it cannot show signed is theft', async () => {
    const { gw, a } = await setup();
    const v = checkDispute(gw.key, a.links, {
      balance: 0n,
      nextSequence: a.nextSequence + 1n,
      links: [],
    });
    expect(v).toMatchObject({ verdict: 'theft', reason: 'unsigned-call' });
  });

  it('forged client evidence is rejected as invalid, not theft', async () => {
    const { gw, a } = await setup();
    const forged = a.links.map((l, i) =>
      i === 2 ? { ...l, receipt: { ...l.receipt, balance: l.receipt.balance + 500n } } : l,
    );
    const v = checkDispute(gw.key, forged, { balance: 900n, nextSequence: 3n, links: [] });
    expect(v).toMatchObject({ verdict: 'invalid-evidence', code: 'GW_BAD_RECEIPT' });
  });
});
