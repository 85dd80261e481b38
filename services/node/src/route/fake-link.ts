/**
 * In-memory CellLink pairs for tests and benchmarks of the route layer: two
 * connected ends with a bounded queue each way, delivering in order and
 * asynchronously (setImmediate batches), returning false from sendCell when
 * the queue is full and calling the drain handler once it empties. A `tap`
 * sees every cell in transit and may replace or drop it (tamper tests,
 * instrumented relays).
 */
import { encodeAddress } from '@skymesh/crypto';
import { CELL_SIZE } from '@skymesh/protocol';
import type { CellLink, ChannelStatus } from '../contracts.js';

export interface FakeLinkOptions {
  /**
   * Cells that may wait in each direction before sendCell returns false.
   * @default 64
   */
  readonly queueLimit?: number;
  /**
   * Sees each cell as it is delivered; return a replacement, null to drop it,
   * or undefined to deliver it unchanged. `from` is 'a' or 'b'.
   */
  readonly tap?: (cell: Uint8Array, from: 'a' | 'b') => Uint8Array | null | undefined;
}

/** A fake CellLink with test hooks. */
export interface FakeCellLink extends CellLink {
  /** Hands `cell` to this end's owner as if it came from the far end (any length). */
  receive(cell: Uint8Array): void;
  /** Stops delivering this end's outgoing cells (they queue up to the limit). */
  hold(): void;
  /** Resumes delivery. */
  release(): void;
}

class MemoryCellLink implements FakeCellLink {
  readonly peerAddress: string;
  status: ChannelStatus = 'open';
  peer!: MemoryCellLink;
  private held = false;
  private readonly queue: Uint8Array[] = [];
  private scheduled = false;
  private wantsDrain = false;
  private cellHandler: (cell: Uint8Array) => void = () => {};
  private drainHandler: () => void = () => {};
  private closeHandler: (reason: string) => void = () => {};

  constructor(
    readonly peerKey: Uint8Array,
    private readonly name: 'a' | 'b',
    private readonly options: FakeLinkOptions,
  ) {
    this.peerAddress = encodeAddress(peerKey);
  }

  sendCell(cell: Uint8Array): boolean {
    if (this.status !== 'open') return false;
    if (cell.length !== CELL_SIZE) throw new RangeError(`a cell has ${CELL_SIZE} bytes`);
    if (this.queue.length >= (this.options.queueLimit ?? 64)) {
      this.wantsDrain = true;
      return false;
    }
    this.queue.push(cell.slice());
    this.schedule();
    return true;
  }

  onCell(handler: (cell: Uint8Array) => void): void {
    this.cellHandler = handler;
  }
  onDrain(handler: () => void): void {
    this.drainHandler = handler;
  }
  onClose(handler: (reason: string) => void): void {
    this.closeHandler = handler;
  }

  close(reason = 'closed'): void {
    if (this.status === 'closed') return;
    this.shut(reason);
    this.peer.shut(reason);
  }

  receive(cell: Uint8Array): void {
    this.cellHandler(cell);
  }

  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.held || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => this.deliver());
  }

  private shut(reason: string): void {
    if (this.status === 'closed') return;
    this.status = 'closed';
    this.queue.length = 0;
    setImmediate(() => this.closeHandler(reason));
  }

  private deliver(): void {
    this.scheduled = false;
    if (this.held) return;
    const batch = this.queue.splice(0, this.queue.length);
    for (const cell of batch) {
      if (this.status !== 'open' || this.peer.status !== 'open') return;
      const tapped = this.options.tap ? this.options.tap(cell, this.name) : undefined;
      if (tapped === null) continue;
      this.peer.receive(tapped ?? cell);
    }
    if (this.wantsDrain && this.status === 'open') {
      this.wantsDrain = false;
      this.drainHandler();
    }
  }
}

/**
 * Two connected CellLinks: `a` is held by the node with key `aKey` (its
 * peerKey is `bKey`) and `b` by the node with key `bKey`.
 */
export function createCellLinkPair(
  aKey: Uint8Array,
  bKey: Uint8Array,
  options: FakeLinkOptions = {},
): { a: FakeCellLink; b: FakeCellLink } {
  const a = new MemoryCellLink(bKey, 'a', options);
  const b = new MemoryCellLink(aKey, 'b', options);
  a.peer = b;
  b.peer = a;
  return { a, b };
}
