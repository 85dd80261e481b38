/**
 * Gateway receipts: the gateway's signed statement that it executed a call.
 * A receipt names the call (by hash), its result, the account's new balance,
 * the time, its own index in the transparency log and the hash of the
 * account's previous receipt, so an account's receipts form a hash chain.
 *
 * Encoding (also the transparency-log leaf), big-endian, 172 bytes + result:
 *   version u8 (=1) ‖ type u8 ‖ account u64 ‖ sequence u64 ‖ call hash [32] ‖
 *   status u8 ‖ balance u64 ‖ time u64 (ms since the Unix epoch) ‖
 *   log index u64 ‖ previous receipt hash [32] ‖ result (u16 length ‖ bytes) ‖
 *   signature [64]
 * The gateway signs "skymesh/gateway/receipt/v1" NUL ‖ everything before the
 * signature. Receipt hash = SHA-256(whole encoding).
 */
import {
  concatBytes,
  ed25519Sign,
  ed25519Verify,
  equalBytes,
  fromUtf8,
  sha256,
  utf8,
} from '@skymesh/crypto';
import { ByteReader, ByteWriter, domainTag } from './_codec.js';
import { hex, hexUpTo, int, obj, toHex, u64 } from './_json.js';
import { CALL_TYPES, type CallType, callHash, type SignedCall } from './call.js';
import { GatewayError } from './errors.js';

/** Receipt status: the call was applied. (Rejected calls get an error, not a receipt.) */
export const STATUS_OK = 0;
/** Longest result a receipt carries. */
export const MAX_RESULT_LEN = 256;
const RECEIPT_VERSION = 1;

export interface Receipt {
  type: CallType;
  account: bigint;
  sequence: bigint;
  callHash: Uint8Array;
  status: number;
  /** The account's balance after the call, in droplets. */
  balance: bigint;
  /** Milliseconds since the Unix epoch, gateway clock. */
  time: bigint;
  logIndex: bigint;
  previous: Uint8Array;
  /** Type-specific result: deposit address (UTF-8), withdrawal id (u64), history count (u16). */
  result: Uint8Array;
  signature: Uint8Array;
}

/** JSON wire form of a receipt. */
export interface ReceiptJson {
  type: CallType;
  account: string;
  sequence: string;
  callHash: string;
  status: number;
  balance: string;
  time: string;
  logIndex: string;
  previous: string;
  result: string;
  signature: string;
}

const RECEIPT_DOMAIN = domainTag('skymesh/gateway/receipt/v1');
const TYPE_BY_NUMBER = new Map<number, CallType>(
  Object.entries(CALL_TYPES).map(([k, v]) => [v, k as CallType]),
);

function writeUnsigned(r: Omit<Receipt, 'signature'>): ByteWriter {
  return new ByteWriter(180 + r.result.length)
    .u8(RECEIPT_VERSION)
    .u8(CALL_TYPES[r.type])
    .u64(r.account)
    .u64(r.sequence)
    .bytes(r.callHash)
    .u8(r.status)
    .u64(r.balance)
    .u64(r.time)
    .u64(r.logIndex)
    .bytes(r.previous)
    .vbytes(r.result);
}

/** What the gateway signs: the domain tag, then the receipt without its signature. */
function signingBytes(r: Omit<Receipt, 'signature'>): Uint8Array {
  return concatBytes(RECEIPT_DOMAIN, writeUnsigned(r).finish());
}

/** Signs a receipt with the gateway's Ed25519 seed. */
export function signReceipt(gatewaySeed: Uint8Array, r: Omit<Receipt, 'signature'>): Receipt {
  if (r.result.length > MAX_RESULT_LEN) {
    throw new GatewayError('GW_BAD_FIELD', 'receipt result too long', { field: 'result' });
  }
  return { ...r, signature: ed25519Sign(gatewaySeed, signingBytes(r)) };
}

/** The canonical bytes of a receipt: its log leaf. */
export function encodeReceipt(r: Receipt): Uint8Array {
  return writeUnsigned(r).bytes(r.signature).finish();
}

