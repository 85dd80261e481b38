/**
 * Client library for a Skymesh gateway: makes an account, signs each call
 * with the next sequence number and the previous receipt hash, verifies and
 * keeps every receipt, audits them against the transparency log and exports
 * them as a publishable log (the evidence the dispute check reads).
 *
 * Transport-agnostic: give it a GatewayTransport (httpTransport for fetch).
 * A call whose outcome is unknown (network failure) stays pending and is
 * re-sent, byte for byte, before the next one: the gateway answers a repeat
 * with the same receipt, so nothing is applied twice.
 */
import { ed25519PublicKey, randomBytes, toHex } from '@skymesh/crypto';
import { hex, obj, u64 } from './_json.js';
import {
  type Call,
  type CallBody,
  type CallJson,
  callToJson,
  FIRST_USER_ACCOUNT,
  parseCall,
  type SignedCall,
  signCall,
  ZERO_HASH,
} from './call.js';
import {
  type Checkpoint,
  type CheckpointJson,
  parseCheckpoint,
  parseProof,
  verifyCheckpoint,
} from './checkpoint.js';
import { applyLink, type ChainLink, type ChainState } from './dispute.js';
import { GatewayError } from './errors.js';
import { leafHash, verifyConsistency, verifyInclusion } from './merkle.js';
import {
  encodeReceipt,
  parseReceipt,
  type Receipt,
  type ReceiptJson,
  readAddressResult,
  readWithdrawalResult,
  receiptToJson,
} from './receipt.js';

/** The JSON a gateway answers a call with. */
export interface CallResponseJson {
  receipt: ReceiptJson;
  /** For history calls: the account's earlier calls and receipts. */
  history?: { call: CallJson; receipt: ReceiptJson }[];
}

/** How the client reaches a gateway. Methods throw GatewayError with the gateway's code. */
export interface GatewayTransport {
  call(call: CallJson): Promise<CallResponseJson>;
  checkpoint(): Promise<CheckpointJson>;
  inclusionProof(index: bigint, size: bigint): Promise<string[]>;
  consistencyProof(first: bigint, second: bigint): Promise<string[]>;
}

/** A publishable account log: everything a verifier needs, no secrets. */
export interface PublishableLog {
  format: 'skymesh-gateway-log/v1';
  gatewayKey: string;
  account: string;
  links: { call: CallJson; receipt: ReceiptJson }[];
}

/** A fresh random 64-bit account id (never one of the reserved system ids) and key seed. */
export function generateAccount(): { id: bigint; seed: Uint8Array } {
  for (;;) {
    const b = randomBytes(8);
    const id = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
    if (id >= FIRST_USER_ACCOUNT) return { id, seed: randomBytes(32) };
  }
}

/** Error codes after which the gateway certainly did not apply the call. */
const REJECTED = new Set([
  'GW_MALFORMED',
  'GW_TOO_LARGE',
  'GW_BAD_FIELD',
  'GW_BAD_AMOUNT',
  'GW_AMOUNT_TOO_LARGE',
  'GW_BAD_ADDRESS',
  'GW_BAD_SIGNATURE',
  'GW_BAD_SEQUENCE',
  'GW_SEQUENCE_REUSED',
  'GW_BAD_PREVIOUS',
  'GW_UNKNOWN_ACCOUNT',
  'GW_ACCOUNT_EXISTS',
  'GW_INSUFFICIENT_FUNDS',
  'GW_BELOW_MINIMUM',
  'GW_SELF_TRANSFER',
  'GW_UNKNOWN_RECIPIENT',
]);

export interface GatewayClientOptions {
  gatewayKey: Uint8Array;
  transport: GatewayTransport;
  account: { id: bigint; seed: Uint8Array };
  /** A chain kept from earlier sessions (verified on load). */
  links?: readonly ChainLink[];
}

/** One account's session with a gateway. Not safe for concurrent calls: await each. */
export class GatewayClient {
  readonly gatewayKey: Uint8Array;
  readonly account: bigint;
  readonly publicKey: Uint8Array;
  private readonly seed: Uint8Array;
  private readonly transport: GatewayTransport;
  private readonly chain: ChainLink[] = [];
  private state: ChainState | undefined;
  private pending: SignedCall | undefined;
  private lastCheckpoint: Checkpoint | undefined;

