/**
 * The gateway's HTTP and WebSocket API (fastify). `buildApp` wires routes to
 * a running Ledger; main.ts listens. Every failure answers
 * `{ error: { code, message } }` with a stable GW_* code. The gateway keeps
 * no client addresses: request logging is off and nothing reads the socket's
 * remote address.
 */
import websocket from '@fastify/websocket';
import { toHex } from '@skymesh/crypto';
import {
  type CallResponseJson,
  checkpointToJson,
  DROPLETS_PER_COIN,
  GatewayError,
  type GatewayErrorCode,
  MIN_WITHDRAWAL,
  parseAmount,
  parseCall,
  receiptToJson,
} from '@skymesh/protocol/gateway';
import { sql } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { DevChain } from './chain/devchain.js';
import type { ChainAdapter } from './chain/types.js';
import type { Db } from './db/client.js';
import type { Ledger } from './ledger.js';
import { conservation } from './postings.js';

/** Largest request body or WebSocket message. */
export const MAX_MESSAGE_BYTES = 16 * 1024;

export interface AppOptions {
  ledger: Ledger;
  db: Db;
  chain: ChainAdapter;
  /** When set, /dev/faucet and /dev/mine drive this development chain. */
  devChain?: DevChain | undefined;
  logger?: Logger | undefined;
}

/** HTTP status for each error code. */
const STATUS: Partial<Record<GatewayErrorCode, number>> = {
  GW_TOO_LARGE: 413,
  GW_BAD_SIGNATURE: 401,
  GW_UNKNOWN_ACCOUNT: 404,
  GW_NOT_FOUND: 404,
  GW_BAD_SEQUENCE: 409,
  GW_SEQUENCE_REUSED: 409,
  GW_BAD_PREVIOUS: 409,
  GW_ACCOUNT_EXISTS: 409,
  GW_INSUFFICIENT_FUNDS: 422,
  GW_BELOW_MINIMUM: 422,
  GW_SELF_TRANSFER: 422,
  GW_UNKNOWN_RECIPIENT: 422,
  GW_BUSY: 503,
  GW_UNAVAILABLE: 503,
  GW_INTERNAL: 500,
};

/** Maps anything thrown to a GatewayError (fastify's own errors included). */
export function toGatewayError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  const code = (e as { code?: string })?.code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new GatewayError('GW_TOO_LARGE', 'body too large');
  if (typeof code === 'string' && code.startsWith('FST_ERR_CTP')) {
    return new GatewayError('GW_MALFORMED', 'body is not JSON');
  }
  if ((e as { statusCode?: number })?.statusCode === 400) {
    return new GatewayError('GW_MALFORMED', 'malformed request');
  }
  return new GatewayError('GW_INTERNAL', 'internal error');
}

function errorBody(e: GatewayError) {
  return { error: { code: e.code, message: e.message } };
}

function callResponse(r: Awaited<ReturnType<Ledger['submit']>>): CallResponseJson {
  return { receipt: receiptToJson(r.receipt), ...(r.history ? { history: r.history } : {}) };
}

const index = (v: unknown, field: string): number => {
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(v)) {
    throw new GatewayError('GW_BAD_FIELD', `${field} must be a non-negative integer`, { field });
  }
  return Number(v);
};

