/**
 * Joins two duplex streams (a TCP socket and a session stream) both ways
 * with backpressure (Readable.pipe pauses the source while the destination
 * is full, so no buffer grows without bound) and half-close (one side's end
 * ends the other's writable side). When either side fails or is torn down
 * before finishing cleanly, the other is destroyed too, so nothing lingers.
 */
import type { Duplex } from 'node:stream';

/** Pipes `a` ⇄ `b`; resolves once both are closed. */
export function joinStreams(a: Duplex, b: Duplex): Promise<void> {
  a.pipe(b);
  b.pipe(a);
  const closed = (x: Duplex, other: Duplex) =>
    new Promise<void>((resolve) => {
      const onClose = () => {
        // A clean close means x's readable ended (other's writable was ended
        // by pipe) and x's writable finished (other's readable ended): the
        // other side finishes on its own. Anything else is a teardown.
        if (!(x.readableEnded && x.writableFinished) && !other.destroyed) other.destroy();
        resolve();
      };
      if (x.closed) onClose();
      else x.once('close', onClose);
      x.on('error', () => {
        if (!other.destroyed) other.destroy();
      });
    });
  return Promise.all([closed(a, b), closed(b, a)]).then(() => undefined);
}
