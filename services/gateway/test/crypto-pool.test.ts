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
