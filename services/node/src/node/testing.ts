/**
 * Helpers for tests and benchmarks of whole nodes: a mesh of N real nodes
 * (websockets on 127.0.0.1 by default) that all know each other's signed
 * descriptors, and stream utilities. Not used in production paths.
 */
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { StreamTarget } from '@skymesh/protocol/stream';
import {
  type Connection,
  type Transport,
  tapTransport,
  webSocketTransport,
} from '../link/index.js';
import { createNode, type MeshNode, type NodeInit } from '../node.js';
import type { SessionStream } from '../session/index.js';

export { patternBytes, readAll, waitFor, writeAll } from '../session/testing.js';

/** Options of startMesh. */
export interface MeshOptions {
  /** Init shared by every node (identity, directory and onStream are set per node). */
  readonly node?: Partial<NodeInit>;
  /** Per-node overrides, by index. */
  readonly each?: (index: number) => Partial<NodeInit>;
  /** Stream handler of every node. @default echo (pipe the stream into itself) */
  readonly onStream?: (stream: SessionStream, target: StreamTarget, index: number) => void;
}

/** N running nodes that know each other. */
export interface TestMesh {
  readonly nodes: MeshNode[];
  close(): Promise<void>;
}

/** An echo handler: what comes in goes back; errors (resets) are ignored. */
export function echo(stream: Duplex): void {
  stream.on('error', () => {});
  stream.pipe(stream);
}

/** Starts `n` nodes in this process and gives every one all the descriptors. */
export async function startMesh(n: number, options: MeshOptions = {}): Promise<TestMesh> {
  const nodes: MeshNode[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const handler = options.onStream;
      nodes.push(
        await createNode({
          ...options.node,
          ...options.each?.(i),
          onStream: handler ? (s, t) => handler(s, t, i) : (s) => echo(s),
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled(nodes.map((x) => x.close()));
    throw err;
  }
  const all = nodes.map((x) => x.descriptor);
  for (const x of nodes) x.addDescriptors(all);
  return {
    nodes,
    close: async () => {
      await Promise.allSettled(nodes.map((x) => x.close()));
    },
  };
}

/** Hex SHA-256 of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A ws transport that records its connections (and, with keepBytes, every chunk). */
export interface RecordingTransport {
  readonly transport: Transport;
  /** Every connection made or accepted, in order. */
  readonly connections: Set<Connection>;
  /** Chunks per connection and direction (empty unless keepBytes). */
  readonly chunks: Map<Connection, { out: Buffer[]; in: Buffer[] }>;
  /** Destroys every connection at once, as a crash would. */
  cut(): void;
}

/** Wraps a fresh webSocketTransport with tapTransport to watch a node's wire. */
export function recordingTransport(options: { keepBytes?: boolean } = {}): RecordingTransport {
  const connections = new Set<Connection>();
  const chunks = new Map<Connection, { out: Buffer[]; in: Buffer[] }>();
  const transport = tapTransport(webSocketTransport(), (conn, dir, bytes) => {
    connections.add(conn);
    if (options.keepBytes) {
      let c = chunks.get(conn);
      if (!c) {
        c = { out: [], in: [] };
        chunks.set(conn, c);
      }
      c[dir].push(Buffer.from(bytes));
    }
    return undefined;
  });
  return {
    transport,
    connections,
    chunks,
    cut() {
      for (const c of connections) c.destroy();
    },
  };
}
