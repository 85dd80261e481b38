/** Exit-policy matching: may this exit open a stream to host:port? */
import type { NodeDescriptor } from './descriptor.js';
import { hostMatches, normalizeHost } from './host.js';

/**
 * True when the descriptor's node is an exit and its policy allows `host`
 * (a host name, IPv4, or IPv6 literal with or without brackets; case and
 * one trailing dot are ignored) on `port`. Invalid hosts or ports are never
 * allowed; the default policy allows nothing.
 */
export function exitAllows(desc: NodeDescriptor, host: string, port: number): boolean {
  if (!desc.roles.exit) return false;
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) return false;
  const { ports, hosts } = desc.exitPolicy;
  if (!ports.some((r) => r.from <= port && port <= r.to)) return false;
  const h = normalizeHost(host);
  return h !== null && hosts.some((p) => hostMatches(p, h));
}
