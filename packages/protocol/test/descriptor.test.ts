import { encodeAddress, Identity, toHex } from '@skymesh/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DESCRIPTOR_VERSION,
  type DescriptorFields,
  decodeDescriptor,
  descriptorAddress,
  descriptorFromJSON,
  descriptorToJSON,
  type Endpoint,
  encodeDescriptor,
  exitAllows,
  MAX_DESCRIPTOR_LIFETIME,
  MAX_DESCRIPTOR_SIZE,
  MAX_ENDPOINTS,
  MAX_EXIT_RULES,
  type NodeDescriptor,
  ProtocolError,
  signDescriptor,
  toBase64Url,
  verifyDescriptor,
} from '../src/index.js';
import { FIELDS, SEED, T0 } from './_fixtures.js';
import { runs, thrown } from './_fuzz.js';
import vector from './vectors/descriptor.json' with { type: 'json' };

function code(fn: () => unknown): string | undefined {
  const err = thrown(fn);
  return err instanceof ProtocolError ? err.code : err === undefined ? undefined : String(err);
}

function signed(over: Partial<DescriptorFields> = {}): NodeDescriptor {
  return signDescriptor({ ...FIELDS, ...over }, SEED);
}

// A private copy of a descriptor's bytes, for tests that edit them.
function bytesOf(desc: NodeDescriptor): Uint8Array {
  return encodeDescriptor(desc).slice();
}

describe('descriptor encoding', () => {
  it('signs, encodes, decodes and verifies', () => {
    const d = signed();
    expect(d.version).toBe(DESCRIPTOR_VERSION);
    expect(descriptorAddress(d)).toBe(encodeAddress(d.publicKey));
    const bytes = encodeDescriptor(d);
    expect(decodeDescriptor(bytes)).toEqual(d);
    expect(verifyDescriptor(bytes, { now: T0 })).toEqual(d);
    expect(verifyDescriptor(d, { now: T0 + 86_399, clockSkew: 0 })).toEqual(d);
    const id = Identity.fromSeed(SEED);
    expect(signDescriptor(FIELDS, id)).toEqual(d); // Ed25519 is deterministic
  });

  it('matches the stored vector (test/vectors/descriptor.json)', () => {
    expect(toHex(SEED)).toBe(vector.seed);
    const d = signDescriptor(FIELDS, SEED);
    expect(toHex(encodeDescriptor(d))).toBe(vector.hex);
    expect(descriptorToJSON(d)).toEqual(vector.json);
  });

  it('applies defaults: no exit policy, one day of validity from now', () => {
    const d = signDescriptor(
      { roles: { relay: true, exit: false }, endpoints: [], pricePerMiB: 0n },
      SEED,
    );
    expect(d.exitPolicy).toEqual({ ports: [], hosts: [] });
    expect(d.expiresAt - d.issuedAt).toBe(86_400);
    expect(verifyDescriptor(encodeDescriptor(d)).publicKey).toEqual(d.publicKey);
  });

  it('round-trips random valid descriptors', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    const hostName = fc
      .array(label, { minLength: 1, maxLength: 4 })
      .map((l) => l.join('.'))
      .filter((h) => !/^[0-9.]+$/.test(h));
    const host = fc.oneof(
      hostName,
      fc.ipV4(),
      fc.ipV6().map((h) => h.toLowerCase()),
    );
    const endpoint: fc.Arbitrary<Endpoint> = fc.record({
      transport: fc.constantFrom('ws', 'wss', 'tcp'),
      host,
      port: fc.integer({ min: 1, max: 65535 }),
    });
    const range = fc
      .tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }))
      .map(([a, b]) => ({ from: Math.min(a, b), to: Math.max(a, b) }));
    const pattern = fc.oneof(
      fc.constant('*'),
      hostName.map((h) => `*.${h}`),
      host,
    );
    const fields = fc.record({
      roles: fc.record({ relay: fc.boolean(), exit: fc.boolean() }),
      endpoints: fc.array(endpoint, { maxLength: MAX_ENDPOINTS }),
      pricePerMiB: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      exitPolicy: fc.record({
        ports: fc.array(range, { maxLength: 5 }),
        hosts: fc.array(pattern, { maxLength: 5 }),
      }),
      issuedAt: fc.integer({ min: 0, max: 2 ** 40 }),
      lifetime: fc.integer({ min: 1, max: MAX_DESCRIPTOR_LIFETIME }),
    });
    fc.assert(
      fc.property(fields, ({ lifetime, ...f }) => {
        const d = signDescriptor({ ...f, expiresAt: f.issuedAt + lifetime }, SEED);
        const bytes = encodeDescriptor(d);
        expect(bytes.length).toBeLessThanOrEqual(MAX_DESCRIPTOR_SIZE);
        expect(decodeDescriptor(bytes)).toEqual(d);
        expect(verifyDescriptor(bytes, { now: f.issuedAt }).signature).toEqual(d.signature);
        expect(descriptorFromJSON(JSON.stringify(descriptorToJSON(d)))).toEqual(d);
      }),
      { numRuns: runs(60) },
    );
  });
});

