/**
 * The ledger: executes signed calls against Postgres with group commit.
 *
 * Calls are verified (signature, field ranges) as they arrive, then queued;
 * one writer takes up to `batchMax` queued calls at a time and applies them
 * in ONE transaction: it takes the log's advisory lock, locks every account
 * row the batch touches in ascending id order (the fixed order every other
 * writer uses too, so there are no deadlocks and no lost updates), runs the
 * calls in arrival order against those rows in memory, and writes receipts,
 * journal entries and balances with a few multi-row statements. Only after
 * COMMIT are the receipts appended to the in-memory Merkle tree and returned,
 * so a call is acknowledged only once durable, and a crash leaves all of a
 * batch or none of it. A call rejected for a business reason (funds,
 * sequence…) changes nothing and does not consume its sequence number.
 *
 * Idempotency by (account, sequence): a call whose sequence was already used
 * gets the stored receipt if it is the same call (same hash), else
 * GW_SEQUENCE_REUSED.
 */
import { ed25519PublicKey, equalBytes, sha256 } from '@skymesh/crypto';
import {
  addressResult,
  type CallJson,
  type Checkpoint,
  callHash,
  callSigningBytes,
  callToJson,
  decodeReceipt,
  encodeReceipt,
  GatewayError,
  historyResult,
  leafHash,
  MAX_AMOUNT,
  MAX_RESULT_LEN,
  MerkleTree,
  MIN_WITHDRAWAL,
  type Receipt,
  type ReceiptJson,
  receiptToJson,
  type SignedCall,
  STATUS_OK,
  signCheckpoint,
  signReceipt,
  withdrawalResult,
  ZERO_HASH,
} from '@skymesh/protocol/gateway';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { ChainAdapter } from './chain/types.js';
import { type CryptoPool, createCryptoPool, defaultPoolSize } from './crypto-pool.js';
import {
  big,
  bytes,
  type Database,
  type Db,
  hexArray,
  idFromDb,
  idToDb,
  intArray,
  param,
  type RawSql,
  rows,
  textArray,
} from './db/client.js';
import type { Posting } from './postings.js';

/** System accounts: the other side of every deposit and withdrawal. */
export const SYSTEM = {
  /** Source of deposited coins; its balance is −(credited deposits). */
  deposits: 1n,
  /** Withdrawals debited from users but not yet confirmed on chain. */
  pending: 2n,
  /** Sink of completed withdrawals. */
  withdrawn: 3n,
} as const;

/** Key of the transaction-scoped advisory lock serialising log appends. */
const LOG_LOCK = 0x5359_4d4c; // "SYML"

export interface CallResult {
  receipt: Receipt;
  history?: { call: CallJson; receipt: ReceiptJson }[];
}

export interface LedgerOptions {
  /** The database: drizzle for the occasional query, raw transactions for batches. */
  database: Database;
  gatewaySeed: Uint8Array;
  chain: ChainAdapter;
  logger?: Logger | undefined;
  /** Most calls in one transaction. @default 512 */
  batchMax?: number | undefined;
  /** Most calls waiting; beyond it calls fail with GW_BUSY. @default 20000 */
  queueMax?: number | undefined;
  /** Worker threads verifying calls and signing receipts (0: on this thread). @default defaultPoolSize() */
  cryptoWorkers?: number | undefined;
  /** Clock in ms since the epoch. @default Date.now */
  now?: (() => bigint) | undefined;
}

interface Item {
  call: SignedCall;
  hash: Uint8Array;
  /** The key the signature was verified with. */
  key: Uint8Array;
  resolve: (r: CallResult) => void;
  reject: (e: unknown) => void;
}

/** A call's place in the intake while its key and signature are checked. */
interface Ticket {
  done: boolean;
  item?: Item;
  error?: unknown;
  resolve?: (r: CallResult) => void;
  reject?: (e: unknown) => void;
}

interface AccountRow {
  id: bigint;
  kind: number;
  publicKey: Uint8Array | null;
  nextSequence: bigint;
  previous: Uint8Array;
  balance: bigint;
  isNew?: boolean;
  dirty?: boolean;
  /** The receipt being signed for this account's latest call; sets `previous` when done. */
  signing?: Promise<unknown>;
}

