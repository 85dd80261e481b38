/**
 * A transport wrapper that shows (and may alter) every byte written and
 * read through another transport: for tests that capture what an observer
 * on the wire sees, simulate a tampering middlebox, or debug a link.
 */
import type { Connection, Transport } from '../transport.js';

/** Called per chunk; returns the bytes to pass on (the same array, a changed copy, or undefined to pass as is). */
export type TapFn = (
  conn: Connection,
  direction: 'out' | 'in',
  bytes: Uint8Array,
  role: 'dialler' | 'listener',
) => Uint8Array | undefined;

function wrap(inner: Connection, tap: TapFn, role: 'dialler' | 'listener'): Connection {
  const conn: Connection = {
    remote: inner.remote,
    get buffered() {
      return inner.buffered;
    },
    write: (bytes) => inner.write(tap(conn, 'out', bytes, role) ?? bytes),
    onData: (h) => inner.onData((bytes) => h(tap(conn, 'in', bytes, role) ?? bytes)),
    onDrain: (h) => inner.onDrain(h),
    onClose: (h) => inner.onClose(h),
    close: () => inner.close(),
    destroy: () => inner.destroy(),
  };
  return conn;
}

/** `inner`, with `tap` called on every chunk of every connection it makes or accepts. */
export function tapTransport(inner: Transport, tap: TapFn): Transport {
  return {
    names: inner.names,
    listen: (options, onConnection) =>
      inner.listen(options, (c) => onConnection(wrap(c, tap, 'listener'))),
    dial: async (endpoint, options) => wrap(await inner.dial(endpoint, options), tap, 'dialler'),
  };
}