/** Builds the fastify app (not listening). Close it with `app.close()`. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { ledger, db } = opts;
  const app = Fastify({
    logger: false,
    bodyLimit: MAX_MESSAGE_BYTES,
    trustProxy: false,
  });
  await app.register(websocket, { options: { maxPayload: MAX_MESSAGE_BYTES } });

  app.setErrorHandler((err, _req, reply) => {
    const e = toGatewayError(err);
    if (e.code === 'GW_INTERNAL') opts.logger?.error({ err }, 'request failed');
    reply.status(STATUS[e.code] ?? 400).send(errorBody(e));
  });
  app.setNotFoundHandler((_req, reply) => {
    reply.status(404).send(errorBody(new GatewayError('GW_NOT_FOUND', 'no such route')));
  });

  app.post('/v1/call', { schema: { body: { type: 'object' } } }, async (req) =>
    callResponse(await ledger.submit(parseCall(req.body))),
  );

  // The log's proofs, shared by the HTTP routes and the WebSocket.
  const inclusion = (q: Record<string, unknown>) => {
    const i = index(q.index, 'index');
    const size = index(q.size, 'size');
    if (size > ledger.logSize || i >= size) throw new GatewayError('GW_NOT_FOUND', 'out of range');
    return {
      index: String(i),
      size: String(size),
      proof: ledger.inclusionProof(i, size).map(toHex),
    };
  };
  const consistency = (q: Record<string, unknown>) => {
    const first = index(q.first, 'first');
    const second = index(q.second, 'second');
    if (second > ledger.logSize || first > second) {
      throw new GatewayError('GW_NOT_FOUND', 'out of range');
    }
    return {
      first: String(first),
      second: String(second),
      proof: ledger.consistencyProof(first, second).map(toHex),
    };
  };
  const checkpoint = async () => checkpointToJson(await ledger.latestCheckpoint());

  /** Answers one WebSocket message: a call, or a log query. */
  const wsAnswer = async (msg: Record<string, unknown>): Promise<object> => {
    if (msg.call !== undefined) return callResponse(await ledger.submit(parseCall(msg.call)));
    switch (msg.log) {
      case 'checkpoint':
        return checkpoint();
      case 'inclusion':
        return inclusion(msg);
      case 'consistency':
        return consistency(msg);
      default:
        throw new GatewayError('GW_MALFORMED', 'a message carries a call or a log query');
    }
  };

  // One WebSocket carries many requests: each message is { id, call } or
  // { id, log: 'checkpoint' | 'inclusion' | 'consistency', … }, answered by
  // { id, …answer } or { id, error }, in completion order.
  app.get('/v1/ws', { websocket: true }, (socket, req) => {
    // Answers that finish in the same turn (a batch's receipts resolve
    // together) leave in one write: the connection is corked at the first of
    // them and uncorked once the turn's promise continuations have run.
    const raw = req.raw.socket;
    let corked = false;
    const uncork = () => {
      corked = false;
      raw.uncork();
    };
    const send = (text: string) => {
      if (!corked) {
        corked = true;
        raw.cork();
        process.nextTick(uncork);
      }
      socket.send(text);
    };
    socket.on('message', async (data, isBinary) => {
      let id: unknown = null;
      try {
        if (isBinary) throw new GatewayError('GW_MALFORMED', 'send JSON text messages');
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(String(data));
        } catch {
          throw new GatewayError('GW_MALFORMED', 'message is not JSON');
        }
        if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
          throw new GatewayError('GW_MALFORMED', 'message must be an object');
        }
        id = typeof msg.id === 'string' || typeof msg.id === 'number' ? msg.id : null;
        send(JSON.stringify({ id, ...(await wsAnswer(msg)) }));
      } catch (e) {
        send(JSON.stringify({ id, ...errorBody(toGatewayError(e)) }));
      }
    });
  });

  app.get('/v1/gateway', async () => ({
    publicKey: toHex(ledger.gatewayKey),
    chain: opts.chain.name,
    dropletsPerCoin: DROPLETS_PER_COIN.toString(),
    minWithdrawal: MIN_WITHDRAWAL.toString(),
    withdrawalUnit: opts.chain.withdrawalUnit.toString(),
  }));

  app.get('/v1/log/checkpoint', checkpoint);
  app.get('/v1/log/inclusion', async (req) => inclusion(req.query as Record<string, unknown>));
  app.get('/v1/log/consistency', async (req) => consistency(req.query as Record<string, unknown>));

  // Auditors download the log: encoded receipts (hex), at most 1000 per request.
  app.get('/v1/log/leaves', async (req) => {
    const q = req.query as Record<string, unknown>;
    const start = index(q.start, 'start');
    const count = Math.min(index(q.count ?? '100', 'count'), 1000);
    return { start: String(start), leaves: (await ledger.leaves(start, count)).map(toHex) };
  });

  app.get('/health', async () => {
    await db.execute(sql`SELECT 1`);
    return { status: 'ok', logSize: ledger.logSize, queue: ledger.queueLength };
  });

  app.get('/metrics', async (_req, reply) => {
    const c = await conservation(db);
    const s = ledger.stats;
    const lines = [
      ['gateway_calls_applied_total', 'counter', 'Calls applied and logged', s.applied],
      [
        'gateway_calls_replayed_total',
        'counter',
        'Repeated calls answered with their stored receipt',
        s.replayed,
      ],
      ['gateway_calls_rejected_total', 'counter', 'Calls rejected with an error code', s.rejected],
      ['gateway_batches_total', 'counter', 'Committed group-commit transactions', s.batches],
      [
        'gateway_batch_failures_total',
        'counter',
        'Batch transactions that failed and were retried per call',
        s.batchFailures,
      ],
      ['gateway_queue_length', 'gauge', 'Calls waiting for the writer', ledger.queueLength],
      ['gateway_log_size', 'gauge', 'Receipts in the transparency log', ledger.logSize],
      [
        'gateway_conservation_ok',
        'gauge',
        '1 when deposits - withdrawals = balances + pending and every balance matches its journal',
        c.ok ? 1 : 0,
      ],
      ['gateway_deposits_droplets', 'gauge', 'Credited deposits', c.deposits],
      ['gateway_withdrawn_droplets', 'gauge', 'Completed withdrawals', c.withdrawn],
      [
        'gateway_pending_withdrawals_droplets',
        'gauge',
        'Withdrawals debited but not completed',
        c.pendingWithdrawals,
      ],
      ['gateway_user_balances_droplets', 'gauge', 'Sum of user balances', c.userBalances],
      [
        'gateway_drifted_accounts',
        'gauge',
        'Accounts whose balance differs from their journal',
        c.drifted,
      ],
    ] as const;
    reply.type('text/plain; version=0.0.4');
    return `${lines.map(([n, t, h, v]) => `# HELP ${n} ${h}\n# TYPE ${n} ${t}\n${n} ${v}`).join('\n')}\n`;
  });

  if (opts.devChain) {
    const dev = opts.devChain;
    app.post('/dev/faucet', { schema: { body: { type: 'object' } } }, async (req) => {
      const b = req.body as { address?: unknown; amount?: unknown };
      if (typeof b.address !== 'string' || !dev.validateAddress(b.address)) {
        throw new GatewayError('GW_BAD_ADDRESS', 'not a devchain address');
      }
      return { output: dev.faucet(b.address, parseAmount(b.amount)) };
    });
    app.post('/dev/mine', async (req) => {
      const b = (req.body ?? {}) as { blocks?: unknown };
      const n = typeof b.blocks === 'number' && Number.isInteger(b.blocks) ? b.blocks : 1;
      if (n < 1 || n > 100) throw new GatewayError('GW_BAD_FIELD', 'blocks must be 1..100');
      return { height: dev.mine(n) };
    });
  }
  return app;
}