/** A receipts-table row, written after the batch's calls ran. */
interface ReceiptRow {
  account: bigint;
  sequence: bigint;
  callHash: Uint8Array;
  /** The call's JSON text (history answers with it). */
  call: string;
  receipt: Uint8Array;
  logIndex: bigint;
  leafHash: Uint8Array;
}

interface Produced {
  item: Item;
  result: CallResult;
  /** Set for a newly applied call (absent for a replayed receipt). */
  leaf?: Uint8Array;
}

/** A receipt once the pool has signed it. */
interface Signed {
  result: CallResult;
  leaf: Uint8Array;
  encoded: Uint8Array;
}

/** A call applied in the current batch whose receipt is being signed. */
interface Applied {
  item: Item;
  signed: Promise<Signed>;
}

/** Bounded cache of account public keys (keys never change once created). */
const KEY_CACHE_MAX = 200_000;

export class Ledger {
  readonly gatewayKey: Uint8Array;
  private readonly db: Db;
  private readonly database: Database;
  private readonly seed: Uint8Array;
  private readonly chain: ChainAdapter;
  private readonly log: Logger | undefined;
  private readonly batchMax: number;
  private readonly queueMax: number;
  private readonly now: () => bigint;
  private readonly pool: CryptoPool;
  private tree = new MerkleTree();
  private readonly keys = new Map<bigint, Uint8Array>();
  private queue: Item[] = [];
  /** Calls being checked, in arrival order; `intakeHead` is the first not yet released. */
  private intake: Ticket[] = [];
  private intakeHead = 0;
  private running: Promise<void> | undefined;
  private closed = false;
  /** Counters for /metrics. */
  readonly stats = {
    applied: 0,
    replayed: 0,
    rejected: 0,
    batches: 0,
    batchFailures: 0,
    /** Wall ms inside committed batch transactions (BEGIN … COMMIT). */
    txMs: 0,
    /** Wall ms of those spent waiting for SQL statements. */
    sqlMs: 0,
    /** Wall ms of those spent waiting for receipt signatures after the batch's calls ran. */
    signWaitMs: 0,
  };

  private constructor(opts: LedgerOptions) {
    this.database = opts.database;
    this.db = opts.database.db;
    this.seed = opts.gatewaySeed;
    this.gatewayKey = ed25519PublicKey(opts.gatewaySeed);
    this.chain = opts.chain;
    this.log = opts.logger;
    this.batchMax = opts.batchMax ?? 512;
    this.queueMax = opts.queueMax ?? 20_000;
    this.now = opts.now ?? (() => BigInt(Date.now()));
    this.pool = createCryptoPool(opts.gatewaySeed, opts.cryptoWorkers ?? defaultPoolSize());
  }

  /** Creates the system accounts if missing and loads the log's tree. */
  static async open(opts: LedgerOptions): Promise<Ledger> {
    const l = new Ledger(opts);
    await l.checkPool();
    for (const id of Object.values(SYSTEM)) {
      await l.db.execute(sql`INSERT INTO accounts (id, kind, previous, balance)
        VALUES (${id.toString()}::bigint, 1, ${param(ZERO_HASH)}, 0) ON CONFLICT (id) DO NOTHING`);
    }
    await l.reloadTree();
    return l;
  }

  /**
   * Signs one throwaway receipt through the pool and compares it with the
   * inline signature, so a pool that cannot start (or would sign
   * differently) stops the gateway at start, not at its first call.
   */
  private async checkPool(): Promise<void> {
    const probe: Omit<Receipt, 'signature'> = {
      type: 'balance',
      account: 0n,
      sequence: 0n,
      callHash: ZERO_HASH,
      status: STATUS_OK,
      balance: 0n,
      time: 0n,
      logIndex: 0n,
      previous: ZERO_HASH,
      result: new Uint8Array(0),
    };
    try {
      const got = await this.pool.signReceipt(probe);
      if (equalBytes(got, signReceipt(this.seed, probe).signature)) return;
      throw new Error('the signature pool signs differently');
    } catch (e) {
      await this.pool.close();
      throw e;
    }
  }

