/**
 * The chain adapter: everything the gateway needs from a blockchain, so the
 * ledger never knows whether coins are real (Skycoin node) or a development
 * chain. Amounts are bigint droplets.
 */

/** An output paid to one of our deposit addresses. */
export interface ChainDeposit {
  /** Stable output id: the idempotency key that stops a rescan crediting twice. */
  id: string;
  address: string;
  amount: bigint;
  /** 0 while unconfirmed; head height − block height + 1 once in a block. */
  confirmations: number;
}

export interface ChainOutput {
  address: string;
  amount: bigint;
}

/** A built, signed transaction not yet broadcast. */
export interface BuiltTransaction {
  txid: string;
  /** Encoded transaction (hex), broadcast as-is, possibly more than once. */
  raw: string;
}

export type TxStatus =
  | { state: 'unknown' }
  | { state: 'pending' }
  | { state: 'confirmed'; confirmations: number };

/** Thrown by adapters; `permanent` means retrying the same request cannot succeed. */
export class ChainError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'ChainError';
  }
}

export interface ChainAdapter {
  readonly name: string;
  /** Withdrawals must be a multiple of this many droplets (Skycoin: 1,000). */
  readonly withdrawalUnit: bigint;
  /** A never-used deposit address for `account`. */
  newDepositAddress(account: bigint): Promise<string>;
  /** True for a well-formed address of this chain (checksum included). */
  validateAddress(address: string): boolean;
  /** Deposits seen at these addresses, confirmed or not. */
  listDeposits(addresses: readonly string[]): Promise<ChainDeposit[]>;
  /** Builds and signs (does not broadcast) one transaction paying every output. */
  buildTransaction(outputs: readonly ChainOutput[]): Promise<BuiltTransaction>;
  /** Broadcasts a built transaction; broadcasting the same bytes again is harmless. */
  broadcast(tx: BuiltTransaction): Promise<void>;
  /** Where a transaction stands. */
  transactionStatus(txid: string): Promise<TxStatus>;
  close?(): Promise<void>;
}
