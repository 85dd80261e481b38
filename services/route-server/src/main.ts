/**
 * Route server entry point: @skymesh/service-kit validates the environment
 * (exit 2 naming the variable) and prints
 * `ROUTE_SERVER_LISTENING <address> <key address>` once listening; this file
 * builds the service (and the mirror sync when UPSTREAM_URL is set).
 * SIGINT/SIGTERM close it.
 */
import { fromHex, randomBytes } from '@skymesh/crypto';
import { runService } from '@skymesh/service-kit';
import { buildApp } from './app.js';
import { loadConfig, upstreamKeyBytes } from './config.js';
import { DirectoryService } from './directory.js';
import { Mirror } from './mirror.js';

await runService({
  name: 'route-server',
  loadConfig,
  async start(config, logger) {
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
    return {
      address,
      announce: [service.address],
      details: { address_key: service.address, mirrorOf: config.UPSTREAM_URL ?? null },
      async stop() {
        await mirror?.stop();
        await app.close();
      },
    };
  },
});
