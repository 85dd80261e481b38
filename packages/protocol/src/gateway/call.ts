/**
 * Signed gateway calls. Every call names its account, carries the account's
 * next sequence number and the hash of its previous receipt, and is signed by
 * the account key over a domain-separated canonical encoding that also binds
 * the gateway's public key (so a call cannot be replayed at another gateway).
 *
 * Canonical encoding (what is signed), big-endian:
 *   "skymesh/gateway/call/v1" NUL ‖ gateway key [32] ‖ type u8 ‖ account u64 ‖
 *   sequence u64 ‖ previous receipt hash [32] ‖ body
 * Bodies: create_account: account public key [32]; deposit_address, balance:
 * empty; transfer: to u64 ‖ amount u64; withdraw: amount u64 ‖ address
 * (u16 length ‖ UTF-8); history: from sequence u64 ‖ limit u16.
 * Call hash = SHA-256(canonical encoding ‖ signature [64]).
 *
 * On the wire a call is JSON (see CallJson): 64-bit numbers as decimal
 * strings, bytes as lowercase hex, so every language can build one.
 */
import {
  ed25519Sign,
  ed25519Verify,
  fromUtf8,
  isSmallOrderEd25519Key,
  sha256,
  utf8,
} from '@skymesh/crypto';
import { ByteWriter, domainTag } from './_codec.js';
import { hex, int, obj, toHex, u64 } from './_json.js';
import { checkAmount, parseAmount } from './amount.js';
import { GatewayError } from './errors.js';

/** The call types, with their wire numbers. */
export const CALL_TYPES = {
  create_account: 1,
  deposit_address: 2,
  balance: 3,
  transfer: 4,
  withdraw: 5,
  history: 6,
} as const;

export type CallType = keyof typeof CALL_TYPES;

/** Account ids below this are the gateway's own system accounts; users never get one. */
export const FIRST_USER_ACCOUNT = 1n << 16n;
/** Largest account id (ids are unsigned 64-bit). */
export const MAX_ACCOUNT = (1n << 64n) - 1n;
/** Longest withdrawal address, in UTF-8 bytes. */
export const MAX_ADDRESS_LEN = 128;
/** Most receipts one history call returns. */
export const MAX_HISTORY = 100;
/** The previous-receipt hash of an account's first call. */
export const ZERO_HASH = new Uint8Array(32);

export type CallBody =
  | { type: 'create_account'; publicKey: Uint8Array }
  | { type: 'deposit_address' }
  | { type: 'balance' }
  | { type: 'transfer'; to: bigint; amount: bigint }
  | { type: 'withdraw'; amount: bigint; address: string }
  | { type: 'history'; fromSequence: bigint; limit: number };

/** An unsigned call: who, where in the account's chain, and what. */
export type Call = {
  account: bigint;
  sequence: bigint;
  /** Hash of the account's previous receipt (32 zero bytes for sequence 0). */
  previous: Uint8Array;
} & CallBody;

/** A call with its account signature. */
export type SignedCall = Call & { signature: Uint8Array };

/** The JSON wire form of a signed call. */
export interface CallJson {
  type: CallType;
  account: string;
  sequence: string;
  previous: string;
  body: Record<string, string | number>;
  signature: string;
}

const CALL_DOMAIN = domainTag('skymesh/gateway/call/v1');

/** The bytes an account signs for `call` at the gateway with key `gatewayKey`. */
export function callSigningBytes(gatewayKey: Uint8Array, call: Call): Uint8Array {
  const w = new ByteWriter(160)
    .bytes(CALL_DOMAIN)
    .bytes(gatewayKey)
    .u8(CALL_TYPES[call.type])
    .u64(call.account)
    .u64(call.sequence)
    .bytes(call.previous);
  switch (call.type) {
    case 'create_account':
      w.bytes(call.publicKey);
      break;
    case 'transfer':
      w.u64(call.to).u64(call.amount);
      break;
    case 'withdraw':
      w.u64(call.amount).vbytes(utf8(call.address));
      break;
    case 'history':
      w.u64(call.fromSequence).u16(call.limit);
      break;
    default:
      break;
  }
  return w.finish();
}

/** Checks the ranges of a call's fields (the JSON parser and the signer both call this). */
export function checkCall(call: Call): void {
  if (call.account < FIRST_USER_ACCOUNT || call.account > MAX_ACCOUNT) {
    throw new GatewayError('GW_BAD_FIELD', 'account id out of range', { field: 'account' });
  }
  if (call.sequence < 0n || call.sequence > MAX_ACCOUNT) {
    throw new GatewayError('GW_BAD_FIELD', 'sequence out of range', { field: 'sequence' });
  }
  if (call.previous.length !== 32) {
    throw new GatewayError('GW_BAD_FIELD', 'previous must be 32 bytes', { field: 'previous' });
  }
  switch (call.type) {
    case 'create_account':
      if (call.publicKey.length !== 32) {
        throw new GatewayError('GW_BAD_FIELD', 'publicKey must be 32 bytes', {
          field: 'publicKey',
        });
      }
      // A small-order key would let anyone sign for the account.
      if (isSmallOrderEd25519Key(call.publicKey)) {
        throw new GatewayError('GW_BAD_FIELD', 'publicKey is a small-order point', {
          field: 'publicKey',
        });
      }
      break;
    case 'transfer':
      if (call.to < FIRST_USER_ACCOUNT || call.to > MAX_ACCOUNT) {
        throw new GatewayError('GW_BAD_FIELD', 'recipient out of range', { field: 'to' });
      }
      checkAmount(call.amount);
      break;
    case 'withdraw': {
      checkAmount(call.amount);
      const len = utf8(call.address).length;
      if (len === 0 || len > MAX_ADDRESS_LEN || !/^[\x21-\x7e]+$/.test(call.address)) {
        throw new GatewayError('GW_BAD_ADDRESS', 'address must be 1..128 printable ASCII chars', {
          field: 'address',
        });
      }
      break;
    }
    case 'history':
      if (call.fromSequence < 0n || call.fromSequence > MAX_ACCOUNT) {
        throw new GatewayError('GW_BAD_FIELD', 'fromSequence out of range', {
          field: 'fromSequence',
        });
      }
      if (!Number.isInteger(call.limit) || call.limit < 1 || call.limit > MAX_HISTORY) {
        throw new GatewayError('GW_BAD_FIELD', `limit must be 1..${MAX_HISTORY}`, {
          field: 'limit',
        });
      }
      break;
    default:
      break;
  }
}

