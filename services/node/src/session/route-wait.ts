/**
 * Waiting for the first message on a fresh route: the destination waits for
 * HELLO or RESUME, the source for WELCOME, RESUME_OK or REFUSED. The handler
 * runs synchronously inside the route's payload callback, so whoever
 * attaches the session there sees every later payload (records may follow
 * the reply in the same delivery).
 */

import { SkymeshError } from '@skymesh/crypto';
import { decodeRouteMessage, type RouteMessage, SessionError } from '@skymesh/protocol/stream';
import type { RouteChannel } from '../contracts.js';

/**
 * Calls `onMessage` with the first payload decoded, or `onFail` once with
 * SESSION_BAD_MESSAGE (undecodable), SESSION_ROUTE_FAILED (route closed) or
 * SESSION_HANDSHAKE_TIMEOUT. Exactly one of them runs; payloads after the
 * first reach whatever handler `onMessage` installs, or are ignored.
 */
export function awaitFirstMessage(
  ch: RouteChannel,
  timeoutMs: number,
  onMessage: (msg: RouteMessage) => void,
  onFail: (err: SessionError) => void,
): void {
  let done = false;
  const settle = (): boolean => {
    if (done) return false;
    done = true;
    clearTimeout(timer);
    return true;
  };
  const timer = setTimeout(() => {
    if (settle()) onFail(new SessionError('SESSION_HANDSHAKE_TIMEOUT', 'no answer on the route'));
  }, timeoutMs);
  timer.unref?.();
  ch.onPayload((payload) => {
    if (!settle()) return;
    let msg: RouteMessage;
    try {
      msg = decodeRouteMessage(payload);
    } catch (err) {
      onFail(
        new SessionError('SESSION_BAD_MESSAGE', 'undecodable first message', {
          cause: err instanceof SkymeshError ? err.code : String(err),
        }),
      );
      return;
    }
    onMessage(msg);
  });
  ch.onClose((reason) => {
    if (settle()) {
      onFail(new SessionError('SESSION_ROUTE_FAILED', 'route closed before answering', { reason }));
    }
  });
}

/** Sends a payload on a fresh route; false (route unusable) when it is refused. */
export function sendFirst(ch: RouteChannel, payload: Uint8Array): boolean {
  return ch.status === 'open' && ch.send(payload);
}
