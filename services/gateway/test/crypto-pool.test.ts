// The signature pool: worker threads give the same answers as the inline
// functions (Ed25519 signatures are deterministic, so receipts are byte for
// byte what signReceipt makes), bad signatures are refused, and a closed
// pool refuses work instead of hanging.
import { ed25519PublicKey, randomBytes } from '@skymesh/crypto';
import {
  callSigningBytes,
  type Receipt,
  signCall,
  signReceipt,
  ZERO_HASH,
} from '@skymesh/protocol/gateway';
import { afterAll, describe, expect, it } from 'vitest';
import { createCryptoPool } from '../src/crypto-pool.js';

const gatewaySeed = randomBytes(32);
const gatewayKey = ed25519PublicKey(gatewaySeed);

function unsignedReceipt(i: number): Omit<Receipt, 'signature'> {
  return {
    type: 'transfer',
    account: 70_000n + BigInt(i),
    sequence: BigInt(i),
    callHash: randomBytes(32),
    status: 0,
    balance: 1_000n * BigInt(i),
    time: 1_700_000_000_000n,
    logIndex: BigInt(i),
    previous: ZERO_HASH,
    result: new Uint8Array(0),
  };
}

/** `p`, or a rejection after 5 s: a hang fails the test instead of timing it out. */
function within<T>(p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('hung')), 5000)),
  ]);
}

function signedCalls(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const seed = randomBytes(32);
    const call = signCall(seed, gatewayKey, {
      type: 'transfer',
      account: 70_000n + BigInt(i),
      sequence: 1n,
      previous: ZERO_HASH,
      to: 80_000n,
      amount: 5n,
    });
    return { key: ed25519PublicKey(seed), message: callSigningBytes(gatewayKey, call), call };
  });
}

describe.each([0, 2])('crypto pool with %i workers', (size) => {
  const pool = createCryptoPool(gatewaySeed, size);
  afterAll(() => pool.close());

  it('verifies good signatures and refuses bad ones', async () => {
    const calls = signedCalls(40);
    const good = await Promise.all(
      calls.map((c) => pool.verify(c.key, c.message, c.call.signature)),
    );
    expect(good.every(Boolean)).toBe(true);
    const bad = await Promise.all(
      calls.map((c, i) => {
        const sig = c.call.signature.slice();
        sig[i % 64]! ^= 1;
        return pool.verify(c.key, c.message, sig);
      }),
    );
    expect(bad.some(Boolean)).toBe(false);
    // The wrong key, and malformed lengths, are refused too.
    expect(await pool.verify(calls[1]!.key, calls[0]!.message, calls[0]!.call.signature)).toBe(
      false,
    );
    expect(await pool.verify(new Uint8Array(31), calls[0]!.message, calls[0]!.call.signature)).toBe(
      false,
    );
  });

  it('signs receipts exactly as signReceipt does', async () => {
    const list = Array.from({ length: 50 }, (_, i) => unsignedReceipt(i));
    const sigs = await Promise.all(list.map((r) => pool.signReceipt(r)));
    for (let i = 0; i < list.length; i++) {
      expect(sigs[i]).toEqual(signReceipt(gatewaySeed, list[i]!).signature);
    }
  });
});

describe('a job that fails in a worker', () => {
  it('rejects that job and leaves the pool working', async () => {
    const pool = createCryptoPool(gatewaySeed, 1);
    const tooLong = { ...unsignedReceipt(3), result: new Uint8Array(1000) };
    await expect(pool.signReceipt(tooLong)).rejects.toThrow();
    const next = unsignedReceipt(4);
    expect(await pool.signReceipt(next)).toEqual(signReceipt(gatewaySeed, next).signature);
    await pool.close();
  });
});

describe('a closed pool', () => {
  it('rejects new work instead of hanging', async () => {
    const pool = createCryptoPool(gatewaySeed, 1);
    expect((await pool.signReceipt(unsignedReceipt(1))).length).toBe(64);
    await pool.close();
    await expect(pool.signReceipt(unsignedReceipt(2))).rejects.toThrow();
  });
});

