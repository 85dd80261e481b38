/**
 * Gateway entry point: validates the environment, starts the gateway and
 * listens. SIGINT/SIGTERM drain in-flight calls before exiting.
 */
import pino from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { startGateway } from './gateway.js';

const bootLog = pino({ name: 'gateway' });
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
const logger = pino({ name: 'gateway', level: config.LOG_LEVEL });
const gw = await startGateway(config, { logger });
const address = await gw.app.listen({ host: config.HOST, port: config.PORT });
logger.info(
  { address, chain: gw.chain.name, db: gw.database.driver, logSize: gw.ledger.logSize },
  'gateway listening',
);
// Machine-readable line for scripts and tests that start the gateway on port 0.
process.stdout.write(`GATEWAY_LISTENING ${address}\n`);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, async () => {
    if (stopping) return;
    stopping = true;
    logger.info({ sig }, 'stopping');
    await gw.stop();
    process.exit(0);
  });
}
