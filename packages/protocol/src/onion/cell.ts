/**
 * The route header every cell starts with, and cell assembly:
 *
 *   0  route ID  u32 big-endian   per link, chosen by the side that sent SETUP
 *   4  command   u8               RouteCommand
 *   5  body      CELL_BODY_SIZE   meaning set by the command
 *
 * Route IDs are per link: whoever sends SETUP on a link picks the ID, with
 * the top bit set by the side whose Ed25519 key sorts higher, so the two ends
 * of a link never pick the same ID.
 */
import { randomBytes } from '@skymesh/crypto';
import { CELL_SIZE } from '../constants.js';
import { CELL_BODY_SIZE, ROUTE_HEADER_SIZE, RouteCommand, TOKEN_SIZE } from './constants.js';
import { OnionError } from './errors.js';

/** A decoded route header. */
export interface RouteHeader {
  readonly routeId: number;
  readonly command: RouteCommand;
}

const COMMANDS = new Set<number>(Object.values(RouteCommand));

/**
 * Reads the route header of a cell.
 * @throws OnionError ONION_BAD_CELL for a cell that is not CELL_SIZE bytes or has an unknown command.
 */
export function decodeRouteHeader(cell: Uint8Array): RouteHeader {
  if (!(cell instanceof Uint8Array) || cell.length !== CELL_SIZE) {
    throw new OnionError('ONION_BAD_CELL', `a cell has ${CELL_SIZE} bytes`);
  }
  const command = cell[4]!;
  if (!COMMANDS.has(command)) {
    throw new OnionError('ONION_BAD_CELL', `unknown route command ${command}`, { command });
  }
  const routeId = ((cell[0]! << 24) | (cell[1]! << 16) | (cell[2]! << 8) | cell[3]!) >>> 0;
  return { routeId, command: command as RouteCommand };
}

/** The body of a cell (a view, no copy). */
export function cellBody(cell: Uint8Array): Uint8Array {
  return cell.subarray(ROUTE_HEADER_SIZE);
}

/**
 * Assembles a cell. A body shorter than CELL_BODY_SIZE is placed at
 * `bodyOffset` (default 0) and the rest filled with random bytes, so no
 * padding byte is predictable.
 */
export function encodeCell(
  routeId: number,
  command: RouteCommand,
  body: Uint8Array,
  bodyOffset = 0,
): Uint8Array {
  if (body.length + bodyOffset > CELL_BODY_SIZE) {
    throw new OnionError('ONION_TOO_LARGE', 'cell body too large');
  }
  const pad = body.length + bodyOffset < CELL_BODY_SIZE;
  const cell = pad ? randomBytes(CELL_SIZE) : new Uint8Array(CELL_SIZE);
  if (pad && bodyOffset > 0) cell.fill(0, ROUTE_HEADER_SIZE, ROUTE_HEADER_SIZE + bodyOffset);
  writeRouteHeader(cell, routeId, command);
  cell.set(body, ROUTE_HEADER_SIZE + bodyOffset);
  return cell;
}

// Cells the data path makes are carved out of shared 64 KiB slabs: one
// ArrayBuffer (and one backing store for the garbage collector to free) per
// ~30 cells instead of one each. Each slice is zero when handed out and used
// once; the slab is freed when its last cell is. A cell that waits keeps its
// whole slab alive: queues that hold cells use CellQueue, which bounds that.
/** Bytes of one slab allocCellBuffer carves cells from. */
export const SLAB_SIZE = 64 * 1024;
let slab = new Uint8Array(0);
let slabUsed = 0;

/**
 * A zeroed array of `length` bytes (≤ 4 KiB) from the current slab: a view,
 * whose `.buffer` other cells share — read it only through the view.
 */
export function allocCellBuffer(length: number = CELL_SIZE): Uint8Array {
  if (length > 4096) return new Uint8Array(length);
  if (slabUsed + length > slab.length) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + length);
  slabUsed += length;
  return out;
}

/** Writes the route header (route ID, command) into the first 5 bytes of `cell`. */
export function writeRouteHeader(cell: Uint8Array, routeId: number, command: RouteCommand): void {
  cell[0] = routeId >>> 24;
  cell[1] = (routeId >>> 16) & 0xff;
  cell[2] = (routeId >>> 8) & 0xff;
  cell[3] = routeId & 0xff;
  cell[4] = command;
}

/** A control cell (DESTROY, PAUSE, RESUME): token ‖ random padding. */
export function encodeControlCell(routeId: number, command: RouteCommand, token: Uint8Array) {
  if (token.length !== TOKEN_SIZE) throw new OnionError('ONION_BAD_CELL', 'bad token length');
  return encodeCell(routeId, command, token);
}

/** The token of a control cell (a view). */
export function controlToken(cell: Uint8Array): Uint8Array {
  return cell.subarray(ROUTE_HEADER_SIZE, ROUTE_HEADER_SIZE + TOKEN_SIZE);
}

/**
 * A FIFO of cells that bounds the memory its cells keep alive. A cell that is
 * a view into a larger buffer (a slab cell, or a cell parsed out of a
 * received chunk) pins that whole buffer while it waits, so a queue whose
 * cells each came from a different slab (a stalled route while other traffic
 * flows) would hold up to 32× its cells' size. The queue counts the backing
 * bytes its cells pin (a run of consecutive cells sharing one buffer counts
 * it once; an upper bound) and stores a copy (its own CELL_SIZE array)
 * instead of a view whose buffer would take that count past `budget`
 * (default: `maxCells` cells of CELL_SIZE plus two slabs, room for a full
 * queue of consecutive slab cells, so a flowing route copies nothing). What
 * a queue of n cells pins is at most `budget` + n × the cell length.
 */
export class CellQueue {
  private items: Uint8Array[] = [];
  private head = 0;
  private pinned = 0;
  private copied = 0;
  readonly budget: number;

  constructor(maxCells: number, budget = maxCells * CELL_SIZE + 2 * SLAB_SIZE) {
    this.budget = budget;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Backing-store bytes the queued cells keep alive, as counted (≥ the distinct buffers' total). */
  get pinnedBytes(): number {
    return this.pinned;
  }

  /** Cells stored as copies because the budget was reached (since the queue was made). */
  get copies(): number {
    return this.copied;
  }

  /** The oldest cell, without removing it. */
  peek(): Uint8Array | undefined {
    return this.items[this.head];
  }

  push(cell: Uint8Array): void {
    const n = this.items.length;
    if (n > this.head && this.items[n - 1]!.buffer === cell.buffer) {
      this.items.push(cell);
      return;
    }
    let c = cell;
    if (c.buffer.byteLength > c.byteLength && this.pinned + c.buffer.byteLength > this.budget) {
      c = c.slice();
      this.copied++;
    }
    this.pinned += c.buffer.byteLength;
    this.items.push(c);
  }

  /** Removes and returns the oldest cell (undefined when empty). */
  shift(): Uint8Array | undefined {
    if (this.head >= this.items.length) return undefined;
    const c = this.items[this.head]!;
    this.items[this.head++] = EMPTY_CELL;
    const next = this.items[this.head];
    if (next?.buffer !== c.buffer) this.pinned -= c.buffer.byteLength;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return c;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.pinned = 0;
  }
}

const EMPTY_CELL = new Uint8Array(0);