describe('a worker that dies', () => {
  it('is replaced, and requests in flight on it are answered by the replacement', async () => {
    const pool = createCryptoPool(gatewaySeed, 2);
    // Warm up: both workers answer once (a worker that never answered counts as a broken install).
    await Promise.all(Array.from({ length: 40 }, (_, i) => pool.signReceipt(unsignedReceipt(i))));
    const before = [...pool.workers];
    // Enough work (~20 ms per worker) that the kill lands while it is in flight.
    const calls = signedCalls(600);
    const receipts = Array.from({ length: 200 }, (_, i) => unsignedReceipt(100 + i));
    const verifying = calls.map((c) => pool.verify(c.key, c.message, c.call.signature));
    const signing = receipts.map((r) => pool.signReceipt(r));
    // The requests go out on the next turn; kill worker 0 while they are in flight.
    await new Promise((r) => setImmediate(r));
    await before[0]!.terminate();
    expect((await within(Promise.all(verifying))).every(Boolean)).toBe(true);
    const sigs = await within(Promise.all(signing));
    for (let i = 0; i < receipts.length; i++) {
      expect(sigs[i]).toEqual(signReceipt(gatewaySeed, receipts[i]!).signature);
    }
    expect(pool.workers[0]).not.toBe(before[0]);
    expect(pool.workers[1]).toBe(before[1]);
    // The pool keeps serving on both workers, the new one included.
    const more = signedCalls(40);
    const ok = await within(
      Promise.all(more.map((c) => pool.verify(c.key, c.message, c.call.signature))),
    );
    expect(ok.every(Boolean)).toBe(true);
    await pool.close();
  });

  it('a request lost with two workers in a row fails with a typed error, not a hang', async () => {
    const pool = createCryptoPool(gatewaySeed, 1);
    await pool.signReceipt(unsignedReceipt(1));
    const r = unsignedReceipt(2);
    const p = pool.signReceipt(r);
    await new Promise((res) => setImmediate(res));
    await pool.workers[0]!.terminate(); // the request goes again to a replacement…
    await new Promise((res) => setImmediate(res));
    const second = pool.workers[0]!;
    // …which dies before answering it (terminated as soon as it exists).
    const outcome = await Promise.race([
      second.terminate().then(() =>
        p.then(
          (sig) => ({ sig }),
          (e: unknown) => ({ code: (e as { code?: string }).code }),
        ),
      ),
      new Promise<{ hung: true }>((res) => setTimeout(() => res({ hung: true }), 5000)),
    ]);
    // Either the replacement answered before it died, or the caller got GW_INTERNAL.
    if ('sig' in outcome) expect(outcome.sig).toEqual(signReceipt(gatewaySeed, r).signature);
    else expect(outcome).toEqual({ code: 'GW_INTERNAL' });
    // The pool worked before, so a replacement that died before answering is
    // not a broken install: the slot is restarted (after a back-off) and later
    // calls are signed, not failed for good.
    for (let i = 0; i < 3; i++) {
      const later = unsignedReceipt(10 + i);
      expect(await within(pool.signReceipt(later))).toEqual(
        signReceipt(gatewaySeed, later).signature,
      );
    }
    expect(pool.workers[0]).not.toBe(second);
    await pool.close();
  });

  it('a slot restarting after a back-off leaves new work to the live workers', async () => {
    const pool = createCryptoPool(gatewaySeed, 2);
    await Promise.all(Array.from({ length: 40 }, (_, i) => pool.signReceipt(unsignedReceipt(i))));
    await pool.workers[0]!.terminate(); // had answered: replaced at once
    await new Promise((res) => setImmediate(res));
    const second = pool.workers[0]!;
    await second.terminate(); // never answered: slot 0 waits out a back-off
    const live = pool.workers[1]!;
    const receipts = Array.from({ length: 64 }, (_, i) => unsignedReceipt(200 + i));
    const sigs = await within(Promise.all(receipts.map((r) => pool.signReceipt(r))));
    for (let i = 0; i < receipts.length; i++) {
      expect(sigs[i]).toEqual(signReceipt(gatewaySeed, receipts[i]!).signature);
    }
    expect(pool.workers[1]).toBe(live);
    // The slot comes back and serves again.
    await within(
      (async () => {
        while (pool.workers[0] === second) await new Promise((res) => setTimeout(res, 10));
      })(),
    );
    const more = signedCalls(40);
    const ok = await within(
      Promise.all(more.map((c) => pool.verify(c.key, c.message, c.call.signature))),
    );
    expect(ok.every(Boolean)).toBe(true);
    await pool.close();
  });
});

describe('a replacement that fails with an error and then exits', () => {
  it('is restarted once after its back-off (error + exit count as one loss)', async () => {
    const pool = createCryptoPool(gatewaySeed, 1);
    await pool.signReceipt(unsignedReceipt(1));
    await pool.workers[0]!.terminate(); // had answered: replaced at once
    await new Promise((res) => setImmediate(res));
    const second = pool.workers[0]!;
    // A crash: 'error', then 'exit' (as a worker's uncaught exception gives).
    second.emit('error', new Error('crashed'));
    await second.terminate();
    const seen = new Set([second]);
    const start = Date.now();
    while (Date.now() - start < 400) {
      seen.add(pool.workers[0]!);
      await new Promise((res) => setTimeout(res, 5));
    }
    expect(seen.size).toBe(2); // one replacement, not one per event
    const r = unsignedReceipt(2);
    expect(await within(pool.signReceipt(r))).toEqual(signReceipt(gatewaySeed, r).signature);
    await pool.close();
  });
});

describe('a pool none of whose workers ever answered (a broken install)', () => {
  it('is not restarted: calls fail GW_INTERNAL', async () => {
    const pool = createCryptoPool(gatewaySeed, 1);
    const first = pool.workers[0]!;
    await first.terminate();
    await new Promise((res) => setTimeout(res, 200));
    await expect(within(pool.signReceipt(unsignedReceipt(1)))).rejects.toMatchObject({
      code: 'GW_INTERNAL',
    });
    expect(pool.workers[0]).toBe(first);
    await pool.close();
  });
});

describe('a pool whose workers are all down', () => {
  it('closes without leaving requests hanging', async () => {
    const pool = createCryptoPool(gatewaySeed, 1);
    await pool.signReceipt(unsignedReceipt(1));
    await pool.workers[0]!.terminate();
    await new Promise((res) => setImmediate(res));
    await pool.workers[0]!.terminate(); // slot 0 now waits out a back-off
    const p = pool.signReceipt(unsignedReceipt(2)).then(
      () => 'signed',
      (e: unknown) => (e as { code?: string }).code,
    );
    await new Promise((res) => setImmediate(res));
    await pool.close();
    expect(await within(p)).toBe('GW_UNAVAILABLE');
  });
});
