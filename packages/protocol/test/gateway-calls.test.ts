// Gateway calls, receipts and checkpoints: canonical encodings, signatures,
// the JSON parsers' rejections (codes only), amounts.
import { ed25519PublicKey, randomBytes } from '@skymesh/crypto';
import {
  type Call,
  callHash,
  callToJson,
  checkpointToJson,
  coinsToDroplets,
  decodeReceipt,
  dropletsToCoins,
  encodeReceipt,
  GatewayError,
  MAX_AMOUNT,
  parseAmount,
  parseCall,
  parseCheckpoint,
  parseReceipt,
  receiptToJson,
  signCall,
  signCheckpoint,
  signReceipt,
  verifyCallSignature,
  verifyCheckpoint,
  verifyReceiptForCall,
  verifyReceiptSignature,
  ZERO_HASH,
} from '@skymesh/protocol/gateway';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const runs = Number(process.env.FUZZ_RUNS ?? 50);
const gwSeed = randomBytes(32);
const gwKey = ed25519PublicKey(gwSeed);
const seed = randomBytes(32);
const account = 0x1234_5678_9abc_def0n;

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof GatewayError ? e.code : `not a GatewayError: ${String(e)}`;
  }
  return undefined;
}

const base = { account, sequence: 3n, previous: randomBytes(32) };
const samples: Call[] = [
  {
    ...base,
    sequence: 0n,
    previous: ZERO_HASH,
    type: 'create_account',
    publicKey: ed25519PublicKey(seed),
  },
  { ...base, type: 'deposit_address' },
  { ...base, type: 'balance' },
  { ...base, type: 'transfer', to: 0x10000n, amount: 5n },
  { ...base, type: 'withdraw', amount: 1_000_000n, address: '2GgFvqoyk9RjwVzj8tqfcXVXB4orBwoc9qv' },
  { ...base, type: 'history', fromSequence: 0n, limit: 10 },
];

describe('calls', () => {
  it('sign, verify, JSON round trip for every type', () => {
    for (const c of samples) {
      const s = signCall(seed, gwKey, c);
      expect(verifyCallSignature(ed25519PublicKey(seed), gwKey, s)).toBe(true);
      const back = parseCall(JSON.parse(JSON.stringify(callToJson(s))));
      expect(back).toEqual(s);
      expect(callHash(gwKey, back)).toEqual(callHash(gwKey, s));
      // bound to the gateway: the same call for another gateway key does not verify
      expect(verifyCallSignature(ed25519PublicKey(seed), randomBytes(32), s)).toBe(false);
    }
  });

  it('refuses to create an account under a small-order key (anyone could sign for it)', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1; // the Ed25519 identity point
    const bad = { ...samples[0]!, publicKey: identity } as Call;
    expect(codeOf(() => signCall(seed, gwKey, bad))).toBe('GW_BAD_FIELD');
    const json = callToJson(signCall(seed, gwKey, samples[0]!));
    json.body.publicKey = `01${'00'.repeat(31)}`;
    expect(codeOf(() => parseCall(json))).toBe('GW_BAD_FIELD');
  });

  it('any change to a signed field breaks the signature', () => {
    const s = signCall(seed, gwKey, samples[3]!);
    const pub = ed25519PublicKey(seed);
    expect(verifyCallSignature(pub, gwKey, { ...s, sequence: 4n })).toBe(false);
    expect(verifyCallSignature(pub, gwKey, { ...s, amount: 6n } as typeof s)).toBe(false);
    expect(verifyCallSignature(pub, gwKey, { ...s, to: 0x10001n } as typeof s)).toBe(false);
    expect(verifyCallSignature(pub, gwKey, { ...s, previous: ZERO_HASH })).toBe(false);
  });

  it('rejects malformed JSON with stable codes', () => {
    const good = callToJson(signCall(seed, gwKey, samples[3]!));
    const withBody = (body: object) => ({ ...good, body: { ...good.body, ...body } });
    const cases: [unknown, string][] = [
      [null, 'GW_MALFORMED'],
      [[], 'GW_MALFORMED'],
      [{ ...good, type: 'steal' }, 'GW_BAD_FIELD'],
      [{ ...good, account: '-1' }, 'GW_BAD_FIELD'],
      [{ ...good, account: 42 }, 'GW_BAD_FIELD'],
      [{ ...good, account: '5' }, 'GW_BAD_FIELD'], // system id range
      [{ ...good, account: '18446744073709551616' }, 'GW_BAD_FIELD'],
      [{ ...good, sequence: '01' }, 'GW_BAD_FIELD'],
      [{ ...good, previous: 'ab' }, 'GW_BAD_FIELD'],
      [{ ...good, signature: good.signature.toUpperCase() }, 'GW_BAD_FIELD'],
      [withBody({ amount: '0' }), 'GW_BAD_AMOUNT'],
      [withBody({ amount: '-5' }), 'GW_BAD_AMOUNT'],
      [withBody({ amount: '1.5' }), 'GW_BAD_AMOUNT'],
      [withBody({ amount: '1e6' }), 'GW_BAD_AMOUNT'],
      [withBody({ amount: 5 }), 'GW_BAD_AMOUNT'],
      [withBody({ amount: '9223372036854775808' }), 'GW_AMOUNT_TOO_LARGE'],
      [withBody({ amount: '99999999999999999999999999' }), 'GW_AMOUNT_TOO_LARGE'],
      [withBody({ to: '7' }), 'GW_BAD_FIELD'],
      [{ ...good, type: 'withdraw', body: { amount: '1000000', address: '' } }, 'GW_BAD_ADDRESS'],
      [
        { ...good, type: 'withdraw', body: { amount: '1000000', address: 'a b' } },
        'GW_BAD_ADDRESS',
      ],
      [{ ...good, type: 'history', body: { fromSequence: '0', limit: 0 } }, 'GW_BAD_FIELD'],
      [{ ...good, type: 'history', body: { fromSequence: '0', limit: 101 } }, 'GW_BAD_FIELD'],
    ];
    for (const [json, code] of cases)
      expect(
        codeOf(() => parseCall(json)),
        JSON.stringify(json),
      ).toBe(code);
    expect(codeOf(() => parseCall(good))).toBeUndefined();
  });

  it('never throws anything but GatewayError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const c = codeOf(() => parseCall(v));
        return c === undefined || c.startsWith('GW_');
      }),
      { numRuns: runs },
    );
  });
});

