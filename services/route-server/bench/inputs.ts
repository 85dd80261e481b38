/**
 * The benchmark's inputs, made in a worker thread (bench/index.ts): signed
 * descriptors and each node's signed link report. Signing 20,000 objects
 * leaves a lot of garbage; made here, it goes away with the worker's heap
 * instead of staying in the pages of the heap the service under test uses.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Identity } from '@skymesh/crypto';
import {
  encodeLinkReport,
  type ReportedLink,
  signLinkReport,
  syntheticInputs,
} from '@skymesh/protocol/directory';

/** What the worker is given. */
export interface InputsRequest {
  nodes: number;
  links: number;
  now: number;
}

/** What it sends back (its buffers transferred). */
export interface InputsReply {
  publicKeys: Uint8Array[];
  descriptors: Uint8Array[];
  reports: Uint8Array[];
  serverKey: Uint8Array;
}

const { nodes, links, now } = workerData as InputsRequest;
const inputs = syntheticInputs({ nodes, links, seed: 2026, issuedAt: now });
const perNode: ReportedLink[][] = inputs.publicKeys.map(() => []);
for (const [a, b, rttMicros, capacity] of inputs.links) {
  perNode[a]!.push({ peer: inputs.publicKeys[b]!, rttMicros, capacity });
  perNode[b]!.push({ peer: inputs.publicKeys[a]!, rttMicros, capacity });
}
const reports = inputs.seeds.map((seed, i) =>
  encodeLinkReport(
    signLinkReport({ sequence: 1, issuedAt: now, links: perNode[i]! }, Identity.fromSeed(seed)),
  ),
);
const reply: InputsReply = {
  publicKeys: inputs.publicKeys.map((k) => k.slice()),
  descriptors: inputs.descriptors.map((d) => d.slice()),
  reports,
  serverKey: inputs.seeds[0]!.map((b) => b ^ 0xff),
};
parentPort!.postMessage(reply, [
  ...reply.publicKeys.map((k) => k.buffer as ArrayBuffer),
  ...reply.descriptors.map((d) => d.buffer as ArrayBuffer),
  ...reply.reports.map((r) => r.buffer as ArrayBuffer),
]);
