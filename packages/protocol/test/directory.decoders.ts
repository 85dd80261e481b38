/**
 * Fuzz registration for the directory layer: link reports, snapshots and
 * diffs, decoded and verified (picked up by _decoders.ts).
 */
import { ed25519PublicKey, Identity } from '@skymesh/crypto';
import {
  DirectoryState,
  decodeDiff,
  decodeLinkReport,
  decodeSnapshot,
  encodeDiff,
  encodeLinkReport,
  encodeSnapshot,
  keyHex,
  signLinkReport,
  syntheticSeed,
  verifyDiff,
  verifyLinkReport,
  verifySnapshot,
} from '../src/directory/index.js';
import { PROTOCOL_ERROR_CODES, signDescriptor } from '../src/index.js';
import type { FuzzDecoder } from './_decoders.js';

const T = 1_800_000_000;
const SERVER = syntheticSeed(42, 0);
const SERVER_KEY = ed25519PublicKey(SERVER);
const CODES = [
  ...PROTOCOL_ERROR_CODES.filter((c) => !c.startsWith('ENCODE_')),
  'DIRECTORY_TOO_LARGE',
  'DIRECTORY_BAD_SIGNATURE',
  'DIRECTORY_WRONG_SERVER',
  'DIRECTORY_BAD_DESCRIPTOR',
];

let cached: { reports: Uint8Array[]; snapshots: Uint8Array[]; diffs: Uint8Array[] } | null = null;

// A three-node directory with two links, then one change: a snapshot, diffs and reports.
function samples() {
  if (cached) return cached;
  const ids = [0, 1, 2].map((i) => Identity.fromSeed(syntheticSeed(42, i + 1)));
  const s = new DirectoryState();
  for (const [i, id] of ids.entries()) {
    s.putNode(
      signDescriptor(
        {
          roles: { relay: true, exit: i === 2 },
          endpoints: [{ transport: 'ws', host: `192.0.2.${i + 1}`, port: 8000 + i }],
          pricePerMiB: 5n,
          exitPolicy: i === 2 ? { ports: [{ from: 443, to: 443 }], hosts: ['*'] } : undefined,
          issuedAt: T,
        },
        id,
      ),
    );
  }
  const k = ids.map((id) => keyHex(id.publicKey));
  s.putLink(k[0]!, k[1]!, 1500, 100);
  s.putLink(k[1]!, k[2]!, 2500, 200);
  s.commit();
  const snap1 = encodeSnapshot(s, SERVER, T).slice();
  s.removeLink(k[0]!, k[1]!);
  s.putLink(k[0]!, k[2]!, 900, 50);
  s.commit();
  cached = {
    reports: [
      encodeLinkReport(
        signLinkReport(
          {
            sequence: 7,
            issuedAt: T,
            links: [
              { peer: ids[1]!.publicKey, rttMicros: 1500, capacity: 100 },
              { peer: ids[2]!.publicKey, rttMicros: 900, capacity: 50 },
            ],
          },
          ids[0]!,
        ),
      ).slice(),
      encodeLinkReport(signLinkReport({ sequence: 1, issuedAt: T, links: [] }, ids[1]!)).slice(),
    ],
    snapshots: [snap1, encodeSnapshot(s, SERVER, T).slice()],
    diffs: [encodeDiff(s, 1, SERVER, T).slice(), encodeDiff(s, 2, SERVER, T).slice()],
  };
  return cached;
}

export const decoders: FuzzDecoder[] = [
  {
    name: 'directory.linkReport',
    decode: decodeLinkReport,
    samples: () => samples().reports,
    codes: CODES,
  },
  {
    name: 'directory.linkReport.verify',
    decode: verifyLinkReport,
    samples: () => samples().reports,
    codes: CODES,
    weight: 0.25,
  },
  {
    name: 'directory.snapshot',
    decode: decodeSnapshot,
    samples: () => samples().snapshots,
    codes: CODES,
  },
  {
    name: 'directory.snapshot.verify',
    decode: (b) => verifySnapshot(b, { serverKey: SERVER_KEY }),
    samples: () => samples().snapshots,
    codes: CODES,
    weight: 0.25,
  },
  { name: 'directory.diff', decode: decodeDiff, samples: () => samples().diffs, codes: CODES },
  {
    name: 'directory.diff.verify',
    decode: (b) => verifyDiff(b, { serverKey: SERVER_KEY }),
    samples: () => samples().diffs,
    codes: CODES,
    weight: 0.25,
  },
];