describe('amounts', () => {
  it('parse and format', () => {
    expect(parseAmount('1')).toBe(1n);
    expect(parseAmount(MAX_AMOUNT.toString())).toBe(MAX_AMOUNT);
    expect(codeOf(() => parseAmount((MAX_AMOUNT + 1n).toString()))).toBe('GW_AMOUNT_TOO_LARGE');
    expect(codeOf(() => parseAmount('007'))).toBe('GW_BAD_AMOUNT');
    expect(coinsToDroplets('1.5')).toBe(1_500_000n);
    expect(coinsToDroplets('2')).toBe(2_000_000n);
    expect(codeOf(() => coinsToDroplets('1.0000001'))).toBe('GW_BAD_AMOUNT');
    expect(dropletsToCoins(1_500_000n)).toBe('1.500000');
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        (d) => coinsToDroplets(dropletsToCoins(d)) === d,
      ),
      { numRuns: runs },
    );
  });
});

describe('receipts and checkpoints', () => {
  const call = signCall(seed, gwKey, samples[3]!);
  const receipt = signReceipt(gwSeed, {
    type: 'transfer',
    account,
    sequence: 3n,
    callHash: callHash(gwKey, call),
    status: 0,
    balance: 1234n,
    time: 1_700_000_000_000n,
    logIndex: 99n,
    previous: call.previous,
    result: new Uint8Array(0),
  });

  it('encode/decode and JSON round trips; signature verifies', () => {
    expect(decodeReceipt(encodeReceipt(receipt))).toEqual(receipt);
    expect(parseReceipt(JSON.parse(JSON.stringify(receiptToJson(receipt))))).toEqual(receipt);
    expect(verifyReceiptSignature(gwKey, receipt)).toBe(true);
    expect(verifyReceiptSignature(gwKey, { ...receipt, balance: 1235n })).toBe(false);
    expect(() => verifyReceiptForCall(gwKey, call, receipt)).not.toThrow();
  });

  it('a receipt for another call is refused', () => {
    const other = signCall(seed, gwKey, { ...samples[3]!, amount: 6n } as Call);
    expect(codeOf(() => verifyReceiptForCall(gwKey, other, receipt))).toBe('GW_BAD_RECEIPT');
  });

  it('decoder rejects truncation and trailing bytes', () => {
    const bytes = encodeReceipt(receipt);
    expect(codeOf(() => decodeReceipt(bytes.subarray(0, bytes.length - 1)))).toBe('GW_MALFORMED');
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(codeOf(() => decodeReceipt(longer))).toBe('GW_MALFORMED');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        const c = codeOf(() => decodeReceipt(b));
        return c === undefined || c === 'GW_MALFORMED';
      }),
      { numRuns: runs },
    );
  });

  it('checkpoints sign and verify', () => {
    const cp = signCheckpoint(gwSeed, gwKey, { size: 5n, root: randomBytes(32), time: 1n });
    expect(verifyCheckpoint(gwKey, parseCheckpoint(checkpointToJson(cp)))).toBe(true);
    expect(verifyCheckpoint(gwKey, { ...cp, size: 6n })).toBe(false);
  });
});
