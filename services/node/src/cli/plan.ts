/**
 * A mesh plan for running the local mesh's topology as separate processes
 * or containers (docker/compose.yaml): one identity and one config file per
 * node, each config holding every node's signed descriptor (advertised at
 * `<hostPrefix><i>:<port>`), the topology, and the node's role (SOCKS5 and
 * API on node 0 with generated credentials, exit on node 4, the demo
 * service published on node 5). Nodes re-sign their own descriptor at start.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Identity, randomBytes, toHex } from '@skymesh/crypto';
import { descriptorToJSON, MAX_DESCRIPTOR_LIFETIME, signDescriptor } from '@skymesh/protocol';
import { meshEdges } from '../apps/topology.js';

/** Options of writeMeshPlan. */
export interface MeshPlanOptions {
  /** Output folder (one `node<i>/` data dir and `node<i>.json` per node). */
  readonly out: string;
  /** @default 6 */
  readonly nodes?: number;
  /** Host name of node i is `${hostPrefix}${i}`. @default 'node' */
  readonly hostPrefix?: string;
  /** Link port every node listens on. @default 7000 */
  readonly port?: number;
  /** Where node 5's published port 80 goes. @default 'demo:8080' */
  readonly demo?: string;
  /** Path of the data dirs as the nodes see them (a container's mount). @default out */
  readonly mountedAt?: string;
}

/** What was written, and the credentials generated for node 0. */
export interface MeshPlan {
  readonly addresses: string[];
  readonly socksUser: string;
  readonly socksPassword: string;
  readonly apiToken: string;
  readonly serviceAddress: string;
}

/** Writes the plan. See the module comment. */
export async function writeMeshPlan(options: MeshPlanOptions): Promise<MeshPlan> {
  const n = options.nodes ?? 6;
  if (!Number.isInteger(n) || n < 2 || n > 32) throw new RangeError('nodes must be 2..32');
  const out = resolve(options.out);
  const seen = options.mountedAt ?? out;
  const prefix = options.hostPrefix ?? 'node';
  const port = options.port ?? 7000;
  const exitIndex = Math.min(4, n - 1);
  const serviceIndex = Math.min(5, n - 1);
  const ids = Array.from({ length: n }, () => Identity.generate());
  const edges = meshEdges(n);
  const exitPolicy = { ports: [{ from: 1, to: 65535 }], hosts: ['127.0.0.1', '::1', 'localhost'] };
  const now = Math.floor(Date.now() / 1000);
  const directory = ids.map((id, i) =>
    descriptorToJSON(
      signDescriptor(
        {
          roles: { relay: true, exit: i === exitIndex },
          endpoints: [{ transport: 'ws', host: `${prefix}${i}`, port }],
          pricePerMiB: 0n,
          ...(i === exitIndex ? { exitPolicy } : {}),
          issuedAt: now,
          expiresAt: now + MAX_DESCRIPTOR_LIFETIME,
        },
        id.seed,
      ),
    ),
  );
  const plan: MeshPlan = {
    addresses: ids.map((id) => id.address),
    socksUser: 'skymesh',
    socksPassword: toHex(randomBytes(12)),
    apiToken: toHex(randomBytes(16)),
    serviceAddress: ids[serviceIndex]!.address,
  };
  await mkdir(out, { recursive: true });
  for (let i = 0; i < n; i++) {
    const dataDir = join(out, `node${i}`);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const keyPath = join(dataDir, 'identity.key');
    await writeFile(keyPath, `${toHex(ids[i]!.seed)}\n`, { mode: 0o600 });
    await chmod(keyPath, 0o600);
    const config = {
      dataDir: `${seen}/node${i}`,
      listen: [{ transport: 'ws', host: '0.0.0.0', port }],
      advertise: [{ transport: 'ws', host: `${prefix}${i}`, port }],
      roles: { relay: true, exit: i === exitIndex },
      ...(i === exitIndex ? { exitPolicy } : {}),
      directory: directory.filter((_, k) => k !== i),
      topology: { nodes: plan.addresses, edges },
      publish: i === serviceIndex ? { 80: options.demo ?? 'demo:8080' } : {},
      socks:
        i === 0
          ? {
              enabled: true,
              host: '0.0.0.0',
              port: 1080,
              users: { [plan.socksUser]: plan.socksPassword },
            }
          : { enabled: false },
      api:
        i === 0
          ? { enabled: true, host: '0.0.0.0', port: 8600, token: plan.apiToken }
          : { enabled: false },
      logLevel: 'info',
    };
    await writeFile(join(out, `node${i}.json`), `${JSON.stringify(config, null, 2)}\n`, {
      mode: 0o600,
    });
  }
  await writeFile(join(out, 'plan.json'), `${JSON.stringify(plan, null, 2)}\n`, { mode: 0o600 });
  return plan;
}
