/**
 * The node's link layer: obfuscated, encrypted node↔node links over
 * pluggable transports (ws/wss, TCP, in-memory). See docs/drafts/links.md.
 */
export * from './errors.js';
export * from './link.js';
export * from './manager.js';
export { ReplayCache } from './replay.js';
export { loadOrCreateSelfSignedCert } from './tls.js';
export * from './transport.js';
export * from './transports/memory.js';
export * from './transports/tap.js';
export * from './transports/tcp.js';
export * from './transports/ws.js';