  /** Rebuilds the in-memory Merkle tree from the receipts table. */
  private async reloadTree(): Promise<void> {
    const tree = new MerkleTree();
    const page = 50_000;
    for (;;) {
      const r = await rows<{ leaf_hash: unknown; log_index: unknown }>(
        this.db,
        sql`SELECT leaf_hash, log_index FROM receipts WHERE log_index >= ${tree.size}
            ORDER BY log_index LIMIT ${page}`,
      );
      for (const row of r) {
        if (big(row.log_index) !== BigInt(tree.size)) throw new Error('transparency log has a gap');
        tree.append(bytes(row.leaf_hash));
      }
      if (r.length < page) break;
    }
    this.tree = tree;
  }

  /** Number of receipts in the log. */
  get logSize(): number {
    return this.tree.size;
  }

  /** Calls waiting for the writer. */
  get queueLength(): number {
    return this.queue.length;
  }

  /**
   * Verifies and executes a signed call; resolves with its receipt once committed.
   * @throws GatewayError with the rejection code.
   */
  async submit(call: SignedCall): Promise<CallResult> {
    if (this.closed) throw new GatewayError('GW_UNAVAILABLE', 'gateway is shutting down');
    if (this.queue.length + this.intake.length - this.intakeHead >= this.queueMax) {
      throw new GatewayError('GW_BUSY', 'too many calls in flight; retry later');
    }
    // The call's place in line is taken now: checks finish out of order (key
    // lookups, pool threads), but calls reach the writer in arrival order.
    const ticket: Ticket = { done: false };
    this.intake.push(ticket);
    const result = new Promise<CallResult>((resolve, reject) => {
      ticket.resolve = resolve;
      ticket.reject = reject;
    });
    try {
      const key =
        call.type === 'create_account' ? call.publicKey : await this.publicKey(call.account);
      // Checked in the pool, beside the writer (which may be running a batch now).
      const ok = await this.pool.verify(
        key,
        callSigningBytes(this.gatewayKey, call),
        call.signature,
      );
      if (!ok) {
        this.stats.rejected++;
        throw new GatewayError('GW_BAD_SIGNATURE', 'call is not signed by the account key');
      }
      ticket.item = {
        call,
        hash: callHash(this.gatewayKey, call),
        key,
        resolve: ticket.resolve!,
        reject: ticket.reject!,
      };
    } catch (e) {
      ticket.error = e;
    }
    ticket.done = true;
    this.releaseIntake();
    return result;
  }

  /** Moves checked calls from the head of the intake to the writer's queue, in arrival order. */
  private releaseIntake(): void {
    while (this.intakeHead < this.intake.length && this.intake[this.intakeHead]!.done) {
      const t = this.intake[this.intakeHead++]!;
      if (t.item && !this.closed) this.queue.push(t.item);
      else if (t.error instanceof GatewayError) t.reject!(t.error);
      else if (this.closed) {
        t.reject!(new GatewayError('GW_UNAVAILABLE', 'gateway is shutting down; retry later'));
      } else {
        this.log?.error({ err: t.error }, 'signature check failed');
        t.reject!(new GatewayError('GW_INTERNAL', 'the call could not be checked'));
      }
    }
    if (this.intakeHead > 1024 && this.intakeHead * 2 > this.intake.length) {
      this.intake.splice(0, this.intakeHead);
      this.intakeHead = 0;
    }
    this.pump();
  }

  private async publicKey(account: bigint): Promise<Uint8Array> {
    const hit = this.keys.get(account);
    if (hit) return hit;
    const r = await rows<{ public_key: unknown }>(
      this.db,
      sql`SELECT public_key FROM accounts WHERE id = ${idToDb(account).toString()}::bigint AND kind = 0`,
    );
    const row = r[0];
    if (!row) throw new GatewayError('GW_UNKNOWN_ACCOUNT', 'no such account');
    const key = bytes(row.public_key);
    this.remember(account, key);
    return key;
  }

  private remember(account: bigint, key: Uint8Array): void {
    if (this.keys.size >= KEY_CACHE_MAX) this.keys.delete(this.keys.keys().next().value as bigint);
    this.keys.set(account, key);
  }