/** Signs `call` with the account's Ed25519 seed. */
export function signCall(seed: Uint8Array, gatewayKey: Uint8Array, call: Call): SignedCall {
  checkCall(call);
  return { ...call, signature: ed25519Sign(seed, callSigningBytes(gatewayKey, call)) };
}

/** True when `call` carries a valid signature by `publicKey` for this gateway. */
export function verifyCallSignature(
  publicKey: Uint8Array,
  gatewayKey: Uint8Array,
  call: SignedCall,
): boolean {
  return ed25519Verify(publicKey, callSigningBytes(gatewayKey, call), call.signature);
}

/** SHA-256 of the canonical encoding and signature: what the receipt names. */
export function callHash(gatewayKey: Uint8Array, call: SignedCall): Uint8Array {
  const body = callSigningBytes(gatewayKey, call);
  const all = new Uint8Array(body.length + 64);
  all.set(body);
  all.set(call.signature, body.length);
  return sha256(all);
}

/** The amount a call takes out of its account's balance (0 for non-debits). */
export function callDebit(call: Call): bigint {
  return call.type === 'transfer' || call.type === 'withdraw' ? call.amount : 0n;
}

/** The JSON wire form of a signed call. */
export function callToJson(call: SignedCall): CallJson {
  let body: Record<string, string | number> = {};
  switch (call.type) {
    case 'create_account':
      body = { publicKey: toHex(call.publicKey) };
      break;
    case 'transfer':
      body = { to: call.to.toString(), amount: call.amount.toString() };
      break;
    case 'withdraw':
      body = { amount: call.amount.toString(), address: call.address };
      break;
    case 'history':
      body = { fromSequence: call.fromSequence.toString(), limit: call.limit };
      break;
    default:
      break;
  }
  return {
    type: call.type,
    account: call.account.toString(),
    sequence: call.sequence.toString(),
    previous: toHex(call.previous),
    body,
    signature: toHex(call.signature),
  };
}

/**
 * Parses and range-checks the JSON form of a signed call (does not verify
 * the signature: that needs the account's key).
 * @throws GatewayError GW_MALFORMED, GW_BAD_FIELD, GW_BAD_AMOUNT, GW_AMOUNT_TOO_LARGE, GW_BAD_ADDRESS.
 */
export function parseCall(json: unknown): SignedCall {
  const o = obj(json, 'call');
  const type = o.type;
  if (typeof type !== 'string' || !Object.hasOwn(CALL_TYPES, type)) {
    throw new GatewayError('GW_BAD_FIELD', 'unknown call type', { field: 'type' });
  }
  const head = {
    account: u64(o.account, 'account'),
    sequence: u64(o.sequence, 'sequence'),
    previous: hex(o.previous, 'previous', 32),
  };
  const signature = hex(o.signature, 'signature', 64);
  const b = obj(o.body ?? {}, 'body');
  let call: Call;
  switch (type as CallType) {
    case 'create_account':
      call = { ...head, type: 'create_account', publicKey: hex(b.publicKey, 'publicKey', 32) };
      break;
    case 'deposit_address':
      call = { ...head, type: 'deposit_address' };
      break;
    case 'balance':
      call = { ...head, type: 'balance' };
      break;
    case 'transfer':
      call = { ...head, type: 'transfer', to: u64(b.to, 'to'), amount: parseAmount(b.amount) };
      break;
    case 'withdraw':
      if (typeof b.address !== 'string') {
        throw new GatewayError('GW_BAD_ADDRESS', 'address must be a string', { field: 'address' });
      }
      call = { ...head, type: 'withdraw', amount: parseAmount(b.amount), address: b.address };
      break;
    case 'history':
      call = {
        ...head,
        type: 'history',
        fromSequence: u64(b.fromSequence, 'fromSequence'),
        limit: int(b.limit, 'limit', 1, MAX_HISTORY),
      };
      break;
  }
  checkCall(call);
  return { ...call, signature };
}

/** Longest JSON call accepted from bytes (the service's message limit). */
export const MAX_CALL_JSON_BYTES = 16 * 1024;

/**
 * Parses a call from UTF-8 JSON bytes (a WebSocket message, a file).
 * @throws GatewayError GW_TOO_LARGE, GW_MALFORMED, or what parseCall throws.
 */
export function parseCallBytes(bytes: Uint8Array): SignedCall {
  if (bytes.length > MAX_CALL_JSON_BYTES) throw new GatewayError('GW_TOO_LARGE', 'call too large');
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(bytes));
  } catch {
    throw new GatewayError('GW_MALFORMED', 'call is not UTF-8 JSON');
  }
  return parseCall(json);
}
