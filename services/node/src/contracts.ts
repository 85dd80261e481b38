/**
 * The seams between the node's layers. Each layer is built and tested on its
 * own against these interfaces (in-memory fakes in tests), then wired
 * together by createNode():
 *
 *   session (end-to-end Noise + streams)   ── RouteChannel ──▶
 *   route   (onion setup, cell layering)    ── CellLink ──────▶
 *   link    (obfuscated Noise links over a Transport)
 *
 * Backpressure is explicit everywhere: send methods return false when the
 * bounded queue behind them is full, and the caller waits for the drain
 * callback before sending more. Nothing buffers without a bound.
 */

export type ChannelStatus = 'open' | 'closing' | 'closed';

/** An authenticated, encrypted link to one neighbour, carrying fixed-size cells. */
export interface CellLink {
  /** Ed25519 public key of the neighbour (its address key), proven by the handshake. */
  readonly peerKey: Uint8Array;
  /** The neighbour's address text (encodeAddress(peerKey)). */
  readonly peerAddress: string;
  readonly status: ChannelStatus;
  /**
   * Queues one cell of exactly CELL_SIZE bytes (from @skymesh/protocol).
   * Returns false when the queue is full: the cell was NOT queued; wait for onDrain.
   */
  sendCell(cell: Uint8Array): boolean;
  /** Sets the handler for every cell received (each exactly CELL_SIZE bytes). */
  onCell(handler: (cell: Uint8Array) => void): void;
  /** Called when a full queue has room again. */
  onDrain(handler: () => void): void;
  /** Called once when the link closes, for any reason. */
  onClose(handler: (reason: string) => void): void;
  close(reason?: string): void;
}

/**
 * One end of a built route, as the end-to-end layer sees it: an ordered,
 * reliable-while-alive pipe of opaque payloads, each at most `payloadSize`
 * bytes. Onion layers, cells and padding are below it. A route can die at
 * any time (a relay goes away); the session layer recovers by building a new
 * one (failover).
 */
export interface RouteChannel {
  /** Largest payload one send() may carry. */
  readonly payloadSize: number;
  readonly status: ChannelStatus;
  /** Returns false when the route's send queue is full (payload not queued); wait for onDrain. */
  send(payload: Uint8Array): boolean;
  onPayload(handler: (payload: Uint8Array) => void): void;
  onDrain(handler: () => void): void;
  onClose(handler: (reason: string) => void): void;
  close(reason?: string): void;
}

/**
 * Where an application stream goes: a service published at a `.mesh`
 * address (the port selects the service), or any host through an exit node
 * whose descriptor's exit policy allows host:port.
 */
export type MeshTarget =
  | { readonly kind: 'service'; readonly address: string; readonly port: number }
  | { readonly kind: 'exit'; readonly host: string; readonly port: number };

export interface OpenStreamOptions {
  /**
   * Streams with different isolation keys never share a route or session
   * (SOCKS5 credentials map to this, as Tor's IsolateSOCKSAuth).
   * @default '' (one shared group)
   */
  readonly isolation?: string;
  readonly signal?: AbortSignal;
}
