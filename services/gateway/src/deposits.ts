/**
 * Deposit watcher: asks the chain adapter about every deposit address and
 * credits each output with enough confirmations exactly once (the deposits
 * table is keyed by the chain's output id).
 */
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { ChainAdapter, ChainDeposit } from './chain/types.js';
import { big, type Db, idFromDb, rows } from './db/client.js';
import { SYSTEM } from './ledger.js';
import { post } from './postings.js';

/** Credits one confirmed deposit; false if it was already credited or the address is not ours. */
export async function creditDeposit(db: Db, dep: ChainDeposit): Promise<boolean> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const owner = await rows<{ account: unknown }>(
      t,
      sql`SELECT account FROM deposit_addresses WHERE address = ${dep.address}`,
    );
    if (!owner[0] || dep.amount <= 0n) return false;
    const account = idFromDb(owner[0].account);
    const ins = await rows(
      t,
      sql`INSERT INTO deposits (id, address, account, amount)
          VALUES (${dep.id}, ${dep.address}, ${big(owner[0].account).toString()}::bigint, ${dep.amount.toString()}::bigint)
          ON CONFLICT (id) DO NOTHING RETURNING id`,
    );
    if (ins.length === 0) return false;
    await post(t, [
      { debit: SYSTEM.deposits, credit: account, amount: dep.amount, kind: 'deposit', ref: dep.id },
    ]);
    return true;
  });
}

export interface DepositWatcherOptions {
  db: Db;
  chain: ChainAdapter;
  minConfirmations: number;
  logger?: Logger | undefined;
}

/** One scan: every address, every deposit with enough confirmations. Returns how many were credited. */
export async function scanDeposits(opts: DepositWatcherOptions): Promise<number> {
  let credited = 0;
  const page = 1000;
  for (let offset = 0; ; offset += page) {
    const addrs = await rows<{ address: string }>(
      opts.db,
      sql`SELECT address FROM deposit_addresses ORDER BY address LIMIT ${page} OFFSET ${offset}`,
    );
    if (addrs.length === 0) break;
    const found = await opts.chain.listDeposits(addrs.map((a) => a.address));
    for (const d of found) {
      if (d.confirmations < opts.minConfirmations) continue;
      if (await creditDeposit(opts.db, d)) {
        credited++;
        opts.logger?.info({ deposit: d.id, amount: d.amount.toString() }, 'deposit credited');
      }
    }
    if (addrs.length < page) break;
  }
  return credited;
}
