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

/** How long a repeated signal counts as the same Ctrl-C. */
const SAME_PRESS_MS = 1000;

/**
 * Resolves on SIGINT/SIGTERM. Ctrl-C reaches both tsx and this process
 * (one process group), and tsx relays it: that copy, within a second, is
 * the same press and must not cut the shutdown short (the stack then
 * closes its services and removes the demo seeds file). A later signal
 * exits at once.
 */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    let first = 0;
    const on = (sig: NodeJS.Signals) => {
      if (first === 0) {
        first = Date.now();
        resolve(sig);
      } else if (Date.now() - first > SAME_PRESS_MS) process.exit(130);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

process.exitCode = await runLocalStackCli(process.argv.slice(2), { ...processIo(), stopSignal });
process.exit();
