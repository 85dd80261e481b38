/**
 * Constants every layer agrees on. CELL_SIZE is the fixed size of every cell
 * a link carries (data, setup, control alike); docs/protocol.md justifies it.
 */
export const CELL_SIZE = 2048;
/** Longest route a source may build (hops, destination included). */
export const MAX_HOPS = 8;
