/**
 * The local stack's command (`pnpm mesh`, `npm start`, scripts/mesh.ts):
 * `skymesh mesh` with its options and output, plus a route server the
 * nodes use and the development gateway published on the mesh, with its
 * demo accounts. Ctrl-C stops everything and frees the ports.
 */
import { resolve } from 'node:path';
import { type CliIo, MESH_HELP, meshCommand, runCli, UsageError } from '@skymesh/node/cli';
import { type LocalStack, startLocalStack } from './stack.js';

/** Where `pnpm mesh` writes the demo accounts' seeds unless --accounts-file says otherwise. */
export const DEFAULT_ACCOUNTS_FILE = '.skymesh/demo-accounts.json';

/** The help text of the local stack. */
export const STACK_HELP = `${MESH_HELP.replace('Usage: skymesh mesh', 'Usage: pnpm mesh --')}
Route server (started first, unless --no-route-server; the service node
publishes it at its .mesh address, and the other nodes query it through
the mesh):
  --route-server-port <p>  its port on 127.0.0.1 (default 8401, 0 = any)
  --no-route-server        paths over the static topology instead

Gateway (the development payment gateway: PGlite in memory + devchain;
the service node publishes it at its .mesh address on mesh port 443;
demo accounts are opened and funded from the devchain faucet):
  --gateway-port <p>       its port on 127.0.0.1 (default 8402, 0 = any)
  --demo-accounts <n>      demo accounts to fund, 0..100 (default 3)
  --accounts-file <path>   where their seeds go, mode 0600, removed on stop
                           (default ${DEFAULT_ACCOUNTS_FILE}); seeds are never printed
  --no-gateway             no gateway
`;

/** Runs the local stack with `argv` (without node and script); resolves with the exit code. */
export function runLocalStackCli(argv: string[], io: CliIo): Promise<number> {
  // meshCommand prints the mesh once it runs (text or --json); the stack's
  // gateway part is added to that one output.
  let addGateway: ((text: string) => string) | undefined;
  const stackIo: CliIo = {
    ...io,
    out: (text) => {
      const add = addGateway;
      addGateway = undefined;
      return io.out(add ? add(text) : text);
    },
  };
  return runCli(['mesh', ...argv], stackIo, {
    mesh: (args, cio) =>
      meshCommand(args, cio, {
        help: STACK_HELP,
        options: {
          'route-server-port': { type: 'string' },
          'no-route-server': { type: 'boolean' },
          'gateway-port': { type: 'string' },
          'demo-accounts': { type: 'string' },
          'accounts-file': { type: 'string' },
          'no-gateway': { type: 'boolean' },
        },
        async start(meshOptions, values) {
          const accounts = values['demo-accounts'];
          if (
            accounts !== undefined &&
            !(typeof accounts === 'string' && /^\d{1,3}$/.test(accounts) && Number(accounts) <= 100)
          ) {
            throw new UsageError('--demo-accounts must be 0..100');
          }
          const file = values['accounts-file'];
          if (file !== undefined && (typeof file !== 'string' || file === '')) {
            throw new UsageError('--accounts-file must be a path');
          }
          const stack = await startLocalStack({
            ...meshOptions,
            routeServer: values['no-route-server'] !== true,
            routeServerPort: portOption(values, 'route-server-port', 8401),
            gateway: values['no-gateway'] !== true,
            gatewayOptions: {
              port: portOption(values, 'gateway-port', 8402),
              demoAccounts: accounts === undefined ? 3 : Number(accounts),
              accountsFile: resolve(file ?? DEFAULT_ACCOUNTS_FILE),
            },
          });
          addGateway =
            values.json === true
              ? (t) => withGatewayJson(t, stack)
              : (t) => withGatewayText(t, stack);
          const proxy = `${stack.mesh.socks.host}:${stack.mesh.socks.port}`;
          return {
            ...stack.mesh,
            commands: [
              ...stack.mesh.commands,
              ...(stack.gatewayMesh
                ? [`curl --socks5-hostname ${proxy} http://${stack.gatewayMesh}/v1/gateway`]
                : []),
            ],
            close: stack.close,
          };
        },
      }),
  });
}

function portOption(
  values: Record<string, string | boolean | undefined>,
  name: string,
  def: number,
): number {
  const v = values[name];
  if (v === undefined) return def;
  if (typeof v !== 'string' || !/^\d{1,5}$/.test(v) || Number(v) > 65535) {
    throw new UsageError(`--${name} must be a port number`);
  }
  return Number(v);
}

/** The gateway part of the text output (empty without a gateway). */
export function describeGateway(stack: LocalStack): string {
  const gw = stack.gateway;
  if (!gw) return '';
  const lines = [
    'Gateway (development: PGlite in memory + devchain):',
    `  local:       ${gw.url}`,
    `  over mesh:   ${stack.gatewayMesh}  (HTTP and ws /v1/ws, through the SOCKS5 proxy or a node's dialer)`,
    `  public key:  ${gw.publicKey}`,
  ];
  if (gw.accounts.length > 0) {
    lines.push(
      `  demo accounts${gw.accountsFile ? ` (seeds in ${gw.accountsFile}, mode 0600, removed on stop)` : ''}:`,
      ...gw.accounts.map(
        (a) => `    id ${a.id}  balance ${a.balance} droplets  key ${a.publicKey}`,
      ),
    );
  }
  return `${lines.join('\n')}\n\n`;
}

/** The mesh's text with the gateway part before its "Try:" commands. */
function withGatewayText(text: string, stack: LocalStack): string {
  const part = describeGateway(stack);
  return text.includes('\nTry:\n') ? text.replace('\nTry:\n', `\n${part}Try:\n`) : `${text}${part}`;
}

function withGatewayJson(text: string, stack: LocalStack): string {
  const gw = stack.gateway;
  const out = JSON.parse(text) as Record<string, unknown>;
  out.gateway = gw
    ? {
        url: gw.url,
        mesh: stack.gatewayMesh,
        publicKey: gw.publicKey,
        accounts: gw.accounts,
        accountsFile: gw.accountsFile,
      }
    : null;
  return `${JSON.stringify(out)}\n`;
}
