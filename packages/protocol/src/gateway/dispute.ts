/**
 * Verifiers for an account's chain of calls and receipts, and the dispute
 * check. Receipts only ever show a balance going down by what a call signed
 * by the account debits (credits from deposits, incoming transfers and
 * refunds may raise it between receipts). So given the receipts a client
 * kept and the gateway's current claim about the account, either the signed
 * calls explain the claim, or the gateway's own signatures prove a theft.
 */
import { equalBytes } from '@skymesh/crypto';
import { callDebit, type SignedCall, verifyCallSignature, ZERO_HASH } from './call.js';
import { GatewayError } from './errors.js';
import { type Receipt, receiptHash, verifyReceiptForCall } from './receipt.js';

/** One step of an account's chain: the signed call and the gateway's receipt for it. */
export interface ChainLink {
  call: SignedCall;
  receipt: Receipt;
}

/** Where an account's chain stands after a run of links. */
export interface ChainState {
  account: bigint;
  publicKey: Uint8Array;
  /** Sequence number of the next call. */
  nextSequence: bigint;
  /** Hash of the last receipt (ZERO_HASH before the first call). */
  previous: Uint8Array;
  /** Balance stated by the last receipt. */
  balance: bigint;
}

/** Why a gateway's receipts or claim prove it took coins. */
export type TheftReason =
  /** A receipt's balance fell by more than its call debits. */
  | 'unexplained-debit'
  /** The claim ignores calls the gateway has already signed receipts for. */
  | 'rollback'
  /** The claim relies on a call the account did not sign (or that does not chain). */
  | 'unsigned-call'
  /** The claimed balance is below what the last receipt allows. */
  | 'balance-mismatch';

export type DisputeVerdict =
  | { verdict: 'explained'; balance: bigint; nextSequence: bigint }
  | { verdict: 'theft'; reason: TheftReason; sequence: bigint }
  | { verdict: 'invalid-evidence'; code: string; sequence: bigint };

/** The gateway's statement of an account: its balance now and the calls since the client's last receipt. */
export interface GatewayClaim {
  balance: bigint;
  nextSequence: bigint;
  /** Calls and receipts with sequences after the client's last one, in order. */
  links: readonly ChainLink[];
}

/**
 * Checks one link against the chain state and returns the new state.
 * @throws GatewayError GW_BAD_SIGNATURE (call not signed by the account),
 * GW_BAD_SEQUENCE / GW_BAD_PREVIOUS (does not chain), GW_BAD_RECEIPT (receipt
 * not the gateway's for this call). Returns `theft: true` for an unexplained debit.
 */
export function applyLink(
  gatewayKey: Uint8Array,
  state: ChainState | undefined,
  link: ChainLink,
): { state: ChainState; theft: boolean } {
  const { call, receipt } = link;
  let publicKey: Uint8Array;
  if (!state) {
    if (call.type !== 'create_account' || call.sequence !== 0n) {
      throw new GatewayError('GW_BAD_SEQUENCE', 'a chain starts with create_account at 0');
    }
    if (!equalBytes(call.previous, ZERO_HASH)) {
      throw new GatewayError('GW_BAD_PREVIOUS', 'first call must have a zero previous hash');
    }
    publicKey = call.publicKey;
  } else {
    publicKey = state.publicKey;
    if (call.account !== state.account) {
      throw new GatewayError('GW_BAD_FIELD', 'call for another account');
    }
    if (call.sequence !== state.nextSequence) {
      throw new GatewayError('GW_BAD_SEQUENCE', 'sequence does not follow', {
        expected: state.nextSequence.toString(),
      });
    }
    if (!equalBytes(call.previous, state.previous)) {
      throw new GatewayError('GW_BAD_PREVIOUS', 'previous receipt hash does not match');
    }
  }
  if (!verifyCallSignature(publicKey, gatewayKey, call)) {
    throw new GatewayError('GW_BAD_SIGNATURE', 'call not signed by the account key');
  }
  verifyReceiptForCall(gatewayKey, call, receipt);
  const before = state?.balance ?? 0n;
  const theft = receipt.balance + callDebit(call) < before;
  return {
    state: {
      account: call.account,
      publicKey,
      nextSequence: call.sequence + 1n,
      previous: receiptHash(receipt),
      balance: receipt.balance,
    },
    theft,
  };
}

/**
 * Verifies a whole account chain from its create_account call.
 * @throws GatewayError on the first link that does not check out (see applyLink),
 * or GW_BAD_RECEIPT with details.theft when a receipt shows an unexplained debit.
 */
export function verifyAccountChain(
  gatewayKey: Uint8Array,
  links: readonly ChainLink[],
): ChainState {
  let state: ChainState | undefined;
  for (const link of links) {
    const step = applyLink(gatewayKey, state, link);
    if (step.theft) {
      throw new GatewayError('GW_BAD_RECEIPT', 'receipt shows an unexplained debit', {
        theft: true,
        sequence: link.call.sequence.toString(),
      });
    }
    state = step.state;
  }
  if (!state) throw new GatewayError('GW_BAD_RECEIPT', 'empty chain');
  return state;
}

/**
 * The dispute check. `clientLinks` is the account's chain as the client kept
 * it (from create_account); `claim` is what the gateway says now.
 */
export function checkDispute(
  gatewayKey: Uint8Array,
  clientLinks: readonly ChainLink[],
  claim: GatewayClaim,
): DisputeVerdict {
  let state: ChainState | undefined;
  for (const link of clientLinks) {
    let step: ReturnType<typeof applyLink>;
    try {
      step = applyLink(gatewayKey, state, link);
    } catch (e) {
      const code = e instanceof GatewayError ? e.code : 'GW_INTERNAL';
      return { verdict: 'invalid-evidence', code, sequence: link.call.sequence };
    }
    if (step.theft) {
      return { verdict: 'theft', reason: 'unexplained-debit', sequence: link.call.sequence };
    }
    state = step.state;
  }
  if (!state) return { verdict: 'invalid-evidence', code: 'GW_BAD_RECEIPT', sequence: 0n };
  if (claim.nextSequence < state.nextSequence) {
    return { verdict: 'theft', reason: 'rollback', sequence: claim.nextSequence };
  }
  for (const link of claim.links) {
    let step: ReturnType<typeof applyLink>;
    try {
      step = applyLink(gatewayKey, state, link);
    } catch {
      return { verdict: 'theft', reason: 'unsigned-call', sequence: link.call.sequence };
    }
    if (step.theft) {
      return { verdict: 'theft', reason: 'unexplained-debit', sequence: link.call.sequence };
    }
    state = step.state;
  }
  if (state.nextSequence !== claim.nextSequence) {
    // The gateway claims calls it cannot show signed.
    return { verdict: 'theft', reason: 'unsigned-call', sequence: state.nextSequence };
  }
  if (claim.balance < state.balance) {
    return { verdict: 'theft', reason: 'balance-mismatch', sequence: state.nextSequence };
  }
  return { verdict: 'explained', balance: claim.balance, nextSequence: claim.nextSequence };
}
