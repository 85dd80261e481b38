/** Shared test inputs: a fixed signing seed and descriptor fields (also used to generate vectors). */
import { fromHex } from '@skymesh/crypto';
import type { DescriptorFields } from '../src/index.js';

/** RFC 8032 §7.1 test 1 secret key, used as a node seed. */
export const SEED = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
export const T0 = 1_800_000_000;

/** A relay + exit with one endpoint of each transport and a small exit policy. */
export const FIELDS: DescriptorFields = {
  roles: { relay: true, exit: true },
  endpoints: [
    { transport: 'wss', host: 'relay.example.org', port: 443 },
    { transport: 'tcp', host: '203.0.113.7', port: 9001 },
    { transport: 'ws', host: '2001:db8::1', port: 18080 },
  ],
  pricePerMiB: 1500n,
  exitPolicy: {
    ports: [
      { from: 80, to: 80 },
      { from: 443, to: 443 },
      { from: 8000, to: 8999 },
    ],
    hosts: ['*.example.org', 'example.com', '127.0.0.1', '::1'],
  },
  issuedAt: T0,
  expiresAt: T0 + 86_400,
};
