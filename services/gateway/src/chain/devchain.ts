/**
 * devchain: an embedded development chain for tests and the local mesh. It
 * has addresses ("dev1" + 40 hex digits), a faucet that pays any address,
 * blocks that confirm everything waiting, and transactions that pay
 * withdrawal outputs. State can be kept in a JSON file so a restarted
 * gateway finds its broadcast withdrawals again.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { randomBytes, sha256, toHex, utf8 } from '@skymesh/crypto';
import type {
  BuiltTransaction,
  ChainAdapter,
  ChainDeposit,
  ChainOutput,
  TxStatus,
} from './types.js';

interface DevOutput {
  id: string;
  address: string;
  amount: string;
  height: number | null;
}

interface DevState {
  height: number;
  outputs: DevOutput[];
  txs: Record<string, { height: number | null }>;
}

export interface DevChainInit {
  /** JSON file to keep the chain in across restarts. @default none (memory) */
  file?: string | undefined;
}

const ADDRESS = /^dev1[0-9a-f]{40}$/;

export class DevChain implements ChainAdapter {
  readonly name = 'devchain';
  readonly withdrawalUnit = 1n;
  private state: DevState = { height: 0, outputs: [], txs: {} };
  private readonly file: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(init: DevChainInit = {}) {
    this.file = init.file;
    if (this.file) {
      try {
        this.state = JSON.parse(readFileSync(this.file, 'utf8')) as DevState;
      } catch {
        // no file yet: a new chain
      }
    }
  }

  private save(): void {
    if (!this.file) return;
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.state));
    renameSync(`${this.file}.tmp`, this.file);
  }

  /** Current block height. */
  get height(): number {
    return this.state.height;
  }

  async newDepositAddress(): Promise<string> {
    return `dev1${toHex(randomBytes(20))}`;
  }

  validateAddress(address: string): boolean {
    return ADDRESS.test(address);
  }

  /** Pays `amount` droplets to `address` (unconfirmed until the next block). Returns the output id. */
  faucet(address: string, amount: bigint): string {
    if (!this.validateAddress(address) || amount <= 0n) throw new RangeError('bad faucet request');
    const id = `faucet-${toHex(randomBytes(16))}`;
    this.state.outputs.push({ id, address, amount: amount.toString(), height: null });
    this.save();
    return id;
  }

  /** Makes `n` blocks; the first confirms every waiting output and transaction. */
  mine(n = 1): number {
    for (let i = 0; i < n; i++) {
      this.state.height++;
      for (const o of this.state.outputs) if (o.height === null) o.height = this.state.height;
      for (const t of Object.values(this.state.txs))
        if (t.height === null) t.height = this.state.height;
    }
    this.save();
    return this.state.height;
  }

  /** Mines a block every `ms` (stop with close()). */
  autoMine(ms: number): void {
    this.timer = setInterval(() => this.mine(), ms);
    this.timer.unref();
  }

  private confirmations(height: number | null): number {
    return height === null ? 0 : this.state.height - height + 1;
  }

  async listDeposits(addresses: readonly string[]): Promise<ChainDeposit[]> {
    const want = new Set(addresses);
    return this.state.outputs
      .filter((o) => want.has(o.address))
      .map((o) => ({
        id: o.id,
        address: o.address,
        amount: BigInt(o.amount),
        confirmations: this.confirmations(o.height),
      }));
  }

  async buildTransaction(outputs: readonly ChainOutput[]): Promise<BuiltTransaction> {
    const raw = toHex(
      utf8(
        JSON.stringify({
          nonce: toHex(randomBytes(8)),
          to: outputs.map((o) => [o.address, o.amount.toString()]),
        }),
      ),
    );
    return { txid: toHex(sha256(utf8(raw))), raw };
  }

  async broadcast(tx: BuiltTransaction): Promise<void> {
    if (this.state.txs[tx.txid]) return; // same bytes again: nothing new
    this.state.txs[tx.txid] = { height: null };
    const body = JSON.parse(Buffer.from(tx.raw, 'hex').toString('utf8')) as {
      to: [string, string][];
    };
    body.to.forEach(([address, amount], i) => {
      this.state.outputs.push({ id: `${tx.txid}:${i}`, address, amount, height: null });
    });
    this.save();
  }

  async transactionStatus(txid: string): Promise<TxStatus> {
    const t = this.state.txs[txid];
    if (!t) return { state: 'unknown' };
    if (t.height === null) return { state: 'pending' };
    return { state: 'confirmed', confirmations: this.confirmations(t.height) };
  }

  /** Coins paid to `address` by confirmed and unconfirmed outputs (for tests). */
  received(address: string): bigint {
    return this.state.outputs
      .filter((o) => o.address === address)
      .reduce((s, o) => s + BigInt(o.amount), 0n);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }
}