describe('descriptor rejections', () => {
  it('DESCRIPTOR_BAD_SIGNATURE for any changed byte, another key or a bad key', () => {
    const bytes = bytesOf(signed());
    for (const i of [40, 60, bytes.length - 70, bytes.length - 1]) {
      const copy = bytes.slice();
      copy[i]! ^= 0x01;
      const c = code(() => verifyDescriptor(copy, { now: T0 }));
      // A flipped byte either breaks the structure (a DECODE_ code) or the signature.
      expect(c === 'DESCRIPTOR_BAD_SIGNATURE' || c?.startsWith('DECODE_')).toBe(true);
    }
    const sig = bytes.slice();
    sig[sig.length - 1]! ^= 0x80;
    expect(code(() => verifyDescriptor(sig, { now: T0 }))).toBe('DESCRIPTOR_BAD_SIGNATURE');
    const price = bytes.slice();
    price[57]! ^= 1; // last byte of pricePerMiB: structure stays valid
    expect(code(() => verifyDescriptor(price, { now: T0 }))).toBe('DESCRIPTOR_BAD_SIGNATURE');
    const other = { ...signed(), publicKey: Identity.fromSeed(new Uint8Array(32)).publicKey };
    expect(code(() => verifyDescriptor(other, { now: T0 }))).toBe('DESCRIPTOR_BAD_SIGNATURE');
    const junkKey = { ...signed(), publicKey: new Uint8Array(32).fill(0xff) };
    expect(code(() => verifyDescriptor(junkKey, { now: T0 }))).toBe('DESCRIPTOR_BAD_SIGNATURE');
  });

  it('DESCRIPTOR_EXPIRED and DESCRIPTOR_NOT_YET_VALID, with clock skew', () => {
    const d = signed();
    expect(code(() => verifyDescriptor(d, { now: T0 + 86_400, clockSkew: 0 }))).toBe(
      'DESCRIPTOR_EXPIRED',
    );
    expect(code(() => verifyDescriptor(d, { now: T0 + 86_400 + 299 }))).toBeUndefined();
    expect(code(() => verifyDescriptor(d, { now: T0 + 86_400 + 300 }))).toBe('DESCRIPTOR_EXPIRED');
    expect(code(() => verifyDescriptor(d, { now: T0 - 1, clockSkew: 0 }))).toBe(
      'DESCRIPTOR_NOT_YET_VALID',
    );
    expect(code(() => verifyDescriptor(d, { now: T0 - 300 }))).toBeUndefined();
    expect(code(() => verifyDescriptor(d, { now: T0 - 301 }))).toBe('DESCRIPTOR_NOT_YET_VALID');
  });

  it('DESCRIPTOR_FIELD_TOO_LARGE for each list and string, encoding and decoding', () => {
    const ep: Endpoint = { transport: 'tcp', host: 'a.example', port: 1 };
    const many = Array.from({ length: MAX_ENDPOINTS + 1 }, () => ep);
    expect(code(() => signed({ endpoints: many }))).toBe('DESCRIPTOR_FIELD_TOO_LARGE');
    const ranges = Array.from({ length: MAX_EXIT_RULES + 1 }, () => ({ from: 1, to: 2 }));
    expect(code(() => signed({ exitPolicy: { ports: ranges, hosts: [] } }))).toBe(
      'DESCRIPTOR_FIELD_TOO_LARGE',
    );
    const hosts = Array.from({ length: MAX_EXIT_RULES + 1 }, () => '*');
    expect(code(() => signed({ exitPolicy: { ports: [], hosts } }))).toBe(
      'DESCRIPTOR_FIELD_TOO_LARGE',
    );
    const long = [...Array(4).fill('a'.repeat(60)), 'abcdefghij'].join('.'); // 254 characters
    expect(code(() => signed({ endpoints: [{ ...ep, host: long }] }))).toBe(
      'DESCRIPTOR_FIELD_TOO_LARGE',
    );
    // Decoding: the endpoint count byte sits at offset 58.
    const bytes = bytesOf(signed({ endpoints: [] }));
    bytes[58] = MAX_ENDPOINTS + 1;
    expect(code(() => decodeDescriptor(bytes))).toBe('DESCRIPTOR_FIELD_TOO_LARGE');
    const withHost = bytesOf(signed({ endpoints: [ep] }));
    withHost[60] = 254; // host length
    expect(code(() => decodeDescriptor(withHost))).toBe('DESCRIPTOR_FIELD_TOO_LARGE');
  });

  it('DESCRIPTOR_TOO_LARGE for a whole encoding over the cap', () => {
    const host = [...Array(3).fill('b'.repeat(62)), 'c'.repeat(60)].join('.'); // 249 characters
    const endpoints = Array.from({ length: MAX_ENDPOINTS }, () => ({
      transport: 'wss' as const,
      host,
      port: 443,
    }));
    const hosts = Array.from({ length: 10 }, () => `*.${host.slice(0, 240)}`);
    expect(code(() => signed({ endpoints, exitPolicy: { ports: [], hosts } }))).toBe(
      'DESCRIPTOR_TOO_LARGE',
    );
    expect(code(() => decodeDescriptor(new Uint8Array(MAX_DESCRIPTOR_SIZE + 1)))).toBe(
      'DESCRIPTOR_TOO_LARGE',
    );
  });

  it('structural errors: version, truncation, trailing bytes, bad values', () => {
    const good = bytesOf(signed());
    const bad = (edit: (b: Uint8Array) => unknown): string | undefined => {
      const b = good.slice();
      const out = edit(b);
      return code(() => decodeDescriptor(out instanceof Uint8Array ? out : b));
    };
    expect(
      bad((b) => {
        b[0] = 2;
      }),
    ).toBe('DECODE_BAD_VERSION');
    expect(bad((b) => b.subarray(0, b.length - 1))).toBe('DECODE_TRUNCATED');
    expect(bad((b) => Uint8Array.of(...b, 0))).toBe('DECODE_TRAILING_BYTES');
    expect(
      bad((b) => {
        b[33] = 4; // reserved flag bit
      }),
    ).toBe('DECODE_BAD_VALUE');
    expect(
      bad((b) => {
        b[59] = 3; // first endpoint's transport
      }),
    ).toBe('DECODE_BAD_VALUE');
    expect(
      bad((b) => {
        b[61] = 0x41; // 'A': hosts must be lowercase
      }),
    ).toBe('DECODE_BAD_VALUE');
    expect(
      bad((b) => {
        b.set([0, 0, 0, 0, 0, 0, 0, 0], 42); // expiresAt 0 < issuedAt
      }),
    ).toBe('DECODE_BAD_VALUE');
    const d = signed();
    expect(
      code(() => encodeDescriptor({ ...d, expiresAt: T0 + MAX_DESCRIPTOR_LIFETIME + 1 })),
    ).toBe('ENCODE_BAD_VALUE');
    const ep = d.endpoints[0]!;
    for (const e of [
      { ...ep, port: 0 },
      { ...ep, port: 65536 },
      { ...ep, host: 'Relay.example.org' },
      { ...ep, host: '[::1]' },
      { ...ep, host: '1.2.3' },
      { ...ep, host: '01.2.3.4' },
      { ...ep, host: '-a.example' },
      { ...ep, host: '' },
      { ...ep, transport: 'udp' as Endpoint['transport'] },
    ]) {
      expect(code(() => signed({ endpoints: [e] }))).toBe('ENCODE_BAD_VALUE');
    }
    for (const policy of [
      { ports: [{ from: 0, to: 10 }], hosts: [] },
      { ports: [{ from: 10, to: 9 }], hosts: [] },
      { ports: [], hosts: ['*.'] },
      { ports: [], hosts: ['a.*.example'] },
      { ports: [], hosts: ['*.1.2.3.4'] },
    ]) {
      expect(code(() => signed({ exitPolicy: policy }))).toBe('ENCODE_BAD_VALUE');
    }
    expect(code(() => signed({ pricePerMiB: -1n }))).toBe('ENCODE_BAD_VALUE');
  });
});

