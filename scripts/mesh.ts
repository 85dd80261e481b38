/**
 * The local mesh from the repository root (`pnpm mesh`, `npm start`): the
 * same as `skymesh mesh` — six nodes on 127.0.0.1, a demo service at a
 * .mesh address, a loopback-only exit and a SOCKS5 proxy on 127.0.0.1:1080
 * — with its options (`--help`). Ctrl-C stops it and frees the ports.
 */
import { processIo, runCli } from '../services/node/src/cli/main.js';

process.exitCode = await runCli(['mesh', ...process.argv.slice(2)], processIo());
process.exit();
