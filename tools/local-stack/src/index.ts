/** @skymesh/local-stack — the route server and the local mesh in one process (`pnpm mesh`). */
export { runLocalStackCli, STACK_HELP } from './cli.js';
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
