/**
 * Gateway entry point: @skymesh/service-kit validates the environment (exit
 * 2 naming the variable), prints `GATEWAY_LISTENING <address>` once
 * listening, and on SIGINT/SIGTERM calls stop, which drains in-flight calls.
 */
import { runService } from '@skymesh/service-kit';
import { loadConfig } from './config.js';
import { startGateway } from './gateway.js';

await runService({
  name: 'gateway',
  loadConfig,
  async start(config, logger) {
    const gw = await startGateway(config, { logger });
    const address = await gw.app.listen({ host: config.HOST, port: config.PORT });
    return {
      address,
      details: { chain: gw.chain.name, db: gw.database.driver, logSize: gw.ledger.logSize },
      stop: () => gw.stop(),
    };
  },
});
