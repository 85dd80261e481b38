/**
 * The node's route layer: createRouter (source, relay and destination of
 * onion routes over CellLinks), its errors and statistics, route ID
 * allocation, and in-memory CellLink pairs for tests and benchmarks.
 */
export * from './errors.js';
export { createCellLinkPair, type FakeCellLink, type FakeLinkOptions } from './fake-link.js';
export * from './fake-mesh.js';
export * from './ids.js';
export * from './path.js';
export * from './router.js';