  constructor(opts: GatewayClientOptions) {
    this.gatewayKey = opts.gatewayKey;
    this.transport = opts.transport;
    this.account = opts.account.id;
    this.seed = opts.account.seed;
    this.publicKey = ed25519PublicKey(this.seed);
    for (const link of opts.links ?? []) this.keep(link);
  }

  /** The verified chain so far. */
  get links(): readonly ChainLink[] {
    return this.chain;
  }

  /** Balance stated by the latest receipt. */
  get balance(): bigint {
    return this.state?.balance ?? 0n;
  }

  /** Sequence number the next call will carry. */
  get nextSequence(): bigint {
    return this.state?.nextSequence ?? 0n;
  }

  /** Opens the account at the gateway (sequence 0). */
  async createAccount(): Promise<Receipt> {
    return (await this.execute({ type: 'create_account', publicKey: this.publicKey })).receipt;
  }

  /** A fresh deposit address for this account. */
  async depositAddress(): Promise<string> {
    return readAddressResult((await this.execute({ type: 'deposit_address' })).receipt);
  }

  /** Asks the gateway for a signed statement of the balance. */
  async fetchBalance(): Promise<bigint> {
    return (await this.execute({ type: 'balance' })).receipt.balance;
  }

  /** Moves `amount` droplets to account `to`. */
  async transfer(to: bigint, amount: bigint): Promise<Receipt> {
    return (await this.execute({ type: 'transfer', to, amount })).receipt;
  }

  /** Withdraws `amount` droplets (≥ one coin) to an on-chain address. */
  async withdraw(
    amount: bigint,
    address: string,
  ): Promise<{ receipt: Receipt; withdrawalId: bigint }> {
    const { receipt } = await this.execute({ type: 'withdraw', amount, address });
    return { receipt, withdrawalId: readWithdrawalResult(receipt) };
  }

  /** The account's calls and receipts from `fromSequence`, each verified against the gateway key. */
  async history(fromSequence: bigint, limit: number): Promise<ChainLink[]> {
    const res = await this.execute({ type: 'history', fromSequence, limit });
    return (res.history ?? []).map((h) => {
      const link = { call: parseCall(h.call), receipt: parseReceipt(h.receipt) };
      if (link.call.account !== this.account) {
        throw new GatewayError('GW_BAD_RECEIPT', 'history holds another account');
      }
      return link;
    });
  }

  /** Re-sends a call whose outcome is unknown; no-op if none. */
  async resume(): Promise<void> {
    if (this.pending) await this.submit(this.pending);
  }

  private async execute(
    body: CallBody,
  ): Promise<{ receipt: Receipt; history?: CallResponseJson['history'] }> {
    await this.resume();
    const call: Call = {
      ...body,
      account: this.account,
      sequence: this.nextSequence,
      previous: this.state?.previous ?? ZERO_HASH,
    };
    return this.submit(signCall(this.seed, this.gatewayKey, call));
  }

  private async submit(
    call: SignedCall,
  ): Promise<{ receipt: Receipt; history?: CallResponseJson['history'] }> {
    this.pending = call;
    let res: CallResponseJson;
    try {
      res = await this.transport.call(callToJson(call));
    } catch (e) {
      if (e instanceof GatewayError && REJECTED.has(e.code)) this.pending = undefined;
      throw e;
    }
    const receipt = parseReceipt(obj(res, 'response').receipt);
    this.keep({ call, receipt });
    this.pending = undefined;
    return { receipt, ...(res.history ? { history: res.history } : {}) };
  }

  /** Verifies a link against the chain and appends it. */
  private keep(link: ChainLink): void {
    const step = applyLink(this.gatewayKey, this.state, link);
    // A receipt that proves a theft is kept as evidence before raising it.
    this.chain.push(link);
    this.state = step.state;
    if (step.theft) {
      throw new GatewayError('GW_BAD_RECEIPT', 'receipt shows an unexplained debit', {
        theft: true,
        sequence: link.call.sequence.toString(),
      });
    }
  }

