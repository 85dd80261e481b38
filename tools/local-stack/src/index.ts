/** @skymesh/local-stack — the route server, the development gateway and the local mesh in one process (`pnpm mesh`). */
export { DEFAULT_ACCOUNTS_FILE, describeGateway, runLocalStackCli, STACK_HELP } from './cli.js';
export {
  GATEWAY_MESH_PORT,
  gatewayOverMesh,
  type StackDemoAccount,
  type StackGateway,
  type StackGatewayOptions,
  startStackGateway,
} from './gateway.js';
export {
  type RouteServerOptions,
  type RunningRouteServer,
  startRouteServer,
} from './route-server.js';
export {
  type LocalStack,
  type LocalStackOptions,
  type StackService,
  startLocalStack,
} from './stack.js';
