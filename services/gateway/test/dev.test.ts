// The development gateway (src/dev.ts): PGlite + devchain + a listening API
// in one call, demo accounts funded through the faucet, the port freed on
// close, and a data directory that keeps key, accounts and balances.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayClient, httpTransport } from '@skymesh/protocol/gateway';
import { afterAll, describe, expect, it } from 'vitest';
import { startDevGateway } from '../src/dev.js';
import { codeOf } from './_harness.js';

const refuses = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('startDevGateway', () => {
  it('listens, funds demo accounts, frees the port on close, and keeps its state in dataDir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-dev-'));
    dirs.push(dir);
    const dev = await startDevGateway({ dataDir: dir });
    expect(dev.url).toBe(`http://127.0.0.1:${dev.port}`);
    const info = (await (await fetch(`${dev.url}/v1/gateway`)).json()) as Record<string, string>;
    expect(info.publicKey).toBe(dev.publicKey);
    expect(info.chain).toBe('devchain');

    const accounts = await dev.fundDemoAccounts(3, 5_000_000n);
    expect(accounts).toHaveLength(3);
    expect(new Set(accounts.map((a) => a.id)).size).toBe(3);
    for (const a of accounts) {
      expect(a.balance).toBe('5000000');
      expect(a.seed).toMatch(/^[0-9a-f]{64}$/);
      expect(a.publicKey).toMatch(/^[0-9a-f]{64}$/);
    }
    // The accounts are usable at once: a transfer between two of them.
    const [a, b] = accounts;
    await a!.client.transfer(BigInt(b!.id), 1_000_000n);
    expect(await b!.client.fetchBalance()).toBe(6_000_000n);
    const metrics = await (await fetch(`${dev.url}/metrics`)).text();
    expect(metrics).toContain('gateway_conservation_ok 1');
    expect(metrics).toContain('gateway_user_balances_droplets 15000000');

    expect(await codeOf(dev.fundDemoAccounts(0, 1n))).toBe('GW_BAD_FIELD');
    expect(await codeOf(dev.fundDemoAccounts(1, 0n))).toBe('GW_BAD_AMOUNT');
    await dev.close();
    expect(await refuses(dev.port)).toBe(true);

    // Restarted on the same directory: same gateway key, same accounts and balances.
    const again = await startDevGateway({ dataDir: dir });
    expect(again.publicKey).toBe(dev.publicKey);
    const client = new GatewayClient({
      gatewayKey: again.gateway.ledger.gatewayKey,
      transport: httpTransport({ baseUrl: again.url }),
      account: { id: BigInt(b!.id), seed: Buffer.from(b!.seed, 'hex') },
      links: b!.client.links,
    });
    expect(await client.fetchBalance()).toBe(6_000_000n);
    await again.close();
  });
});
