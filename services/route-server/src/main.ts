/**
 * Route server entry point: validates the environment, starts the service
 * (and the mirror sync when UPSTREAM_URL is set) and listens.
 * SIGINT/SIGTERM close it.
 */
import { fromHex, randomBytes } from '@skymesh/crypto';
import pino from 'pino';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, upstreamKeyBytes } from './config.js';
import { DirectoryService } from './directory.js';
import { Mirror } from './mirror.js';

const bootLog = pino({ name: 'route-server' });
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (e) {
  if (e instanceof ConfigError) {
    bootLog.fatal({ variables: e.variables }, e.message);
    process.exit(2);
  }
  throw e;
}
const logger = pino({ name: 'route-server', level: config.LOG_LEVEL });
if (!config.ROUTE_SERVER_KEY) logger.warn('ROUTE_SERVER_KEY unset: using a throwaway key');
const service = new DirectoryService({
  key: config.ROUTE_SERVER_KEY ? fromHex(config.ROUTE_SERVER_KEY) : randomBytes(32),
  descriptorTtl: config.DESCRIPTOR_TTL_S,
  reportTtl: config.REPORT_TTL_S,
  clockSkew: config.CLOCK_SKEW_S,
  maxTombstones: config.MAX_TOMBSTONES,
  snapshotMinIntervalMs: config.SNAPSHOT_MIN_INTERVAL_MS,
  graphMinIntervalMs: config.GRAPH_MIN_INTERVAL_MS,
  readOnly: config.UPSTREAM_URL !== undefined,
  limits: {
    requestRatePerIp: config.REQ_RATE_PER_IP,
    requestBurstPerIp: config.REQ_BURST_PER_IP,
    requestRatePerPrefix: config.REQ_RATE_PER_PREFIX,
    requestBurstPerPrefix: config.REQ_BURST_PER_PREFIX,
    nodesPerIp: config.NODES_PER_IP,
    nodesPerPrefix: config.NODES_PER_PREFIX,
    exempt: config.LIMIT_EXEMPT.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  },
});
const mirror =
  config.UPSTREAM_URL && config.UPSTREAM_KEY
    ? new Mirror(service, {
        upstreamUrl: config.UPSTREAM_URL,
        upstreamKey: upstreamKeyBytes(config.UPSTREAM_KEY),
        intervalMs: config.SYNC_INTERVAL_MS,
        logger,
      })
    : undefined;
const app = await buildApp({
  service,
  mirror,
  logger,
  trustProxy: config.TRUST_PROXY,
  expireIntervalMs: config.EXPIRE_INTERVAL_MS,
});
mirror?.start();
const address = await app.listen({ host: config.HOST, port: config.PORT });
logger.info(
  { address, address_key: service.address, mirrorOf: config.UPSTREAM_URL ?? null },
  'route server listening',
);
// Machine-readable line for scripts and tests that start the server on port 0.
process.stdout.write(`ROUTE_SERVER_LISTENING ${address} ${service.address}\n`);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, async () => {
    if (stopping) return;
    stopping = true;
    logger.info({ sig }, 'stopping');
    await mirror?.stop();
    await app.close();
    process.exit(0);
  });
}
