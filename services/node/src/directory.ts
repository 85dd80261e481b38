/**
 * The node's static directory: the signed descriptors it knows, from its
 * config, from a JSON file, or added at run time. Every descriptor is
 * verified (signature, validity window) before the node will dial it or put
 * it in a path; expired ones are dropped when read, and a newer descriptor
 * of the same key replaces an older one. With a route server, the agent
 * (route-server/agent.ts) adds the descriptors of its verified directory
 * copy and of the paths the server answers through the same call.
 */
import { readFile } from 'node:fs/promises';
import { SkymeshError, toHex } from '@skymesh/crypto';
import {
  type DescriptorJSON,
  descriptorFromJSON,
  type NodeDescriptor,
  verifyDescriptor,
} from '@skymesh/protocol';

/** A descriptor in any form the node accepts: decoded, its signed bytes, or its JSON form. */
export type DescriptorInput = NodeDescriptor | Uint8Array | DescriptorJSON | string;

/** Largest directory file read (bytes): a cap, so a bad path cannot exhaust memory. */
export const MAX_DIRECTORY_FILE = 16 * 1024 * 1024;

/** Thrown when a directory file cannot be read or is not a directory. */
export class DirectoryFileError extends SkymeshError<'NODE_DIRECTORY_FILE'> {}

/** One input that was not taken, and why (its error code). */
export interface RejectedDescriptor {
  readonly index: number;
  readonly code: string;
}

/** Result of adding descriptors: how many were taken, and what was refused. */
export interface AddResult {
  readonly added: number;
  readonly rejected: RejectedDescriptor[];
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Verified descriptors by key, newest per key. */
export class StaticDirectory {
  private readonly byKey = new Map<string, NodeDescriptor>();

  constructor(private readonly now: () => number = nowSeconds) {}

  /**
   * Verifies and adds descriptors. A bad one is reported, never thrown, so
   * one broken entry cannot stop a node from starting.
   */
  add(inputs: readonly DescriptorInput[]): AddResult {
    let added = 0;
    const rejected: RejectedDescriptor[] = [];
    inputs.forEach((input, index) => {
      try {
        const decoded =
          input instanceof Uint8Array || isDescriptor(input) ? input : descriptorFromJSON(input);
        const desc = verifyDescriptor(decoded, { now: this.now() });
        const key = toHex(desc.publicKey);
        const old = this.byKey.get(key);
        if (old && old.issuedAt > desc.issuedAt) return;
        this.byKey.set(key, desc);
        added++;
      } catch (err) {
        rejected.push({ index, code: err instanceof SkymeshError ? err.code : 'DECODE_BAD_VALUE' });
      }
    });
    return { added, rejected };
  }

  /** The descriptor of `publicKey`, unless unknown or expired. */
  get(publicKey: Uint8Array): NodeDescriptor | undefined {
    const key = toHex(publicKey);
    const d = this.byKey.get(key);
    if (d && d.expiresAt <= this.now()) {
      this.byKey.delete(key);
      return undefined;
    }
    return d;
  }

  /** Every descriptor still valid now. */
  list(): NodeDescriptor[] {
    const now = this.now();
    const out: NodeDescriptor[] = [];
    for (const [key, d] of this.byKey) {
      if (d.expiresAt <= now) this.byKey.delete(key);
      else out.push(d);
    }
    return out;
  }

  get size(): number {
    return this.byKey.size;
  }
}

function isDescriptor(v: unknown): v is NodeDescriptor {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as NodeDescriptor).publicKey instanceof Uint8Array &&
    (v as NodeDescriptor).signature instanceof Uint8Array
  );
}

/**
 * Reads a directory file: a JSON array of `{ address, descriptor }` entries
 * (descriptorToJSON), or an object with such an array under `descriptors`.
 * Entries are returned unverified; StaticDirectory.add verifies them.
 * @throws DirectoryFileError NODE_DIRECTORY_FILE when the file is missing, too big, or not such JSON
 */
export async function readDirectoryFile(path: string): Promise<unknown[]> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_DIRECTORY_FILE) throw new RangeError('file too large');
    text = bytes.toString('utf8');
  } catch (err) {
    throw new DirectoryFileError('NODE_DIRECTORY_FILE', `cannot read directory file ${path}`, {
      path,
      cause: err instanceof Error ? err.message : String(err),
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DirectoryFileError('NODE_DIRECTORY_FILE', `directory file ${path} is not JSON`, {
      path,
    });
  }
  const list = Array.isArray(parsed)
    ? parsed
    : typeof parsed === 'object' && parsed !== null
      ? (parsed as { descriptors?: unknown }).descriptors
      : undefined;
  if (!Array.isArray(list)) {
    throw new DirectoryFileError(
      'NODE_DIRECTORY_FILE',
      `directory file ${path} holds no descriptor list`,
      { path },
    );
  }
  return list;
}
