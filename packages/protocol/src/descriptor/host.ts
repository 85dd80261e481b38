/**
 * Host names and IP literals as descriptors carry them, and the exit-policy
 * host patterns. Descriptors hold hosts in one canonical text form
 * (lowercase, no brackets, no trailing dot) so that a signed descriptor has
 * one encoding; IP literals are compared as bytes so "::1" and
 * "0:0:0:0:0:0:0:1" are the same host.
 */

/** Longest host name (RFC 1035: 253 characters in text form). */
export const MAX_HOST_LENGTH = 253;

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DIGITS_AND_DOTS = /^[0-9.]+$/;
const DECIMAL = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/;

/** The 4 bytes of a dotted-quad IPv4 literal (no leading zeros), or null. */
export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!DECIMAL.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

/** The 16 bytes of a lowercase IPv6 literal (with `::` and a trailing IPv4 allowed, no zone), or null. */
export function parseIPv6(text: string): Uint8Array | null {
  if (text.length < 2 || text.length > 45) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (half: string): string[] => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  // An embedded IPv4 literal may only end the address.
  const end = halves.length === 2 ? tail : head;
  let v4: Uint8Array | null = null;
  if (end[end.length - 1]?.includes('.')) {
    v4 = parseIPv4(end.pop()!);
    if (!v4) return null;
  }
  for (const g of [...head, ...tail]) if (!HEX_GROUP.test(g)) return null;
  const total = head.length + tail.length + (v4 ? 2 : 0);
  if (halves.length === 2 ? total > 7 : total !== 8) return null;
  const words: number[] = [];
  for (const g of head) words.push(Number.parseInt(g, 16));
  if (halves.length === 2) for (let i = total; i < 8; i++) words.push(0);
  for (const g of tail) words.push(Number.parseInt(g, 16));
  const out = new Uint8Array(16);
  for (let i = 0; i < words.length; i++) {
    out[2 * i] = words[i]! >>> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  if (v4) out.set(v4, 12);
  return out;
}

/** The bytes of an IP literal (4 or 16), or null when `host` is not one. */
export function parseIP(host: string): Uint8Array | null {
  return host.includes(':') ? parseIPv6(host) : parseIPv4(host);
}

/** True for a lowercase DNS host name (letters, digits, hyphens; labels of 1..63). */
export function isHostName(host: string): boolean {
  if (host.length === 0 || host.length > MAX_HOST_LENGTH) return false;
  if (DIGITS_AND_DOTS.test(host)) return false; // looks like IPv4: must parse as one
  for (const label of host.split('.')) if (!LABEL.test(label)) return false;
  return true;
}

/**
 * Why `host` is not a canonical descriptor host (a lowercase host name, an
 * IPv4 literal or an IPv6 literal without brackets), or null when it is.
 */
export function hostProblem(host: string): string | null {
  if (typeof host !== 'string' || host.length === 0) return 'empty host';
  if (host.length > MAX_HOST_LENGTH) return `host longer than ${MAX_HOST_LENGTH}`;
  if (isHostName(host) || parseIP(host)) return null;
  return 'not a lowercase host name, IPv4 or IPv6 literal';
}

/**
 * Why `pattern` is not a valid exit host pattern, or null when it is: `*`
 * (any host), `*.<host name>` (any subdomain, not the name itself) or an
 * exact host as hostProblem accepts.
 */
export function hostPatternProblem(pattern: string): string | null {
  if (pattern === '*') return null;
  if (typeof pattern === 'string' && pattern.startsWith('*.')) {
    return isHostName(pattern.slice(2)) ? null : 'bad host name after "*."';
  }
  return hostProblem(pattern);
}

/**
 * A requested host in the canonical form descriptors use: lowercased, IPv6
 * brackets and one trailing dot removed. Null when it is not a valid host.
 */
export function normalizeHost(host: string): string | null {
  if (typeof host !== 'string') return null;
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  else if (h.endsWith('.')) h = h.slice(0, -1);
  return hostProblem(h) === null ? h : null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when canonical `host` (see normalizeHost) matches a valid `pattern`. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return isHostName(host) && host.endsWith(pattern.slice(1));
  const a = parseIP(pattern);
  if (a) {
    const b = parseIP(host);
    return b !== null && sameBytes(a, b);
  }
  return pattern === host;
}