/** Parses receipt bytes. @throws GatewayError GW_MALFORMED. */
export function decodeReceipt(bytes: Uint8Array): Receipt {
  const rd = new ByteReader(bytes);
  if (rd.u8() !== RECEIPT_VERSION)
    throw new GatewayError('GW_MALFORMED', 'unknown receipt version');
  const type = TYPE_BY_NUMBER.get(rd.u8());
  if (!type) throw new GatewayError('GW_MALFORMED', 'unknown receipt type');
  const r: Receipt = {
    type,
    account: rd.u64(),
    sequence: rd.u64(),
    callHash: rd.bytes(32),
    status: rd.u8(),
    balance: rd.u64(),
    time: rd.u64(),
    logIndex: rd.u64(),
    previous: rd.bytes(32),
    result: rd.vbytes(),
    signature: rd.bytes(64),
  };
  rd.end();
  return r;
}

/** SHA-256 of the receipt's encoding: the next call's `previous`. */
export function receiptHash(r: Receipt): Uint8Array {
  return sha256(encodeReceipt(r));
}

/** True when the gateway key signed this receipt. */
export function verifyReceiptSignature(gatewayKey: Uint8Array, r: Receipt): boolean {
  return ed25519Verify(gatewayKey, signingBytes(r), r.signature);
}

/**
 * Checks that `r` is the gateway's signed receipt for exactly `call`.
 * @throws GatewayError GW_BAD_RECEIPT naming the first mismatch.
 */
export function verifyReceiptForCall(gatewayKey: Uint8Array, call: SignedCall, r: Receipt): void {
  const fail = (what: string) => {
    throw new GatewayError('GW_BAD_RECEIPT', `receipt ${what} does not match`, { what });
  };
  if (!verifyReceiptSignature(gatewayKey, r)) fail('signature');
  if (r.type !== call.type) fail('type');
  if (r.account !== call.account) fail('account');
  if (r.sequence !== call.sequence) fail('sequence');
  if (!equalBytes(r.previous, call.previous)) fail('previous');
  if (!equalBytes(r.callHash, callHash(gatewayKey, call))) fail('callHash');
  if (r.status !== STATUS_OK) fail('status');
}

/** JSON wire form. */
export function receiptToJson(r: Receipt): ReceiptJson {
  return {
    type: r.type,
    account: r.account.toString(),
    sequence: r.sequence.toString(),
    callHash: toHex(r.callHash),
    status: r.status,
    balance: r.balance.toString(),
    time: r.time.toString(),
    logIndex: r.logIndex.toString(),
    previous: toHex(r.previous),
    result: toHex(r.result),
    signature: toHex(r.signature),
  };
}

/** Parses the JSON wire form (does not verify the signature). @throws GatewayError. */
export function parseReceipt(json: unknown): Receipt {
  const o = obj(json, 'receipt');
  const type = o.type;
  if (typeof type !== 'string' || !Object.hasOwn(CALL_TYPES, type)) {
    throw new GatewayError('GW_BAD_FIELD', 'unknown receipt type', { field: 'type' });
  }
  return {
    type: type as CallType,
    account: u64(o.account, 'account'),
    sequence: u64(o.sequence, 'sequence'),
    callHash: hex(o.callHash, 'callHash', 32),
    status: int(o.status, 'status', 0, 255),
    balance: u64(o.balance, 'balance'),
    time: u64(o.time, 'time'),
    logIndex: u64(o.logIndex, 'logIndex'),
    previous: hex(o.previous, 'previous', 32),
    result: hexUpTo(o.result, 'result', MAX_RESULT_LEN),
    signature: hex(o.signature, 'signature', 64),
  };
}

/** Result bytes of a deposit_address call. */
export function addressResult(address: string): Uint8Array {
  return utf8(address);
}

/** Result bytes of a withdraw call: the withdrawal id. */
export function withdrawalResult(id: bigint): Uint8Array {
  return new ByteWriter(8).u64(id).finish();
}

/** Result bytes of a history call: how many receipts were returned. */
export function historyResult(count: number): Uint8Array {
  return new ByteWriter(2).u16(count).finish();
}

/** The deposit address in a deposit_address receipt. */
export function readAddressResult(r: Receipt): string {
  return fromUtf8(r.result);
}

/** The withdrawal id in a withdraw receipt. */
export function readWithdrawalResult(r: Receipt): bigint {
  const rd = new ByteReader(r.result);
  const id = rd.u64();
  rd.end();
  return id;
}
