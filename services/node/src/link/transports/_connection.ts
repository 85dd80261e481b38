/**
 * What every Connection implementation shares: the three handlers, each set
 * (replaced) by its on* method, and no-ops until then.
 */
import type { Connection } from '../transport.js';

export abstract class BaseConnection implements Connection {
  abstract readonly remote: string;
  abstract readonly buffered: number;
  protected dataHandler: (bytes: Uint8Array) => void = () => {};
  protected drainHandler: () => void = () => {};
  protected closeHandler: (error?: Error) => void = () => {};

  abstract write(bytes: Uint8Array): boolean;
  abstract close(): void;
  abstract destroy(): void;

  onData(handler: (bytes: Uint8Array) => void): void {
    this.dataHandler = handler;
  }

  onDrain(handler: () => void): void {
    this.drainHandler = handler;
  }

  onClose(handler: (error?: Error) => void): void {
    this.closeHandler = handler;
  }
}
