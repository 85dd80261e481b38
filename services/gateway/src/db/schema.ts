/**
 * The gateway's Postgres schema (drizzle). Money columns are bigint droplets.
 * Account ids are unsigned 64-bit on the wire and stored as the signed bigint
 * with the same bits (see ids.ts); ids below 2^16 are system accounts.
 *
 * Invariants the ledger keeps (and /metrics checks with one query):
 * - every balance change is one `entries` row (debit → credit), so Σ balances = 0
 *   and each account's cached `balance` = Σ credits − Σ debits;
 * - credited deposits − completed withdrawals = Σ user balances + pending withdrawals;
 * - (account, sequence) is unique, log_index is unique and gap-free.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

/** bytea as Uint8Array on both drivers. */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => new Uint8Array(v),
  toDriver: (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength),
});

/** Account kinds: users hold coins; system accounts are the other side of deposits and withdrawals. */
export const ACCOUNT_USER = 0;
export const ACCOUNT_SYSTEM = 1;

export const accounts = pgTable(
  'accounts',
  {
    id: bigint('id', { mode: 'bigint' }).primaryKey(),
    kind: smallint('kind').notNull(),
    publicKey: bytea('public_key'),
    /** Sequence number the next call must carry. */
    nextSequence: bigint('next_sequence', { mode: 'bigint' }).notNull().default(sql`0`),
    /** Hash of the last receipt (32 zero bytes before the first). */
    previous: bytea('previous').notNull(),
    balance: bigint('balance', { mode: 'bigint' }).notNull().default(sql`0`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('user_balance_non_negative', sql`${t.kind} <> 0 OR ${t.balance} >= 0`)],
);

/** One row per applied call: the signed call, its receipt and its log position. */
export const receipts = pgTable(
  'receipts',
  {
    account: bigint('account', { mode: 'bigint' }).notNull(),
    sequence: bigint('sequence', { mode: 'bigint' }).notNull(),
    callHash: bytea('call_hash').notNull(),
    call: jsonb('call').notNull(),
    /** Canonical receipt bytes: the log leaf. */
    receipt: bytea('receipt').notNull(),
    logIndex: bigint('log_index', { mode: 'bigint' }).notNull().unique(),
    leafHash: bytea('leaf_hash').notNull(),
  },
  (t) => [primaryKey({ columns: [t.account, t.sequence] })],
);

/** Double-entry journal: every balance change moves `amount` from `debit` to `credit`. */
export const entries = pgTable(
  'entries',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    debit: bigint('debit', { mode: 'bigint' }).notNull(),
    credit: bigint('credit', { mode: 'bigint' }).notNull(),
    amount: bigint('amount', { mode: 'bigint' }).notNull(),
    /** 'transfer' | 'deposit' | 'withdraw' | 'withdraw_complete' | 'withdraw_refund' */
    kind: text('kind').notNull(),
    /** The log index, deposit id or withdrawal id behind the entry. */
    ref: text('ref').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('amount_positive', sql`${t.amount} > 0`),
    index('entries_debit').on(t.debit),
    index('entries_credit').on(t.credit),
  ],
);

export const depositAddresses = pgTable(
  'deposit_addresses',
  {
    address: text('address').primaryKey(),
    account: bigint('account', { mode: 'bigint' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('deposit_addresses_account').on(t.account)],
);

/** Confirmed on-chain deposits, keyed by the chain's output id so a rescan cannot credit twice. */
export const deposits = pgTable('deposits', {
  id: text('id').primaryKey(),
  address: text('address').notNull(),
  account: bigint('account', { mode: 'bigint' }).notNull(),
  amount: bigint('amount', { mode: 'bigint' }).notNull(),
  creditedAt: timestamp('credited_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Withdrawal states: pending → sending (in a batch) → sent (broadcast) → completed | failed. */
export const withdrawals = pgTable(
  'withdrawals',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    account: bigint('account', { mode: 'bigint' }).notNull(),
    amount: bigint('amount', { mode: 'bigint' }).notNull(),
    address: text('address').notNull(),
    status: text('status').notNull(),
    batchId: bigint('batch_id', { mode: 'bigint' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('withdrawals_status').on(t.status)],
);

/**
 * On-chain withdrawal batches. The row (intent) is written before the
 * transaction is built, txid and raw transaction before it is broadcast, so a
 * restart re-sends the same bytes instead of paying twice.
 * status: intent → signed → broadcast → confirmed | failed.
 */
export const withdrawalBatches = pgTable('withdrawal_batches', {
  id: bigserial('id', { mode: 'bigint' }).primaryKey(),
  status: text('status').notNull(),
  txid: text('txid'),
  rawTx: text('raw_tx'),
  attempts: integer('attempts').notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Signed checkpoints of the transparency log. */
export const checkpoints = pgTable('checkpoints', {
  size: bigint('size', { mode: 'bigint' }).primaryKey(),
  root: bytea('root').notNull(),
  time: bigint('time', { mode: 'bigint' }).notNull(),
  signature: bytea('signature').notNull(),
});

/** Small key/value settings (the development gateway key lives here when none is configured). */
export const meta = pgTable('meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});
