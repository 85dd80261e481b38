/**
 * Process entry of the `skymesh` command (run through tsx by the bin
 * script): runs the CLI and exits with its code.
 */
import { processIo, runCli } from './main.js';

process.exitCode = await runCli(process.argv.slice(2), processIo());
// Timers of closed nodes may linger for a moment; nothing is left to do.
process.exit();