describe('exit policy', () => {
  it('allows only listed ports and matching hosts', () => {
    const d = signed();
    const yes: [string, number][] = [
      ['www.example.org', 443],
      ['a.b.example.org', 80],
      ['WWW.Example.ORG.', 8080],
      ['example.com', 8999],
      ['127.0.0.1', 80],
      ['::1', 443],
      ['[::1]', 443],
      ['0:0:0:0:0:0:0:1', 8000],
    ];
    const no: [string, number][] = [
      ['example.org', 443], // "*.example.org" is subdomains only
      ['www.example.org', 22],
      ['www.example.org', 0],
      ['www.example.org', 70000],
      ['www.example.org', 443.5],
      ['badexample.org', 443],
      ['www.example.com', 443],
      ['127.0.0.2', 80],
      ['::2', 80],
      ['not a host', 80],
      ['', 80],
    ];
    for (const [h, p] of yes) expect(exitAllows(d, h, p), `${h}:${p}`).toBe(true);
    for (const [h, p] of no) expect(exitAllows(d, h, p), `${h}:${p}`).toBe(false);
  });

  it('allows nothing by default or when the node is not an exit', () => {
    const none = signed({ exitPolicy: undefined });
    expect(exitAllows(none, 'example.com', 80)).toBe(false);
    const relay = signed({ roles: { relay: true, exit: false } });
    expect(exitAllows(relay, 'example.com', 80)).toBe(false);
    const any = signed({ exitPolicy: { ports: [{ from: 1, to: 65535 }], hosts: ['*'] } });
    expect(exitAllows(any, '10.0.0.1', 1)).toBe(true);
    expect(exitAllows(any, 'fe80::1', 65535)).toBe(true);
  });
});