  /**
   * Checks the log: fetches the signed checkpoint, proves it consistent with
   * the last one this client saw, and proves every kept receipt is in it.
   * @throws GatewayError GW_BAD_CHECKPOINT or GW_BAD_PROOF.
   */
  async audit(): Promise<Checkpoint> {
    const cp = parseCheckpoint(await this.transport.checkpoint());
    if (!verifyCheckpoint(this.gatewayKey, cp)) {
      throw new GatewayError('GW_BAD_CHECKPOINT', 'checkpoint signature is invalid');
    }
    const prev = this.lastCheckpoint;
    if (prev) {
      const proof = parseProof(await this.transport.consistencyProof(prev.size, cp.size));
      if (!verifyConsistency(Number(prev.size), Number(cp.size), prev.root, cp.root, proof)) {
        throw new GatewayError('GW_BAD_PROOF', 'log is not consistent with the last checkpoint');
      }
    }
    for (const { receipt } of this.chain) {
      if (receipt.logIndex >= cp.size) continue; // logged after this checkpoint
      const proof = parseProof(await this.transport.inclusionProof(receipt.logIndex, cp.size));
      const leaf = leafHash(encodeReceipt(receipt));
      if (!verifyInclusion(leaf, Number(receipt.logIndex), Number(cp.size), proof, cp.root)) {
        throw new GatewayError('GW_BAD_PROOF', 'receipt is not in the log', {
          logIndex: receipt.logIndex.toString(),
        });
      }
    }
    this.lastCheckpoint = cp;
    return cp;
  }

  /** The account's chain as a publishable JSON log. */
  exportLog(): PublishableLog {
    return {
      format: 'skymesh-gateway-log/v1',
      gatewayKey: toHex(this.gatewayKey),
      account: this.account.toString(),
      links: this.chain.map((l) => ({
        call: callToJson(l.call),
        receipt: receiptToJson(l.receipt),
      })),
    };
  }
}

/** Reads a publishable log back (without verifying: pass the links to verifyAccountChain). */
export function importLog(json: unknown): {
  gatewayKey: Uint8Array;
  account: bigint;
  links: ChainLink[];
} {
  const o = obj(json, 'log');
  if (o.format !== 'skymesh-gateway-log/v1') {
    throw new GatewayError('GW_MALFORMED', 'not a skymesh gateway log');
  }
  if (!Array.isArray(o.links)) throw new GatewayError('GW_MALFORMED', 'links must be an array');
  return {
    gatewayKey: hex(o.gatewayKey, 'gatewayKey', 32),
    account: u64(o.account, 'account'),
    links: o.links.map((l) => {
      const lo = obj(l, 'link');
      return { call: parseCall(lo.call), receipt: parseReceipt(lo.receipt) };
    }),
  };
}

/** Options of httpTransport. */
export interface HttpTransportInit {
  /** Gateway base URL, e.g. "https://gw.example/". */
  baseUrl: string;
  /** fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** A GatewayTransport over the gateway's HTTP API (fetch; browser-safe). */
export function httpTransport(init: HttpTransportInit): GatewayTransport {
  const f = init.fetch ?? globalThis.fetch.bind(globalThis);
  const base = init.baseUrl.replace(/\/$/, '');
  async function req<T>(path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await f(`${base}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      throw new GatewayError('GW_UNAVAILABLE', 'gateway unreachable', { cause: String(e) });
    }
    const json = (await res.json().catch(() => undefined)) as
      | { error?: { code?: string; message?: string } }
      | undefined;
    if (!res.ok) {
      const code = json?.error?.code ?? 'GW_UNAVAILABLE';
      throw new GatewayError(code as GatewayError['code'], json?.error?.message ?? res.statusText);
    }
    return json as T;
  }
  return {
    call: (call) => req('/v1/call', call),
    checkpoint: () => req('/v1/log/checkpoint'),
    inclusionProof: async (index, size) =>
      (await req<{ proof: string[] }>(`/v1/log/inclusion?index=${index}&size=${size}`)).proof,
    consistencyProof: async (first, second) =>
      (await req<{ proof: string[] }>(`/v1/log/consistency?first=${first}&second=${second}`)).proof,
  };
}
