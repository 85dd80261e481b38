/**
 * Strict readers for the JSON form of gateway messages: 64-bit integers as
 * decimal strings, byte strings as lowercase hex. Each failure names the field.
 */
import { fromHex, toHex } from '@skymesh/crypto';
import { GatewayError } from './errors.js';

/** A plain object, or GW_MALFORMED. */
export function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new GatewayError('GW_MALFORMED', `${field} must be an object`, { field });
  }
  return v as Record<string, unknown>;
}

/** An unsigned 64-bit integer written as a canonical decimal string. */
export function u64(v: unknown, field: string): bigint {
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(v)) {
    throw new GatewayError('GW_BAD_FIELD', `${field} must be a decimal integer string`, { field });
  }
  const n = BigInt(v);
  if (n >= 1n << 64n) throw new GatewayError('GW_BAD_FIELD', `${field} exceeds 64 bits`, { field });
  return n;
}

/** A small non-negative integer (JSON number) in [min, max]. */
export function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new GatewayError('GW_BAD_FIELD', `${field} must be an integer in ${min}..${max}`, {
      field,
    });
  }
  return v;
}

/** Exactly `len` bytes as lowercase hex. */
export function hex(v: unknown, field: string, len: number): Uint8Array {
  if (typeof v !== 'string' || v.length !== len * 2 || !/^[0-9a-f]*$/.test(v)) {
    throw new GatewayError('GW_BAD_FIELD', `${field} must be ${len} bytes of lowercase hex`, {
      field,
    });
  }
  return fromHex(v);
}

/** Up to `max` bytes as lowercase hex. */
export function hexUpTo(v: unknown, field: string, max: number): Uint8Array {
  if (typeof v !== 'string' || v.length > max * 2 || v.length % 2 || !/^[0-9a-f]*$/.test(v)) {
    throw new GatewayError('GW_BAD_FIELD', `${field} must be ≤ ${max} bytes of lowercase hex`, {
      field,
    });
  }
  return fromHex(v);
}

export { toHex };
