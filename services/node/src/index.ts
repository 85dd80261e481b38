/**
 * @skymesh/node — the mesh node: createNode wires links, routes and
 * sessions together (node.ts); config.ts validates a node's configuration;
 * directory.ts loads and verifies static directories. The layers are
 * exported too, for tools, tests and benchmarks that use one on its own.
 */
export * from './config.js';
export type {
  CellLink,
  ChannelStatus,
  MeshTarget,
  OpenStreamOptions,
  RouteChannel,
} from './contracts.js';
export * from './directory.js';
export * as link from './link/index.js';
export * from './log.js';
export * from './node.js';
export * as route from './route/index.js';
export * as session from './session/index.js';