  private pump(): void {
    if (this.running) return;
    this.running = (async () => {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.batchMax);
        await this.runBatch(batch);
      }
    })().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) this.pump();
    });
  }

  /** Applies a batch in one transaction; if the transaction fails, retries its calls one by one. */
  private async runBatch(batch: Item[]): Promise<void> {
    let produced: Produced[];
    const rejected: [Item, unknown][] = [];
    const t0 = performance.now();
    const stats = this.stats;
    // Time with at least one statement outstanding (statements overlap when pipelined).
    let outstanding = 0;
    let since = 0;
    try {
      produced = await this.database.transaction((tx) =>
        this.applyBatch(
          {
            async query<T>(text: string, params: readonly (string | null)[]) {
              if (outstanding++ === 0) since = performance.now();
              try {
                return await tx.query<T>(text, params);
              } finally {
                if (--outstanding === 0) stats.sqlMs += performance.now() - since;
              }
            },
          },
          batch,
          rejected,
        ),
      );
      this.stats.txMs += performance.now() - t0;
    } catch (e) {
      this.stats.batchFailures++;
      this.log?.error({ err: e, size: batch.length }, 'batch transaction failed');
      await this.reloadTree().catch(() => {});
      if (batch.length > 1) {
        for (const item of batch) await this.runBatch([item]);
      } else {
        batch[0]!.reject(new GatewayError('GW_INTERNAL', 'the call could not be committed'));
      }
      return;
    }
    this.stats.batches++;
    // Committed: now the tree and the callers may see it.
    for (const p of produced) {
      if (p.leaf) {
        this.tree.append(p.leaf);
        this.stats.applied++;
      } else {
        this.stats.replayed++;
      }
      if (p.item.call.type === 'create_account' && p.leaf) {
        this.remember(p.item.call.account, p.item.call.publicKey);
      }
      p.item.resolve(p.result);
    }
    for (const [item, err] of rejected) {
      this.stats.rejected++;
      item.reject(err);
    }
  }

  private async applyBatch(
    db: RawSql,
    batch: Item[],
    rejected: [Item, unknown][],
  ): Promise<Produced[]> {
    rejected.length = 0;
    // Lock every row the batch can touch, in ascending id order.
    const ids = new Set<bigint>();
    for (const { call } of batch) {
      ids.add(idToDb(call.account));
      if (call.type === 'transfer') ids.add(idToDb(call.to));
      if (call.type === 'withdraw') ids.add(SYSTEM.pending);
    }
    const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // Three statements sent at once (pipelined: one round trip). The server runs
    // them in order, so the log head and the rows are read under the log lock.
    const [, [head], locked] = await Promise.all([
      db.query('SELECT pg_advisory_xact_lock($1::bigint)', [String(LOG_LOCK)]),
      db.query<{ n: unknown }>('SELECT coalesce(max(log_index) + 1, 0) AS n FROM receipts', []),
      db.query<Record<string, unknown>>(
        `SELECT id, kind, public_key, next_sequence, previous, balance FROM accounts
         WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
        [intArray(sorted)],
      ),
    ]);
    if (big(head!.n) !== BigInt(this.tree.size)) throw new Error('log moved under this writer');
    const acc = new Map<bigint, AccountRow>();
    for (const r of locked) {
      const id = idFromDb(r.id);
      acc.set(id, {
        id,
        kind: Number(r.kind),
        publicKey: r.public_key == null ? null : bytes(r.public_key),
        nextSequence: big(r.next_sequence),
        previous: bytes(r.previous),
        balance: big(r.balance),
      });
    }

    const slots: (Produced | Applied)[] = [];
    let appliedCount = 0;
    const entryRows: Posting[] = [];
    const withdrawalRows: { id: bigint; account: bigint; amount: bigint; address: string }[] = [];
    const addressRows: { address: string; account: bigint }[] = [];
    const time = this.now();
    // Calls applied earlier in this batch, by "account:sequence": their rows are not written yet.
    const applied = new Map<string, Applied>();

    for (const item of batch) {
      try {
        const out = await this.applyOne(db, item, acc, {
          applied,
          logIndex: BigInt(this.tree.size + appliedCount),
          time,
          entries: entryRows,
          withdrawals: withdrawalRows,
          addresses: addressRows,
        });
        if ('replay' in out) {
          slots.push({ item, result: out.replay });
        } else {
          // Handled here so a batch that fails before awaiting it leaves no unhandled rejection.
          out.signed.catch(() => {});
          const slot: Applied = { item, signed: out.signed };
          slots.push(slot);
          applied.set(`${item.call.account}:${item.call.sequence}`, slot);
          appliedCount++;
        }
      } catch (e) {
        if (!(e instanceof GatewayError)) throw e;
        rejected.push([item, e]);
      }
    }

    // Journal entries, withdrawals and deposit addresses need no signature:
    // sent now, while the pool finishes signing the receipts.
    const early = this.writeUnsigned(db, entryRows, withdrawalRows, addressRows);
    early.catch(() => {}); // awaited below; a failure then fails the batch
    // The pool signed the receipts while the loop ran; collect them in log order.
    const s0 = performance.now();
    const produced: Produced[] = [];
    const receiptRows: ReceiptRow[] = [];
    for (const slot of slots) {
      if (!('signed' in slot)) {
        produced.push(slot);
        continue;
      }
      const { item } = slot;
      const s = await slot.signed;
      receiptRows.push({
        account: item.call.account,
        sequence: item.call.sequence,
        callHash: item.hash,
        call: JSON.stringify(callToJson(item.call)),
        receipt: s.encoded,
        logIndex: s.result.receipt.logIndex,
        leafHash: s.leaf,
      });
      produced.push({ item, result: s.result, leaf: s.leaf });
    }
    this.stats.signWaitMs += performance.now() - s0;
    await Promise.all([early, this.writeSigned(db, acc, receiptRows)]);
    return produced;
  }

  private async applyOne(
    db: RawSql,
    item: Item,
    acc: Map<bigint, AccountRow>,
    ctx: {
      applied: Map<string, Applied>;
      logIndex: bigint;
      time: bigint;
      entries: Posting[];
      withdrawals: { id: bigint; account: bigint; amount: bigint; address: string }[];
      addresses: { address: string; account: bigint }[];
    },
  ): Promise<{ replay: CallResult } | { signed: Promise<Signed> }> {
    const { call } = item;
    let a = acc.get(call.account);
    if (call.type === 'create_account' && !a) {
      if (call.sequence !== 0n)
        throw new GatewayError('GW_BAD_SEQUENCE', 'create_account is call 0');
      if (!equalBytes(call.previous, ZERO_HASH)) {
        throw new GatewayError('GW_BAD_PREVIOUS', 'create_account has a zero previous hash');
      }
      a = {
        id: call.account,
        kind: 0,
        publicKey: call.publicKey,
        nextSequence: 0n,
        previous: ZERO_HASH,
        balance: 0n,
        isNew: true,
      };
    }
    if (a?.kind !== 0) throw new GatewayError('GW_UNKNOWN_ACCOUNT', 'no such account');
    if (call.sequence < a.nextSequence) return { replay: await this.replay(db, item, ctx.applied) };
    // A second call of this account in the batch: its `previous` is the hash of
    // a receipt still being signed.
    if (a.signing) await a.signing;
    if (call.type === 'create_account' && !a.isNew) {
      throw new GatewayError('GW_ACCOUNT_EXISTS', 'account id already taken');
    }
    if (call.sequence > a.nextSequence) {
      throw new GatewayError('GW_BAD_SEQUENCE', 'sequence is ahead of the account', {
        expected: a.nextSequence.toString(),
      });
    }
    if (!equalBytes(call.previous, a.previous)) {
      throw new GatewayError('GW_BAD_PREVIOUS', 'previous receipt hash does not match');
    }
    // The signature was checked on arrival against the cached key; it must be this row's key.
    if (!a.publicKey || !equalBytes(a.publicKey, item.key)) {
      throw new GatewayError('GW_BAD_SIGNATURE', 'call is not signed by the account key');
    }

    let result: Uint8Array = new Uint8Array(0);
    let history: CallResult['history'];
    const ref = ctx.logIndex.toString();
    // A balance change in memory and its journal entry (written with the batch).
    const move = (from: AccountRow, to: AccountRow, amount: bigint, kind: string) => {
      from.balance -= amount;
      to.balance += amount;
      to.dirty = true;
      ctx.entries.push({ debit: from.id, credit: to.id, amount, kind, ref });
    };
    switch (call.type) {
      case 'transfer': {
        const to = acc.get(call.to);
        if (call.to === call.account) throw new GatewayError('GW_SELF_TRANSFER', 'self transfer');
        if (to?.kind !== 0) throw new GatewayError('GW_UNKNOWN_RECIPIENT', 'no such recipient');
        if (a.balance < call.amount)
          throw new GatewayError('GW_INSUFFICIENT_FUNDS', 'insufficient funds');
        if (to.balance > MAX_AMOUNT - call.amount) {
          throw new GatewayError('GW_AMOUNT_TOO_LARGE', 'recipient balance would overflow');
        }
        move(a, to, call.amount, 'transfer');
        break;
      }
      case 'withdraw': {
        if (call.amount < MIN_WITHDRAWAL) {
          throw new GatewayError('GW_BELOW_MINIMUM', 'withdrawals need at least one whole coin');
        }
        if (call.amount % this.chain.withdrawalUnit !== 0n) {
          throw new GatewayError('GW_BAD_AMOUNT', 'amount is finer than the chain allows', {
            unit: this.chain.withdrawalUnit.toString(),
          });
        }
        if (!this.chain.validateAddress(call.address)) {
          throw new GatewayError('GW_BAD_ADDRESS', 'not an address of this chain');
        }
        if (a.balance < call.amount)
          throw new GatewayError('GW_INSUFFICIENT_FUNDS', 'insufficient funds');
        const pending = acc.get(SYSTEM.pending)!;
        const [{ id }] = (await db.query<{ id: unknown }>(
          "SELECT nextval(pg_get_serial_sequence('withdrawals', 'id')) AS id",
          [],
        )) as [{ id: unknown }];
        const wid = big(id);
        move(a, pending, call.amount, 'withdraw');
        ctx.withdrawals.push({
          id: wid,
          account: a.id,
          amount: call.amount,
          address: call.address,
        });
        result = withdrawalResult(wid);
        break;
      }
      case 'deposit_address': {
        let address: string;
        try {
          address = await this.chain.newDepositAddress(call.account);
        } catch (e) {
          // Only this call fails; the rest of the batch goes on.
          this.log?.warn({ err: String(e) }, 'no deposit address from the chain');
          throw new GatewayError('GW_UNAVAILABLE', 'the chain is unavailable; retry later');
        }
        ctx.addresses.push({ address, account: a.id });
        result = addressResult(address);
        break;
      }
      case 'history': {
        const r = await db.query<{ call: unknown; receipt: unknown }>(
          `SELECT call, receipt FROM receipts WHERE account = $1::bigint
           AND sequence >= $2::bigint ORDER BY sequence LIMIT $3::int`,
          [idToDb(a.id).toString(), call.fromSequence.toString(), String(call.limit)],
        );
        history = r.map((row) => ({
          call: (typeof row.call === 'string' ? JSON.parse(row.call) : row.call) as CallJson,
          receipt: receiptToJson(decodeReceipt(bytes(row.receipt))),
        }));
        result = historyResult(history.length);
        break;
      }
      default:
        break;
    }
    const unsigned: Omit<Receipt, 'signature'> = {
      type: call.type,
      account: call.account,
      sequence: call.sequence,
      callHash: item.hash,
      status: STATUS_OK,
      balance: a.balance,
      time: ctx.time,
      logIndex: ctx.logIndex,
      previous: call.previous,
      result,
    };
    if (result.length > MAX_RESULT_LEN) {
      throw new GatewayError('GW_BAD_FIELD', 'receipt result too long', { field: 'result' });
    }
    a.nextSequence = call.sequence + 1n;
    a.dirty = true;
    acc.set(a.id, a);
    const account = a;
    const signed = this.pool.signReceipt(unsigned).then((signature): Signed => {
      const receipt: Receipt = { ...unsigned, signature };
      const encoded = encodeReceipt(receipt);
      // receiptHash(receipt) is SHA-256 of this same encoding; hash it once.
      account.previous = sha256(encoded);
      return {
        result: { receipt, ...(history ? { history } : {}) },
        leaf: leafHash(encoded),
        encoded,
      };
    });
    a.signing = signed;
    return { signed };
  }

  /** The stored receipt for an already-used sequence, if the call is the same. */
  private async replay(db: RawSql, item: Item, applied: Map<string, Applied>): Promise<CallResult> {
    const same = applied.get(`${item.call.account}:${item.call.sequence}`);
    if (same) {
      if (equalBytes(same.item.hash, item.hash)) return (await same.signed).result;
      throw new GatewayError('GW_SEQUENCE_REUSED', 'another call already used this sequence');
    }
    const r = await db.query<{ call_hash: unknown; receipt: unknown }>(
      'SELECT call_hash, receipt FROM receipts WHERE account = $1::bigint AND sequence = $2::bigint',
      [idToDb(item.call.account).toString(), item.call.sequence.toString()],
    );
    const row = r[0];
    if (!row || !equalBytes(bytes(row.call_hash), item.hash)) {
      if (item.call.type === 'create_account') {
        throw new GatewayError('GW_ACCOUNT_EXISTS', 'account id already taken');
      }
      throw new GatewayError('GW_SEQUENCE_REUSED', 'another call already used this sequence');
    }
    return { receipt: decodeReceipt(bytes(row.receipt)) };
  }

  /**
   * Writes a batch's rows with one fixed-text statement per table: columns go
   * as arrays and `unnest` turns them back into rows, so the statements are
   * prepared once per connection and their size does not grow with the batch.
   * The statements of each group are sent together (pipelined).
   */
  private async writeSigned(
    db: RawSql,
    acc: Map<bigint, AccountRow>,
    receiptRows: ReceiptRow[],
  ): Promise<void> {
    const writes: Promise<unknown>[] = [];
    const created: AccountRow[] = [];
    const changed: AccountRow[] = [];
    for (const a of acc.values()) if (a.dirty) (a.isNew ? created : changed).push(a);
    const ids = (list: AccountRow[]) => intArray(list.map((a) => idToDb(a.id)));
    if (created.length > 0) {
      writes.push(
        db.query(
          `INSERT INTO accounts (id, kind, public_key, next_sequence, previous, balance)
         SELECT id, 0, decode(k, 'hex'), s, decode(p, 'hex'), b
         FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::bigint[]) AS v(id, k, s, p, b)`,
          [
            ids(created),
            hexArray(created.map((a) => a.publicKey!)),
            intArray(created.map((a) => a.nextSequence)),
            hexArray(created.map((a) => a.previous)),
            intArray(created.map((a) => a.balance)),
          ],
        ),
      );
    }
    if (changed.length > 0) {
      writes.push(
        db.query(
          `UPDATE accounts AS a SET balance = v.b, next_sequence = v.s, previous = decode(v.p, 'hex')
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[]) AS v(id, b, s, p)
         WHERE a.id = v.id`,
          [
            ids(changed),
            intArray(changed.map((a) => a.balance)),
            intArray(changed.map((a) => a.nextSequence)),
            hexArray(changed.map((a) => a.previous)),
          ],
        ),
      );
    }
    if (receiptRows.length > 0) {
      writes.push(
        db.query(
          `INSERT INTO receipts (account, sequence, call_hash, call, receipt, log_index, leaf_hash)
         SELECT a, s, decode(h, 'hex'), c::jsonb, decode(r, 'hex'), i, decode(l, 'hex')
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])
           AS v(a, s, h, c, r, i, l)`,
          [
            intArray(receiptRows.map((r) => idToDb(r.account))),
            intArray(receiptRows.map((r) => r.sequence)),
            hexArray(receiptRows.map((r) => r.callHash)),
            textArray(receiptRows.map((r) => r.call)),
            hexArray(receiptRows.map((r) => r.receipt)),
            intArray(receiptRows.map((r) => r.logIndex)),
            hexArray(receiptRows.map((r) => r.leafHash)),
          ],
        ),
      );
    }
    await Promise.all(writes);
  }

  /** The batch's rows that do not wait for receipt signatures. */
  private async writeUnsigned(
    db: RawSql,
    entryRows: Posting[],
    withdrawalRows: { id: bigint; account: bigint; amount: bigint; address: string }[],
    addressRows: { address: string; account: bigint }[],
  ): Promise<void> {
    const writes: Promise<unknown>[] = [];
    if (entryRows.length > 0) writes.push(insertEntries(db, entryRows));
    if (withdrawalRows.length > 0) {
      writes.push(
        db.query(
          `INSERT INTO withdrawals (id, account, amount, address, status)
         SELECT id, a, m, d, 'pending' FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[])
           AS v(id, a, m, d)`,
          [
            intArray(withdrawalRows.map((w) => w.id)),
            intArray(withdrawalRows.map((w) => idToDb(w.account))),
            intArray(withdrawalRows.map((w) => w.amount)),
            textArray(withdrawalRows.map((w) => w.address)),
          ],
        ),
      );
    }
    if (addressRows.length > 0) {
      writes.push(
        db.query(
          `INSERT INTO deposit_addresses (address, account)
         SELECT d, a FROM unnest($1::text[], $2::bigint[]) AS v(d, a)`,
          [
            textArray(addressRows.map((d) => d.address)),
            intArray(addressRows.map((d) => idToDb(d.account))),
          ],
        ),
      );
    }
    await Promise.all(writes);
  }

  /** Waits until every queued call has been committed or rejected, then refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
    await this.pool.close();
  }

  // ---- transparency log -------------------------------------------------

  /** Signs and stores a checkpoint at the current log size. */
  async checkpoint(): Promise<Checkpoint> {
    const size = this.tree.size;
    const cp = signCheckpoint(this.seed, this.gatewayKey, {
      size: BigInt(size),
      root: this.tree.root(size),
      time: this.now(),
    });
    await this.db.execute(sql`INSERT INTO checkpoints (size, root, time, signature)
      VALUES (${size}, ${param(cp.root)}, ${cp.time.toString()}::bigint, ${param(cp.signature)})
      ON CONFLICT (size) DO NOTHING`);
    return cp;
  }

  /** The newest stored checkpoint (one is made if none exists yet). */
  async latestCheckpoint(): Promise<Checkpoint> {
    const r = await rows<Record<string, unknown>>(
      this.db,
      sql`SELECT size, root, time, signature FROM checkpoints ORDER BY size DESC LIMIT 1`,
    );
    const row = r[0];
    if (!row) return this.checkpoint();
    return {
      size: big(row.size),
      root: bytes(row.root),
      time: big(row.time),
      signature: bytes(row.signature),
    };
  }

  /** Makes a checkpoint if the log grew since the last one. */
  async checkpointIfGrown(): Promise<void> {
    const last = await this.latestCheckpoint();
    if (BigInt(this.tree.size) > last.size) await this.checkpoint();
  }

  inclusionProof(index: number, size: number): Uint8Array[] {
    return this.tree.inclusionProof(index, size);
  }

  consistencyProof(first: number, second: number): Uint8Array[] {
    return this.tree.consistencyProof(first, second);
  }

  /** Encoded receipts (log leaves) from `start`, at most `count`. */
  async leaves(start: number, count: number): Promise<Uint8Array[]> {
    const r = await rows<{ receipt: unknown }>(
      this.db,
      sql`SELECT receipt FROM receipts WHERE log_index >= ${start} AND log_index < ${start + count}
          AND log_index < ${this.tree.size} ORDER BY log_index`,
    );
    return r.map((row) => bytes(row.receipt));
  }
}

/** Inserts journal entries (shared by calls, deposits and withdrawals), in one statement. */
export async function insertEntries(db: RawSql, list: readonly Posting[]): Promise<void> {
  await db.query(
    `INSERT INTO entries (debit, credit, amount, kind, ref)
     SELECT d, c, m, k, r FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[])
       AS v(d, c, m, k, r)`,
    [
      intArray(list.map((e) => idToDb(e.debit))),
      intArray(list.map((e) => idToDb(e.credit))),
      intArray(list.map((e) => e.amount)),
      textArray(list.map((e) => e.kind)),
      textArray(list.map((e) => e.ref)),
    ],
  );
}
