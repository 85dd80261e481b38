/**
 * The seam between the link layer and the network. A Transport moves bytes
 * between two nodes and nothing else: the link layer does its own framing
 * and encryption on top, so websockets, raw TCP and the in-memory transport
 * used by tests and simulation plug in without changes above.
 *
 * A Connection is a byte pipe. Transports may deliver the bytes in chunks
 * of any size (a ws transport happens to keep write boundaries, TCP does
 * not); the link layer never relies on boundaries.
 */

/** Where a node can be reached. `transport` names the Transport that dials it. */
export interface Endpoint {
  /** 'ws' | 'wss' | 'tcp' | 'mem' or another registered transport name. */
  readonly transport: string;
  /** IP address or host name (for 'mem', the listener's name). */
  readonly host: string;
  readonly port: number;
}

/** One open byte pipe to a peer (not yet authenticated: that is the link layer's job). */
export interface Connection {
  /** Human-readable remote end, for logs only. */
  readonly remote: string;
  /**
   * Queues `bytes` for sending; the connection takes ownership of the array.
   * Returns false when the transport's buffer is above its high-water mark:
   * stop writing and wait for onDrain. Writing after close is ignored.
   */
  write(bytes: Uint8Array): boolean;
  /** Sets (replaces) the handler of received bytes. Each on* call replaces the previous handler. */
  onData(handler: (bytes: Uint8Array) => void): void;
  /** Called when a write that returned false has been flushed below the low-water mark. */
  onDrain(handler: () => void): void;
  /** Called once when the connection is gone, for any reason. */
  onClose(handler: (error?: Error) => void): void;
  /** Bytes accepted by write() but not yet handed to the operating system. */
  readonly buffered: number;
  /** Sends what is queued, then closes. */
  close(): void;
  /** Closes at once, dropping anything queued. */
  destroy(): void;
}

/** A listening socket (or in-memory name). */
export interface TransportListener {
  /** The endpoints it is reachable at (the port the OS picked, when 0 was asked). */
  readonly endpoints: readonly Endpoint[];
  close(): Promise<void>;
}

export interface ListenOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 lets the OS pick a free port. @default 0 */
  port?: number;
}

export interface DialOptions {
  /** Aborts the dial. */
  signal?: AbortSignal;
}

/** A way to move bytes between nodes. */
export interface Transport {
  /** Endpoint.transport values this transport dials and produces. */
  readonly names: readonly string[];
  listen(
    options: ListenOptions,
    onConnection: (conn: Connection) => void,
  ): Promise<TransportListener>;
  /** @throws LinkManagerError LINK_DIAL_FAILED when no connection could be made. */
  dial(endpoint: Endpoint, options?: DialOptions): Promise<Connection>;
}

/** Default high-water mark of a connection's send buffer (bytes). */
export const DEFAULT_HIGH_WATER = 256 * 1024;

/** The text form of an endpoint, for logs: `ws://127.0.0.1:4100`. */
export function endpointText(e: Endpoint): string {
  const host = e.host.includes(':') ? `[${e.host}]` : e.host;
  return `${e.transport}://${host}:${e.port}`;
}
