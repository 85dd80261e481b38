/**
 * The API-mode clients of the gateway bench (a child process of bench/index.ts,
 * so their CPU is not counted as the gateway's): CLIENTS WebSocket connections
 * to the gateway's /v1/ws, each driven by the client library's wsTransport on
 * the `ws` package, exactly as a Node client talks to a gateway.
 *
 * Protocol with the parent (IPC):
 *   parent → { type: 'round', calls: CallJson[] }  child → { type: 'loaded' }
 *   parent → { type: 'go' }                        child → { type: 'finished', secs, cpuUs }
 *                                                  child → { type: 'results', latencies, receipts }
 *   parent → { type: 'stop' }
 * The parent takes its CPU and wall readings between 'go' and 'finished', so
 * the big 'round' and 'results' messages stay outside the measured window.
 * Every call must come back with a receipt of status OK; anything else
 * (an error answer, a lost socket) ends the bench with the code.
 */
import { type CallJson, type ReceiptJson, wsTransport } from '@skymesh/protocol/gateway';
import WebSocket from 'ws';

const [url, clientsArg, inflightArg] = process.argv.slice(2);
const CLIENTS = Number(clientsArg);
const INFLIGHT = Number(inflightArg);
if (!url || !(CLIENTS > 0) || !(INFLIGHT > 0)) {
  throw new Error('usage: api-clients.ts <ws url> <clients> <inflight per client>');
}

/** Messages from the parent. */
export type ToClients = { type: 'round'; calls: CallJson[] } | { type: 'go' } | { type: 'stop' };
/** Messages to the parent. */
export type FromClients =
  | { type: 'open' }
  | { type: 'loaded' }
  | { type: 'finished'; secs: number; cpuUs: number }
  | { type: 'results'; latencies: number[]; receipts: ReceiptJson[] }
  | { type: 'failed'; error: string };

const send = (m: FromClients) => process.send!(m);
const transports = Array.from({ length: CLIENTS }, () =>
  wsTransport({ url, WebSocket: WebSocket as never, timeoutMs: 60_000 }),
);
// Open every socket up front (a checkpoint query each), outside the measurement.
await Promise.all(transports.map((t) => t.checkpoint()));
send({ type: 'open' });

let calls: CallJson[] = [];
process.on('message', async (m: ToClients) => {
  if (m.type === 'stop') {
    for (const t of transports) t.close();
    process.disconnect();
    return;
  }
  if (m.type === 'round') {
    calls = m.calls;
    send({ type: 'loaded' });
    return;
  }
  const latencies = new Array<number>(calls.length);
  const receipts = new Array<ReceiptJson>(calls.length);
  let cursor = 0;
  // INFLIGHT lanes per connection, all pulling from one queue of calls.
  const lane = async (k: number) => {
    const t = transports[k % CLIENTS]!;
    while (cursor < calls.length) {
      const i = cursor++;
      const t0 = performance.now();
      const res = await t.call(calls[i]!);
      latencies[i] = performance.now() - t0;
      if (res.receipt?.status !== 0) throw new Error(`call ${i}: no OK receipt`);
      receipts[i] = res.receipt;
    }
  };
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CLIENTS * INFLIGHT }, (_, k) => lane(k)));
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    send({ type: 'finished', secs, cpuUs: cpu.user + cpu.system });
    send({ type: 'results', latencies, receipts });
  } catch (e) {
    const code = (e as { code?: string }).code;
    send({ type: 'failed', error: `${code ?? ''} ${String(e)}` });
  }
});
