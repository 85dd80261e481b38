/**
 * The local stack's command (`pnpm mesh`, `npm start`, scripts/mesh.ts):
 * `skymesh mesh` with its options and output, plus a route server the
 * nodes use. Ctrl-C stops everything and frees the ports.
 */
import { type CliIo, MESH_HELP, meshCommand, runCli, UsageError } from '@skymesh/node/cli';
import { startLocalStack } from './stack.js';

/** The help text of the local stack. */
export const STACK_HELP = `${MESH_HELP.replace('Usage: skymesh mesh', 'Usage: pnpm mesh --')}
Route server (started first, unless --no-route-server; the service node
publishes it at its .mesh address, and the other nodes query it through
the mesh):
  --route-server-port <p>  its port on 127.0.0.1 (default 8401, 0 = any)
  --no-route-server        paths over the static topology instead
`;

/** Runs the local stack with `argv` (without node and script); resolves with the exit code. */
export function runLocalStackCli(argv: string[], io: CliIo): Promise<number> {
  return runCli(['mesh', ...argv], io, {
    mesh: (args, cio) =>
      meshCommand(args, cio, {
        help: STACK_HELP,
        options: {
          'route-server-port': { type: 'string' },
          'no-route-server': { type: 'boolean' },
        },
        async start(meshOptions, values) {
          const port = values['route-server-port'];
          if (port !== undefined && (typeof port !== 'string' || !/^\d{1,5}$/.test(port))) {
            throw new UsageError('--route-server-port must be a port number');
          }
          const stack = await startLocalStack({
            ...meshOptions,
            routeServer: values['no-route-server'] !== true,
            routeServerPort: port === undefined ? 8401 : Number(port),
          });
          return { ...stack.mesh, close: stack.close };
        },
      }),
  });
}
