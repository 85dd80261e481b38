/**
 * Mesh node entry point: validates the configuration (`--config <file>` or
 * SKYMESH_CONFIG, SKYMESH_* overrides), loads or makes the identity seed in
 * the data dir, starts the node and runs until SIGINT/SIGTERM, which close
 * it cleanly (a second signal exits at once); SIGHUP re-reads the directory
 * file. A bad value stops the node with exit code 2 and a message naming
 * the field.
 *
 *   pnpm --filter @skymesh/node start -- --config node.json
 */
import { writeFile } from 'node:fs/promises';
import { descriptorToJSON } from '@skymesh/protocol';
import {
  ConfigError,
  loadConfig,
  loadOrCreateIdentity,
  type NodeConfig,
  nodeInitFromConfig,
} from './config.js';
import { type DescriptorInput, readDirectoryFile } from './directory.js';
import { createLogger } from './log.js';
import { createNode } from './node.js';

let config: NodeConfig;
try {
  config = await loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    createLogger('info').fatal({ fields: err.fields }, err.message);
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

const log = createLogger(config.logLevel);
const identity = await loadOrCreateIdentity(config.dataDir);
const node = await createNode({ ...nodeInitFromConfig(config), identity, logger: log });
if (config.descriptorOut) {
  await writeFile(config.descriptorOut, `${JSON.stringify(descriptorToJSON(node.descriptor))}\n`);
}
log.info(
  { address: node.address, endpoints: node.endpoints, known: node.directory().length },
  'node running',
);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) process.exit(1);
  stopping = true;
  log.info({ signal }, 'shutting down');
  await node.close();
  process.exit(0);
}
// SIGHUP re-reads the directory file (a local mesh rewrites it as nodes come up).
process.on('SIGHUP', () => {
  const file = config.directoryFile;
  if (!file) return;
  readDirectoryFile(file).then(
    (list) => {
      const r = node.addDescriptors(list as DescriptorInput[]);
      log.info({ added: r.added, refused: r.rejected.length }, 'directory reloaded');
    },
    (err: unknown) => log.warn({ err }, 'directory reload failed'),
  );
});
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
