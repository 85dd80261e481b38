/**
 * The node's local HTTP API (status, links, routes, streams, services,
 * SOCKS settings, /api/live websocket, /metrics). docs/api.md.
 */
export * from './app.js';
export * from './metrics.js';