describe('descriptor JSON', () => {
  it('round-trips through an object and through text', () => {
    const d = signed();
    const json = descriptorToJSON(d);
    expect(json.address).toBe(descriptorAddress(d));
    expect(descriptorFromJSON(json)).toEqual(d);
    expect(descriptorFromJSON(JSON.stringify(json))).toEqual(d);
  });

  it('rejects bad shapes, bad base64url, a wrong address and oversized blobs', () => {
    const json = descriptorToJSON(signed());
    const other = Identity.fromSeed(new Uint8Array(32).fill(7)).address;
    expect(code(() => descriptorFromJSON({ ...json, address: other }))).toBe('DECODE_BAD_VALUE');
    expect(code(() => descriptorFromJSON({ descriptor: json.descriptor }))).toBe(
      'DECODE_BAD_VALUE',
    );
    expect(code(() => descriptorFromJSON(null))).toBe('DECODE_BAD_VALUE');
    expect(code(() => descriptorFromJSON('{'))).toBe('DECODE_BAD_VALUE');
    expect(code(() => descriptorFromJSON({ ...json, descriptor: `${json.descriptor}=` }))).toBe(
      'DECODE_BAD_VALUE',
    );
    const big = toBase64Url(new Uint8Array(MAX_DESCRIPTOR_SIZE + 3));
    expect(code(() => descriptorFromJSON({ ...json, descriptor: big }))).toBe(
      'DESCRIPTOR_TOO_LARGE',
    );
  });
});
