/**
 * The node's local apps: the SOCKS5 proxy, the stream dialer (session pool,
 * rotation, isolation, exit selection), the destination-side acceptor
 * (published services and exits), the connect reply, the apps' config and
 * startNodeWithApps which runs a node with all of them. docs/drafts/apps.md.
 */
export * from './acceptor.js';
export * from './config.js';
export * from './connect-reply.js';
export * from './dialer.js';
export * from './errors.js';
export * from './run.js';
export * from './socks5.js';
export * from './topology.js';
export * from './ws-over-stream.js';
