/**
 * The local stack from the repository root (`pnpm mesh`, `npm start`): a
 * route server and the development payment gateway (PGlite + devchain, a
 * few funded demo accounts; seeds in .skymesh/demo-accounts.json, 0600),
 * then six nodes on 127.0.0.1 that register with the route server, report
 * their links and take their paths from it (through the mesh), a demo
 * service and the gateway (mesh port 443) at the service node's .mesh
 * address, a loopback-only exit and a SOCKS5 proxy on 127.0.0.1:1080 —
 * with its options (`--help`). Ctrl-C stops it and frees the ports. See
 * tools/local-stack.
 */
import { processIo } from '../services/node/src/cli/main.js';
import { runLocalStackCli } from '../tools/local-stack/src/cli.js';

process.exitCode = await runLocalStackCli(process.argv.slice(2), processIo());
process.exit();
