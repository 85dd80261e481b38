/**
 * Skycoin chain adapter: a client of a Skycoin node's REST API (run the node
 * on localhost with -enable-api-sets=READ,STATUS,TXN,WALLET). Every POST
 * carries a fresh CSRF token from GET /api/v1/csrf in X-CSRF-Token.
 *
 * - deposit addresses: POST /api/v1/wallet/newAddress (from the gateway's node wallet; never reused)
 * - deposits: GET /api/v1/outputs?addrs=… (output `hash` is the deposit id;
 *   confirmations = head.seq − block_seq + 1; unconfirmed incoming outputs count 0)
 * - withdrawals: POST /api/v1/wallet/transaction (built and signed by the node
 *   wallet, not broadcast), then POST /api/v1/injectTransaction with the
 *   stored encoded transaction; 400 = permanent rejection, 503/500 = retry
 * - tracking: GET /api/v1/transaction?txid=… (404 = unknown to the node)
 */
import { coinsToDroplets, dropletsToCoins } from '@skymesh/protocol/gateway';
import { isSkycoinAddress } from './base58.js';
import {
  type BuiltTransaction,
  type ChainAdapter,
  type ChainDeposit,
  ChainError,
  type ChainOutput,
  type TxStatus,
} from './types.js';

export interface SkycoinInit {
  /** Node API base, e.g. http://127.0.0.1:6420 */
  nodeUrl: string;
  /** Wallet file id in the node that holds the gateway's coins and deposit addresses. */
  walletId: string;
  walletPassword?: string | undefined;
  /** fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number;
}

interface OutputJson {
  hash: string;
  block_seq: number;
  address: string;
  coins: string;
}

/** Skycoin transactions may only move multiples of 1,000 droplets (3 decimals). */
const SKY_UNIT = 1000n;

export class SkycoinChain implements ChainAdapter {
  readonly name = 'skycoin';
  readonly withdrawalUnit = SKY_UNIT;
  private readonly base: string;
  private readonly f: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly init: SkycoinInit) {
    this.base = init.nodeUrl.replace(/\/$/, '');
    this.f = init.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = init.timeoutMs ?? 10_000;
  }

  private async request(
    path: string,
    method: 'GET' | 'POST',
    body?: { json?: unknown; form?: Record<string, string> },
    retryCsrf = true,
  ): Promise<{ status: number; json: unknown; text: string }> {
    const headers: Record<string, string> = {};
    let payload: string | undefined;
    if (method === 'POST') {
      headers['X-CSRF-Token'] = await this.csrf();
      if (body?.form) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        payload = new URLSearchParams(body.form).toString();
      } else {
        headers['content-type'] = 'application/json';
        payload = JSON.stringify(body?.json ?? {});
      }
    }
    let res: Response | undefined;
    // One retry on a network failure (a kept-alive socket the node just closed).
    // Every request here is safe to repeat: reads, a new address, building an
    // unsent transaction, and injecting the same bytes again.
    for (let attempt = 0; !res; attempt++) {
      try {
        res = await this.f(`${this.base}${path}`, {
          method,
          headers,
          ...(payload === undefined ? {} : { body: payload }),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (e) {
        if (attempt >= 1) throw new ChainError(`skycoin node unreachable: ${String(e)}`, false);
      }
    }
    const text = await res.text();
    if (res.status === 403 && /csrf/i.test(text) && retryCsrf) {
      return this.request(path, method, body, false);
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  }

  private async csrf(): Promise<string> {
    const r = await this.request('/api/v1/csrf', 'GET');
    const token = (r.json as { csrf_token?: unknown } | undefined)?.csrf_token;
    if (r.status !== 200 || typeof token !== 'string') {
      throw new ChainError(`no CSRF token (HTTP ${r.status})`, false);
    }
    return token;
  }

  private ok(r: { status: number; text: string }, what: string): void {
    if (r.status === 200) return;
    // 400 means the node refused the request itself; anything else may pass on retry.
    throw new ChainError(`${what}: HTTP ${r.status} ${r.text.slice(0, 200)}`, r.status === 400);
  }

  async newDepositAddress(): Promise<string> {
    const form: Record<string, string> = { id: this.init.walletId, num: '1' };
    if (this.init.walletPassword) form.password = this.init.walletPassword;
    const r = await this.request('/api/v1/wallet/newAddress', 'POST', { form });
    this.ok(r, 'newAddress');
    const addr = (r.json as { addresses?: unknown[] } | undefined)?.addresses?.[0];
    if (typeof addr !== 'string' || !isSkycoinAddress(addr)) {
      throw new ChainError('node returned no valid address', false);
    }
    return addr;
  }

  validateAddress(address: string): boolean {
    return isSkycoinAddress(address);
  }

  async listDeposits(addresses: readonly string[]): Promise<ChainDeposit[]> {
    const out: ChainDeposit[] = [];
    for (let i = 0; i < addresses.length; i += 100) {
      const addrs = addresses.slice(i, i + 100).join(',');
      const r = await this.request(`/api/v1/outputs?addrs=${encodeURIComponent(addrs)}`, 'GET');
      this.ok(r, 'outputs');
      const j = r.json as {
        head: { seq: number };
        head_outputs: OutputJson[];
        incoming_outputs?: OutputJson[];
      };
      for (const o of j.head_outputs ?? []) {
        out.push({
          id: o.hash,
          address: o.address,
          amount: coinsToDroplets(o.coins),
          confirmations: j.head.seq - o.block_seq + 1,
        });
      }
      for (const o of j.incoming_outputs ?? []) {
        out.push({
          id: o.hash,
          address: o.address,
          amount: coinsToDroplets(o.coins),
          confirmations: 0,
        });
      }
    }
    return out;
  }

  async buildTransaction(outputs: readonly ChainOutput[]): Promise<BuiltTransaction> {
    const r = await this.request('/api/v1/wallet/transaction', 'POST', {
      json: {
        hours_selection: { type: 'auto', mode: 'share', share_factor: '0.5' },
        wallet_id: this.init.walletId,
        to: outputs.map((o) => ({ address: o.address, coins: dropletsToCoins(o.amount) })),
        unsigned: false,
        ignore_unconfirmed: false,
        ...(this.init.walletPassword ? { password: this.init.walletPassword } : {}),
      },
    });
    this.ok(r, 'wallet/transaction');
    const data = (
      r.json as { data?: { transaction?: { txid?: string }; encoded_transaction?: string } }
    )?.data;
    const txid = data?.transaction?.txid;
    const raw = data?.encoded_transaction;
    if (typeof txid !== 'string' || typeof raw !== 'string') {
      throw new ChainError('wallet/transaction answered without a transaction', false);
    }
    return { txid, raw };
  }

  async broadcast(tx: BuiltTransaction): Promise<void> {
    const r = await this.request('/api/v1/injectTransaction', 'POST', { json: { rawtx: tx.raw } });
    this.ok(r, 'injectTransaction');
  }

  async transactionStatus(txid: string): Promise<TxStatus> {
    const r = await this.request(`/api/v1/transaction?txid=${encodeURIComponent(txid)}`, 'GET');
    if (r.status === 404) return { state: 'unknown' };
    this.ok(r, 'transaction');
    const st = (r.json as { status?: { confirmed?: boolean; height?: number } }).status;
    if (!st?.confirmed) return { state: 'pending' };
    // `height` counts the blocks since the transaction's block, that block included.
    return { state: 'confirmed', confirmations: Math.max(1, st.height ?? 1) };
  }
}
