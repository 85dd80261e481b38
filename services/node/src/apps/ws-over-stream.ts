/**
 * A WebSocket client carried by a mesh stream instead of a TCP socket: how
 * an app on a node talks to a websocket service published at a .mesh
 * address (the gateway, the route server). `webSocketOverStream` hands the
 * stream to `ws` as its connection; `deferredStream` gives a stream at once
 * and opens the real one behind it, for clients that want a connection
 * synchronously (a reconnecting transport calls its connect() each time).
 */
import { Duplex } from 'node:stream';
import WebSocket from 'ws';

/** A `ws` client whose connection is `stream`; `url` names the host and path sent in the upgrade. */
export function webSocketOverStream(stream: Duplex, url: string): WebSocket {
  // ws's HTTP client treats its connection as a socket; a stream has no TCP options.
  const noop = () => stream;
  Object.assign(stream, {
    setNoDelay: noop,
    setTimeout: noop,
    setKeepAlive: noop,
    ref: noop,
    unref: noop,
  });
  return new WebSocket(url, { createConnection: () => stream as never });
}

/**
 * A duplex that is usable at once and forwards to the stream `open`
 * resolves to; a failed open destroys it with that error. Reads honour
 * backpressure; an inner stream closed without an end destroys the outer
 * one (the stream was cut), after an end what is buffered is still read.
 */
export function deferredStream(open: () => Promise<Duplex>): Duplex {
  let inner: Duplex | undefined;
  const outer: Duplex = new Duplex({
    construct(cb) {
      open().then((s) => {
        inner = s;
        let ended = false;
        s.on('data', (chunk) => {
          if (!outer.push(chunk)) s.pause();
        });
        s.on('end', () => {
          ended = true;
          outer.push(null);
        });
        s.on('error', (e) => outer.destroy(e));
        s.on('close', () => {
          if (!ended) outer.destroy();
        });
        cb();
      }, cb);
    },
    read() {
      inner?.resume();
    },
    write(chunk, encoding, cb) {
      inner!.write(chunk, encoding, cb);
    },
    final(cb) {
      inner!.end(() => cb());
    },
    destroy(err, cb) {
      inner?.destroy();
      cb(err);
    },
  });
  return outer;
}
