/**
 * Sybil pressure: request rates per source IP and per /24 or /48, live-node
 * counts per IP and prefix (freed when nodes leave), exemptions.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, sourceKeys } from '../src/limits.js';
import { codeOf, descriptorBytes, harness, NO_LIMITS, postBytes, T0 } from './_harness.js';

describe('source keys', () => {
  it('groups IPv4 by /24 (mapped addresses too) and IPv6 by /48', () => {
    expect(sourceKeys('203.0.113.9')).toEqual({ ip: '203.0.113.9', prefix: '203.0.113.0/24' });
    expect(sourceKeys('::ffff:203.0.113.77').prefix).toBe('203.0.113.0/24');
    expect(sourceKeys('2001:db8:aa:1::5').prefix).toBe(sourceKeys('2001:db8:aa:ffff::1').prefix);
    expect(sourceKeys('2001:db8:aa:1::5').prefix).not.toBe(sourceKeys('2001:db8:ab::1').prefix);
  });
});

describe('request rate limits', () => {
  it('limit one IP, then its /24, and leave other networks alone', async () => {
    const h = await harness({
      limits: {
        ...NO_LIMITS,
        requestRatePerIp: 0.001,
        requestBurstPerIp: 3,
        requestRatePerPrefix: 0.001,
        requestBurstPerPrefix: 5,
      },
    });
    const get = (ip: string) => h.app.inject({ url: '/v1/info', remoteAddress: ip });
    for (let i = 0; i < 3; i++) expect((await get('192.0.2.1')).statusCode).toBe(200);
    const r = await get('192.0.2.1');
    expect([r.statusCode, codeOf(r)]).toEqual([429, 'RS_RATE_LIMITED']);
    // Its neighbours share the /24 budget of 5 (4 spent, counting the refused one).
    expect((await get('192.0.2.2')).statusCode).toBe(200);
    expect((await get('192.0.2.3')).statusCode).toBe(429);
    expect((await get('198.51.100.1')).statusCode).toBe(200);
    // Time refills the buckets.
    h.clock.ms += 10_000_000;
    expect((await get('192.0.2.1')).statusCode).toBe(200);
    // /health and /metrics are not charged.
    for (let i = 0; i < 10; i++)
      expect((await h.app.inject({ url: '/health', remoteAddress: '192.0.2.1' })).statusCode).toBe(
        200,
      );
  });
});

describe('node limits', () => {
  it('cap live nodes per IP and per /24; refreshing is free; leaving frees the slot', async () => {
    const h = await harness({
      descriptorTtl: 600,
      limits: { ...NO_LIMITS, nodesPerIp: 2, nodesPerPrefix: 3 },
    });
    const pub = (i: number, ip: string, issuedAt = T0) =>
      postBytes(h.app, '/v1/descriptors', descriptorBytes(i, { issuedAt }), ip);
    expect((await pub(1, '192.0.2.1')).statusCode).toBe(200);
    expect((await pub(2, '192.0.2.1')).statusCode).toBe(200);
    const third = await pub(3, '192.0.2.1');
    expect([third.statusCode, codeOf(third)]).toEqual([429, 'RS_TOO_MANY_NODES']);
    expect((await pub(2, '192.0.2.1', T0 + 1)).statusCode).toBe(200); // refresh
    expect((await pub(3, '192.0.2.2')).statusCode).toBe(200); // same /24, 3rd node
    const fourth = await pub(4, '192.0.2.3');
    expect([fourth.statusCode, codeOf(fourth)]).toEqual([429, 'RS_TOO_MANY_NODES']);
    expect((await pub(4, '198.51.100.4')).statusCode).toBe(200);
    // Node 1 ages out: its slot is free again.
    h.clock.ms += 601_000;
    await pub(2, '192.0.2.1', T0 + 601);
    await pub(3, '192.0.2.2', T0 + 601);
    await pub(4, '198.51.100.4', T0 + 601);
    h.service.expire();
    expect(h.service.state.nodeCount).toBe(3);
    expect((await pub(5, '192.0.2.1', T0 + 601)).statusCode).toBe(200);
    const m = await h.app.inject({ url: '/metrics' });
    expect(m.body).toMatch(/^routeserver_node_limited_total 2$/m);
  });

  it('exempt addresses are never limited', async () => {
    const h = await harness({
      limits: { ...DEFAULT_LIMITS, nodesPerIp: 1, requestBurstPerIp: 2, exempt: ['127.0.0.1'] },
    });
    for (let i = 1; i <= 5; i++) {
      expect(
        (await postBytes(h.app, '/v1/descriptors', descriptorBytes(i), '127.0.0.1')).statusCode,
      ).toBe(200);
    }
  });
});
