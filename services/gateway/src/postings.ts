/**
 * Balance changes made by the gateway itself (deposits credited, withdrawals
 * completed or refunded), and the conservation check. Like the call writer,
 * they lock the touched account rows in ascending id order before changing
 * them, and every change is a journal entry, inside the caller's transaction.
 */
import { sql } from 'drizzle-orm';
import { big, type Db, idToDb, rawOver, rows } from './db/client.js';
import { insertEntries } from './ledger.js';

export interface Posting {
  debit: bigint;
  credit: bigint;
  amount: bigint;
  kind: string;
  ref: string;
}

/** Applies postings in the current transaction: lock rows in id order, move balances, journal. */
export async function post(db: Db, list: readonly Posting[]): Promise<void> {
  if (list.length === 0) return;
  const delta = new Map<bigint, bigint>();
  for (const p of list) {
    const d = idToDb(p.debit);
    const c = idToDb(p.credit);
    delta.set(d, (delta.get(d) ?? 0n) - p.amount);
    delta.set(c, (delta.get(c) ?? 0n) + p.amount);
  }
  const ids = [...delta.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  await db.execute(
    sql`SELECT id FROM accounts WHERE id IN (${sql.join(
      ids.map((i) => sql`${i.toString()}::bigint`),
      sql`, `,
    )}) ORDER BY id FOR UPDATE`,
  );
  await db.execute(sql`UPDATE accounts AS a SET balance = a.balance + v.delta
    FROM (VALUES ${sql.join(
      ids.map((i) => sql`(${i.toString()}::bigint, ${delta.get(i)!.toString()}::bigint)`),
      sql`, `,
    )}) AS v(id, delta) WHERE a.id = v.id`);
  await insertEntries(rawOver(db), list);
}

/** What the conservation query found. */
export interface Conservation {
  ok: boolean;
  deposits: bigint;
  withdrawn: bigint;
  pendingWithdrawals: bigint;
  userBalances: bigint;
  /** Σ of every balance, system accounts included: 0 in a double-entry ledger. */
  totalBalance: bigint;
  /** Accounts whose cached balance differs from the sum of their entries. */
  drifted: bigint;
}

/**
 * The conservation check, one query: credited deposits − completed
 * withdrawals = Σ user balances + pending withdrawals; all balances sum to
 * zero; every cached balance equals its journal.
 */
export async function conservation(db: Db): Promise<Conservation> {
  const [r] = await rows<Record<string, unknown>>(
    db,
    sql`WITH sums AS (
          SELECT id, sum(delta) AS s FROM (
            SELECT credit AS id, amount AS delta FROM entries
            UNION ALL SELECT debit, -amount FROM entries) x GROUP BY id)
        SELECT
          (SELECT coalesce(sum(amount), 0) FROM deposits) AS deposits,
          (SELECT coalesce(sum(amount), 0) FROM withdrawals WHERE status = 'completed') AS withdrawn,
          (SELECT coalesce(sum(amount), 0) FROM withdrawals
             WHERE status IN ('pending', 'sending', 'sent')) AS pending,
          (SELECT coalesce(sum(balance), 0) FROM accounts WHERE kind = 0) AS users,
          (SELECT coalesce(sum(balance), 0) FROM accounts) AS total,
          (SELECT count(*) FROM accounts a LEFT JOIN sums ON sums.id = a.id
             WHERE a.balance <> coalesce(sums.s, 0)) AS drifted`,
  );
  const c = {
    deposits: big(r!.deposits),
    withdrawn: big(r!.withdrawn),
    pendingWithdrawals: big(r!.pending),
    userBalances: big(r!.users),
    totalBalance: big(r!.total),
    drifted: big(r!.drifted),
  };
  return {
    ...c,
    ok:
      c.deposits - c.withdrawn === c.userBalances + c.pendingWithdrawals &&
      c.totalBalance === 0n &&
      c.drifted === 0n,
  };
}
