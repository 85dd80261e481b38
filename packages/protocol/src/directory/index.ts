/**
 * @skymesh/protocol/directory — the route server's data, pure and
 * browser-safe: signed link reports and their two-sided confirmation, the
 * versioned directory state, signed snapshots and diffs, and latency-aware
 * route finding (shared by the route server and nodes choosing locally).
 */

export { keyHex } from './_bytes.js';
export * from './client.js';
export { DIRECTORY_ERROR_CODES, DirectoryError, type DirectoryErrorCode } from './errors.js';
export * from './link-report.js';
export { netGroup, nodeGroups, pathDiverse } from './netgroup.js';
export * from './replica.js';
export * from './reports.js';
export * from './route-answer.js';
export * from './routes.js';
export * from './snapshot.js';
export * from './state.js';
export * from './synthetic.js';
