/**
 * Amounts. Money is a bigint count of droplets, the coin's smallest unit
 * (1 coin = 1,000,000 droplets, as on Skycoin); never a float. Amounts
 * cross the wire as decimal strings of droplets so JSON cannot round them.
 */
import { GatewayError } from './errors.js';

/** Droplets in one whole coin. */
export const DROPLETS_PER_COIN = 1_000_000n;

/**
 * Largest amount or balance a ledger holds: 2^63 − 1, the top of a Postgres
 * bigint. Far above the coin's 100M supply (10^14 droplets).
 */
export const MAX_AMOUNT = (1n << 63n) - 1n;

/** Smallest withdrawal: one whole coin. */
export const MIN_WITHDRAWAL = DROPLETS_PER_COIN;

/**
 * Checks a positive amount: an integer bigint in 1..MAX_AMOUNT.
 * @throws GatewayError GW_BAD_AMOUNT (zero, negative, not an integer) or GW_AMOUNT_TOO_LARGE.
 */
export function checkAmount(amount: bigint, field = 'amount'): bigint {
  if (typeof amount !== 'bigint') {
    throw new GatewayError('GW_BAD_AMOUNT', `${field} must be an integer count of droplets`, {
      field,
    });
  }
  if (amount <= 0n) throw new GatewayError('GW_BAD_AMOUNT', `${field} must be positive`, { field });
  if (amount > MAX_AMOUNT) {
    throw new GatewayError('GW_AMOUNT_TOO_LARGE', `${field} exceeds 2^63-1`, { field });
  }
  return amount;
}

/**
 * Parses a decimal string of droplets ("1500000") into a checked amount.
 * Rejects signs, decimals, exponents, leading zeros and anything over MAX_AMOUNT.
 * @throws GatewayError GW_BAD_AMOUNT or GW_AMOUNT_TOO_LARGE.
 */
export function parseAmount(text: unknown, field = 'amount'): bigint {
  if (typeof text !== 'string' || !/^[1-9][0-9]*$/.test(text)) {
    throw new GatewayError('GW_BAD_AMOUNT', `${field} must be a positive decimal integer string`, {
      field,
    });
  }
  // 20 digits already exceeds 2^63; refusing early keeps BigInt() off huge strings.
  if (text.length > 19) {
    throw new GatewayError('GW_AMOUNT_TOO_LARGE', `${field} exceeds 2^63-1`, { field });
  }
  return checkAmount(BigInt(text), field);
}

/**
 * Converts a coin string with up to 6 decimals ("1.5") to droplets (1500000n).
 * @throws GatewayError GW_BAD_AMOUNT for anything else.
 */
export function coinsToDroplets(coins: string): bigint {
  const m = /^(0|[1-9][0-9]{0,14})(?:\.([0-9]{1,6}))?$/.exec(coins);
  if (!m) throw new GatewayError('GW_BAD_AMOUNT', 'not a coin amount with ≤ 6 decimals');
  const frac = (m[2] ?? '').padEnd(6, '0');
  return BigInt(m[1]!) * DROPLETS_PER_COIN + BigInt(frac);
}

/** Formats droplets as a coin string with exactly 6 decimals ("1.500000"). */
export function dropletsToCoins(droplets: bigint): string {
  const neg = droplets < 0n;
  const abs = neg ? -droplets : droplets;
  const whole = abs / DROPLETS_PER_COIN;
  const frac = (abs % DROPLETS_PER_COIN).toString().padStart(6, '0');
  return `${neg ? '-' : ''}${whole}.${frac}`;
}
