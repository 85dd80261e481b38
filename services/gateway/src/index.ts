/** @skymesh/gateway — the payment gateway service: ledger, API, chain adapters. */
export { buildApp, MAX_MESSAGE_BYTES, toGatewayError } from './app.js';
export { isSkycoinAddress, skycoinAddressFromHash } from './chain/base58.js';
export { DevChain } from './chain/devchain.js';
export { SkycoinChain } from './chain/skycoin.js';
export * from './chain/types.js';
export { type Config, ConfigError, loadConfig } from './config.js';
export { type CryptoPool, createCryptoPool, defaultPoolSize } from './crypto-pool.js';
export { type Database, openDatabase, type RawSql } from './db/client.js';
export { creditDeposit, scanDeposits } from './deposits.js';
export {
  type DemoAccount,
  type DevGateway,
  type DevGatewayOptions,
  startDevGateway,
} from './dev.js';
export { type Gateway, startGateway } from './gateway.js';
export { type CallResult, Ledger, SYSTEM } from './ledger.js';
export { type Conservation, conservation } from './postings.js';
export { processWithdrawals } from './withdrawals.js';
