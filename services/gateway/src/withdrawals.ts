/**
 * Withdrawal processor: moves withdrawals from the ledger to the chain in
 * batches, crash-safely. Every step is written before the next side effect:
 *
 *   pending ──(batch row "intent" committed)──▶ sending
 *   intent ──(tx built and signed; txid + raw bytes committed)──▶ signed
 *   signed ──(broadcast; the same bytes every time)──▶ broadcast / sent
 *   broadcast ──(enough confirmations)──▶ confirmed / completed
 *
 * A restart resumes each batch from its stored state. Nothing is broadcast
 * before its bytes are stored, and a stored transaction is only ever re-sent
 * byte for byte (same txid), so coins are never sent twice. A permanent
 * rejection refunds the batch's withdrawals to their accounts.
 */
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { type ChainAdapter, ChainError } from './chain/types.js';
import { big, type Db, idFromDb, rows } from './db/client.js';
import { SYSTEM } from './ledger.js';
import { post } from './postings.js';

export interface WithdrawalOptions {
  db: Db;
  chain: ChainAdapter;
  /** Confirmations before a withdrawal counts as completed. */
  confirmations: number;
  /** Most withdrawals per on-chain transaction. @default 100 */
  maxBatch?: number;
  logger?: Logger | undefined;
}

type BatchRow = { id: unknown; status: string; txid: string | null; raw_tx: string | null };

/** One pass over every state; safe to call at any time, from one process at a time. */
export async function processWithdrawals(opts: WithdrawalOptions): Promise<void> {
  await openBatch(opts);
  const batches = await rows<BatchRow>(
    opts.db,
    sql`SELECT id, status, txid, raw_tx FROM withdrawal_batches
        WHERE status IN ('intent', 'signed', 'broadcast') ORDER BY id`,
  );
  for (const b of batches) {
    try {
      await advance(opts, b);
    } catch (e) {
      if (e instanceof ChainError && e.permanent) {
        opts.logger?.error({ batch: String(b.id), err: e.message }, 'withdrawal batch rejected');
        await failBatch(opts.db, big(b.id));
      } else {
        opts.logger?.warn({ batch: String(b.id), err: String(e) }, 'withdrawal batch will retry');
        await opts.db.execute(
          sql`UPDATE withdrawal_batches SET attempts = attempts + 1, updated_at = now() WHERE id = ${big(b.id).toString()}::bigint`,
        );
      }
    }
  }
}

/** Puts up to maxBatch pending withdrawals into a new batch (the intent). */
async function openBatch(opts: WithdrawalOptions): Promise<void> {
  await opts.db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const pending = await rows<{ id: unknown }>(
      t,
      sql`SELECT id FROM withdrawals WHERE status = 'pending' ORDER BY id
          LIMIT ${opts.maxBatch ?? 100} FOR UPDATE SKIP LOCKED`,
    );
    if (pending.length === 0) return;
    const [b] = await rows<{ id: unknown }>(
      t,
      sql`INSERT INTO withdrawal_batches (status) VALUES ('intent') RETURNING id`,
    );
    await t.execute(sql`UPDATE withdrawals SET status = 'sending', batch_id = ${big(b!.id).toString()}::bigint
      WHERE id IN (${sql.join(
        pending.map((p) => sql`${big(p.id).toString()}::bigint`),
        sql`, `,
      )})`);
  });
}

async function advance(opts: WithdrawalOptions, b: BatchRow): Promise<void> {
  const id = big(b.id).toString();
  let { status, txid, raw_tx: raw } = b;
  if (status === 'intent') {
    const outputs = await rows<{ address: string; amount: unknown }>(
      opts.db,
      sql`SELECT address, amount FROM withdrawals WHERE batch_id = ${id}::bigint ORDER BY id`,
    );
    if (outputs.length === 0) {
      await opts.db.execute(
        sql`UPDATE withdrawal_batches SET status = 'failed' WHERE id = ${id}::bigint`,
      );
      return;
    }
    // Nothing has been broadcast for an intent, so building (again) is safe.
    const built = await opts.chain.buildTransaction(
      outputs.map((o) => ({ address: o.address, amount: big(o.amount) })),
    );
    await opts.db.execute(sql`UPDATE withdrawal_batches SET status = 'signed', txid = ${built.txid},
      raw_tx = ${built.raw}, updated_at = now() WHERE id = ${id}::bigint AND status = 'intent'`);
    status = 'signed';
    txid = built.txid;
    raw = built.raw;
  }
  if (status === 'signed' || status === 'broadcast') {
    const st = await opts.chain.transactionStatus(txid!);
    if (st.state === 'unknown') {
      // Never seen by the chain (crash before the broadcast, or dropped): send the same bytes.
      await opts.chain.broadcast({ txid: txid!, raw: raw! });
    }
    if (status === 'signed') {
      await opts.db.transaction(async (tx) => {
        const t = tx as unknown as Db;
        await t.execute(sql`UPDATE withdrawal_batches SET status = 'broadcast', updated_at = now()
          WHERE id = ${id}::bigint`);
        await t.execute(sql`UPDATE withdrawals SET status = 'sent' WHERE batch_id = ${id}::bigint`);
      });
    }
    if (st.state === 'confirmed' && st.confirmations >= opts.confirmations) {
      await completeBatch(opts.db, big(b.id));
      opts.logger?.info({ batch: id, txid }, 'withdrawal batch confirmed');
    }
  }
}

async function completeBatch(db: Db, id: bigint): Promise<void> {
  await db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const done = await rows<{ id: unknown; amount: unknown }>(
      t,
      sql`UPDATE withdrawals SET status = 'completed' WHERE batch_id = ${id.toString()}::bigint
          AND status IN ('sending', 'sent') RETURNING id, amount`,
    );
    await t.execute(sql`UPDATE withdrawal_batches SET status = 'confirmed', updated_at = now()
      WHERE id = ${id.toString()}::bigint`);
    await post(
      t,
      done.map((w) => ({
        debit: SYSTEM.pending,
        credit: SYSTEM.withdrawn,
        amount: big(w.amount),
        kind: 'withdraw_complete',
        ref: String(w.id),
      })),
    );
  });
}

/** Marks a batch failed and gives every withdrawal in it back to its account. */
async function failBatch(db: Db, id: bigint): Promise<void> {
  await db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const back = await rows<{ id: unknown; account: unknown; amount: unknown }>(
      t,
      sql`UPDATE withdrawals SET status = 'failed' WHERE batch_id = ${id.toString()}::bigint
          AND status IN ('sending', 'sent') RETURNING id, account, amount`,
    );
    await t.execute(sql`UPDATE withdrawal_batches SET status = 'failed', updated_at = now()
      WHERE id = ${id.toString()}::bigint`);
    await post(
      t,
      back.map((w) => ({
        debit: SYSTEM.pending,
        credit: idFromDb(w.account),
        amount: big(w.amount),
        kind: 'withdraw_refund',
        ref: String(w.id),
      })),
    );
  });
}
