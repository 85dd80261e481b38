/**
 * The connect reply: the session layer has no "stream accepted" signal, so
 * the destination of an app stream (a published service or an exit) writes
 * exactly one status byte before any data:
 *
 *   0x00                      connected; the target's bytes follow
 *   any other value 1..255    refused; the value is a stream WireCode
 *                             (NOT_ALLOWED 5, NETWORK_UNREACHABLE 6,
 *                             HOST_UNREACHABLE 7, CONNECTION_REFUSED 8,
 *                             TTL_EXPIRED 9, REFUSED 3, INTERNAL 2), and the
 *                             destination ends the stream (FIN) after it.
 *
 * The source sends nothing before the reply (it holds the client's early
 * bytes), so a refused stream never carried data. The byte travels inside
 * the session's encrypted records, so it is no plaintext on the wire.
 * Node-only (Duplex); the format is documented in docs/drafts/apps.md.
 */
import type { Duplex } from 'node:stream';
import { SessionError, WireCode } from '@skymesh/protocol/stream';
import { AppError } from './errors.js';

/** Status byte meaning "connected". */
export const CONNECT_OK = 0;

/**
 * Writes the connect reply. For a refusal (`code` ≠ 0) the stream is ended
 * after it. Codes above 255 are sent as INTERNAL.
 */
export function sendConnectReply(stream: Duplex, code: number): void {
  const byte = code >= 0 && code <= 0xff ? code : WireCode.INTERNAL;
  if (byte === CONNECT_OK) {
    stream.write(Uint8Array.of(CONNECT_OK));
    return;
  }
  stream.end(Uint8Array.of(byte));
  // Nothing more will be read: drop whatever the source sent so its window is freed.
  stream.resume();
}

/**
 * Waits for the connect reply on a freshly opened stream. Resolves once the
 * destination said 0 (bytes after it stay readable on `stream`); rejects with
 * AppError APP_CONNECT_REFUSED (details.wireCode), APP_CONNECT_TIMEOUT or
 * APP_CONNECT_FAILED and destroys the stream. Never waits longer than
 * `timeoutMs`.
 */
export function awaitConnectReply(
  stream: Duplex,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err: AppError | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('error', onError);
      stream.off('end', onEnd);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        stream.destroy();
        reject(err);
      } else resolve();
    };
    const onReadable = () => {
      const first = stream.read(1) as Buffer | null;
      if (first === null) return;
      const code = first[0]!;
      if (code === CONNECT_OK) finish(null);
      else finish(refused(code));
    };
    const onError = (err: Error) => finish(fromStreamError(err));
    const onEnd = () => finish(refused(WireCode.REFUSED));
    const onAbort = () => finish(new AppError('APP_CLOSED', 'the open was aborted'));
    const timer = setTimeout(
      () =>
        finish(
          new AppError('APP_CONNECT_TIMEOUT', `no connect reply within ${timeoutMs} ms`, {
            wireCode: WireCode.TTL_EXPIRED,
          }),
        ),
      timeoutMs,
    );
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('readable', onReadable);
    stream.on('error', onError);
    stream.on('end', onEnd);
  });
}

function refused(code: number): AppError {
  return new AppError('APP_CONNECT_REFUSED', `the destination refused the stream (code ${code})`, {
    wireCode: code,
  });
}

/** Turns a stream failure before the reply into an AppError carrying the wire code. */
function fromStreamError(err: Error): AppError {
  if (err instanceof SessionError) {
    const resetCode = err.details?.resetCode;
    if (typeof resetCode === 'number') return refused(resetCode);
  }
  const cause = err instanceof SessionError ? err.code : err.name;
  return new AppError('APP_CONNECT_FAILED', 'the stream failed before the connect reply', {
    cause,
    wireCode: WireCode.INTERNAL,
  });
}

/** The wire code an app-level failure stands for (INTERNAL when none). */
export function wireCodeOf(err: unknown): number {
  if (err instanceof AppError && typeof err.details?.wireCode === 'number') {
    return err.details.wireCode;
  }
  if (err instanceof AppError && err.code === 'APP_NO_EXIT') return WireCode.NOT_ALLOWED;
  if (err instanceof AppError && err.code === 'APP_BAD_TARGET') return WireCode.HOST_UNREACHABLE;
  return WireCode.INTERNAL;
}
