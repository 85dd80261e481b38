/**
 * Directory data: link reports and their two-sided confirmation, the
 * versioned state, signed snapshots and diffs (a copy kept with diffs equals
 * the full snapshot).
 */
import { ed25519PublicKey, Identity } from '@skymesh/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signDescriptor } from '../src/descriptor/index.js';
import {
  applyDiff,
  DirectoryReplica,
  DirectoryState,
  decodeLinkReport,
  encodeDiff,
  encodeLinkReport,
  encodeSnapshot,
  keyHex,
  linkId,
  MAX_LINKS_PER_REPORT,
  ReportBook,
  signLinkReport,
  stateFromSnapshot,
  syntheticSeed,
  verifyDiff,
  verifyLinkReport,
  verifySnapshot,
} from '../src/directory/index.js';
import { runs, thrown } from './_fuzz.js';

const T = 1_800_000_000;
const SERVER = syntheticSeed(99, 0);
const SERVER_KEY = ed25519PublicKey(SERVER);
const ids = Array.from({ length: 8 }, (_, i) => Identity.fromSeed(syntheticSeed(7, i)));
const hex = ids.map((id) => keyHex(id.publicKey));

function desc(i: number, issuedAt = T) {
  return signDescriptor(
    {
      roles: { relay: true, exit: false },
      endpoints: [{ transport: 'ws', host: `198.${51 + i}.100.${i + 1}`, port: 9000 + i }],
      pricePerMiB: 10n,
      issuedAt,
    },
    ids[i]!,
  );
}

function stateWith(n: number): DirectoryState {
  const s = new DirectoryState();
  for (let i = 0; i < n; i++) s.putNode(desc(i));
  s.commit();
  return s;
}

function report(i: number, seq: number, links: [number, number, number?][], issuedAt = T) {
  return signLinkReport(
    {
      sequence: seq,
      issuedAt,
      links: links.map(([peer, rtt, cap]) => ({
        peer: ids[peer]!.publicKey,
        rttMicros: rtt,
        capacity: cap ?? 1000,
      })),
    },
    ids[i]!,
  );
}

const code = (fn: () => unknown) => (thrown(fn) as { code?: string } | undefined)?.code;

describe('link reports', () => {
  it('round-trip, sorted by peer, and verify', () => {
    const r = report(0, 1, [
      [3, 500],
      [1, 700],
      [2, 900],
    ]);
    const bytes = encodeLinkReport(r);
    const back = verifyLinkReport(bytes);
    expect(back.links.map((l) => keyHex(l.peer))).toEqual(
      [hex[1], hex[2], hex[3]].sort() as string[],
    );
    expect(back.sequence).toBe(1);
    expect(decodeLinkReport(bytes)).toEqual(back);
  });

  it('rejects a flipped byte anywhere in the signed part', () => {
    const bytes = encodeLinkReport(report(0, 1, [[1, 500]]));
    for (const at of [1, 33, 41, 49, 51 + 32, bytes.length - 1]) {
      const t = bytes.slice();
      t[at]! ^= 1;
      expect(['DIRECTORY_BAD_SIGNATURE', 'DECODE_BAD_VALUE', 'DECODE_BAD_VERSION']).toContain(
        code(() => verifyLinkReport(t)),
      );
    }
  });

  it('refuses self links, repeats, bad RTTs and too many links', () => {
    expect(code(() => report(0, 1, [[0, 5]]))).toBe('ENCODE_BAD_VALUE');
    expect(
      code(() =>
        report(0, 1, [
          [1, 5],
          [1, 6],
        ]),
      ),
    ).toBe('ENCODE_BAD_VALUE');
    expect(code(() => report(0, 1, [[1, 0]]))).toBe('ENCODE_BAD_VALUE');
    expect(code(() => report(0, 1, [[1, 60_000_001]]))).toBe('ENCODE_BAD_VALUE');
    const many = Array.from({ length: MAX_LINKS_PER_REPORT + 1 }, (_, i) => {
      const peer = new Uint8Array(32);
      peer[0] = 1 + (i >> 8);
      peer[1] = i & 0xff;
      return { peer, rttMicros: 1, capacity: 1 };
    });
    expect(code(() => signLinkReport({ sequence: 1, issuedAt: T, links: many }, ids[0]!))).toBe(
      'DIRECTORY_TOO_LARGE',
    );
  });
});

describe('report book', () => {
  it('confirms a link only when both ends report it, with max RTT and min capacity', () => {
    const s = stateWith(3);
    const book = new ReportBook(s);
    expect(book.ingest(report(0, 1, [[1, 800, 50]]), T).confirmed).toBe(0);
    expect(s.linkCount).toBe(0);
    expect(book.ingest(report(1, 1, [[0, 1200, 70]]), T).confirmed).toBe(1);
    const l = s.link(hex[0]!, hex[1]!)!;
    expect([l.rttMicros, l.capacity]).toEqual([1200, 50]);
  });

  it('one lying node cannot invent links to honest nodes', () => {
    const s = stateWith(4);
    const book = new ReportBook(s);
    book.ingest(report(1, 1, [[2, 900]]), T); // honest 1 and 2 link to each other only
    book.ingest(report(2, 1, [[1, 900]]), T);
    book.ingest(
      report(0, 1, [
        [1, 1],
        [2, 1],
        [3, 1],
      ]),
      T,
    );
    expect(s.linkCount).toBe(1);
    expect(s.link(hex[0]!, hex[1]!)).toBeUndefined();
    // Nor make an honest link look faster: the larger RTT counts.
    book.ingest(report(0, 2, [[1, 1]]), T);
    book.ingest(
      report(1, 2, [
        [0, 5000],
        [2, 900],
      ]),
      T,
    );
    expect(s.link(hex[0]!, hex[1]!)!.rttMicros).toBe(5000);
  });

  it('refuses replays, stale and future reports and unknown nodes', () => {
    const s = stateWith(2);
    const book = new ReportBook(s, { reportTtl: 600, clockSkew: 60 });
    book.ingest(report(0, 5, [[1, 10]]), T);
    expect(code(() => book.ingest(report(0, 5, [[1, 10]]), T))).toBe('DIRECTORY_REPORT_REPLAYED');
    expect(code(() => book.ingest(report(0, 4, [[1, 10]]), T))).toBe('DIRECTORY_REPORT_REPLAYED');
    expect(code(() => book.ingest(report(1, 1, [], T - 600), T))).toBe('DIRECTORY_REPORT_STALE');
    expect(code(() => book.ingest(report(1, 1, [], T + 61), T))).toBe('DIRECTORY_REPORT_STALE');
    expect(code(() => book.ingest(report(5, 1, []), T))).toBe('DIRECTORY_UNKNOWN_NODE');
  });

  it('drops a link when a newer report omits it, and when a report ages out', () => {
    const s = stateWith(3);
    const book = new ReportBook(s, { reportTtl: 600 });
    book.ingest(
      report(0, 1, [
        [1, 10],
        [2, 10],
      ]),
      T,
    );
    book.ingest(report(1, 1, [[0, 10]]), T);
    book.ingest(report(2, 1, [[0, 10]], T + 300), T + 300);
    expect(s.linkCount).toBe(2);
    book.ingest(report(0, 2, [[2, 10]], T + 1), T + 1);
    expect(s.link(hex[0]!, hex[1]!)).toBeUndefined();
    expect(s.linkCount).toBe(1);
    expect(book.expire(T + 600)).toBe(1); // node 1's report aged out (nothing of it was confirmed)
    expect(s.linkCount).toBe(1);
    book.expire(T + 901);
    expect(s.linkCount).toBe(0);
  });
});

describe('directory state', () => {
  it('refuses an older descriptor and a different one at the same time; same one is a no-op', () => {
    const s = new DirectoryState();
    expect(s.putNode(desc(0, T + 10))).toBe(true);
    expect(s.putNode(desc(0, T + 10))).toBe(false);
    expect(code(() => s.putNode(desc(0, T)))).toBe('DIRECTORY_DESCRIPTOR_REPLAYED');
    const other = signDescriptor(
      { roles: { relay: false, exit: false }, endpoints: [], pricePerMiB: 1n, issuedAt: T + 10 },
      ids[0]!,
    );
    expect(code(() => s.putNode(other))).toBe('DIRECTORY_DESCRIPTOR_REPLAYED');
    expect(s.putNode(desc(0, T + 11))).toBe(true);
  });

  it('removing a node removes its links; commit bumps the version once per batch', () => {
    const s = stateWith(3);
    expect(s.version).toBe(1);
    s.putLink(hex[0]!, hex[1]!, 10, 1);
    s.putLink(hex[1]!, hex[2]!, 10, 1);
    expect(s.commit()).toBe(2);
    expect(s.commit()).toBe(2);
    s.removeNode(hex[1]!);
    expect(s.linkCount).toBe(0);
    expect(s.commit()).toBe(3);
    expect(s.tombstonesSince(2)).toEqual({
      nodes: [hex[1]],
      links: expect.arrayContaining([linkId(hex[0]!, hex[1]!), linkId(hex[1]!, hex[2]!)]),
    });
    expect(code(() => s.putLink(hex[0]!, hex[1]!, 1, 1))).toBe('DIRECTORY_UNKNOWN_NODE');
  });
});

describe('snapshots', () => {
  const s = stateWith(4);
  s.putLink(hex[0]!, hex[1]!, 100, 5);
  s.putLink(hex[2]!, hex[1]!, 200, 6);
  s.commit();

  it('round-trip into an equal state', () => {
    const bytes = encodeSnapshot(s, SERVER, T);
    const snap = verifySnapshot(bytes, { serverKey: SERVER_KEY });
    expect(snap.version).toBe(s.version);
    const copy = stateFromSnapshot(snap);
    expect(encodeSnapshot(copy, SERVER, T)).toEqual(bytes);
    expect(copy.link(hex[1]!, hex[2]!)!.rttMicros).toBe(200);
  });

  it('a tampered snapshot, another key, a stale one or a forged descriptor are refused', () => {
    const bytes = encodeSnapshot(s, SERVER, T);
    for (const at of [3, 40, 60, 200, bytes.length - 70, bytes.length - 1]) {
      const t = bytes.slice();
      t[at]! ^= 0x10;
      expect(code(() => verifySnapshot(t, { serverKey: SERVER_KEY }))).toMatch(
        /^(DIRECTORY_BAD_SIGNATURE|DIRECTORY_WRONG_SERVER|DECODE_|DESCRIPTOR_)/,
      );
    }
    expect(code(() => verifySnapshot(bytes, { serverKey: ids[0]!.publicKey }))).toBe(
      'DIRECTORY_WRONG_SERVER',
    );
    expect(
      code(() => verifySnapshot(bytes, { serverKey: SERVER_KEY, maxAge: 60, now: T + 61 })),
    ).toBe('DIRECTORY_STALE');
    // A server that signs a forged descriptor: its signature is fine, the node's is not.
    const forged = new DirectoryState();
    const d = desc(0);
    forged.putNode({ ...d, pricePerMiB: 0n });
    forged.commit();
    const evil = encodeSnapshot(forged, SERVER, T);
    expect(code(() => verifySnapshot(evil, { serverKey: SERVER_KEY }))).toBe(
      'DIRECTORY_BAD_DESCRIPTOR',
    );
    expect(
      verifySnapshot(evil, { serverKey: SERVER_KEY, verifyDescriptors: false }).nodes,
    ).toHaveLength(1);
  });
});

describe('diffs', () => {
  // A random history of operations; a copy taken at any version and kept
  // current with one diff equals the snapshot of the final state.
  const op = fc.oneof(
    fc.record({ t: fc.constant('node' as const), i: fc.nat(7), bump: fc.nat(3) }),
    fc.record({ t: fc.constant('drop' as const), i: fc.nat(7) }),
    fc.record({
      t: fc.constant('link' as const),
      i: fc.nat(7),
      j: fc.nat(7),
      rtt: fc.integer({ min: 1, max: 9 }),
    }),
    fc.record({ t: fc.constant('unlink' as const), i: fc.nat(7), j: fc.nat(7) }),
    fc.constant({ t: 'commit' as const }),
  );

  it('applying the diff since any version gives the state of the full snapshot', () => {
    const d = ids.map((_, i) => [0, 1, 2, 3, 4].map((b) => desc(i, T + b)));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const s = new DirectoryState();
        const snaps: Uint8Array[] = [encodeSnapshot(s, SERVER, T)];
        const at = new Map<number, number>(); // node → descriptor issue offset held
        for (const o of ops) {
          if (o.t === 'node') {
            const next = Math.min(4, (at.get(o.i) ?? -1) + 1 + (o.bump > 2 ? 1 : 0));
            s.putNode(d[o.i]![next]!);
            at.set(o.i, next);
          } else if (o.t === 'drop') s.removeNode(hex[o.i]!);
          else if (o.t === 'link') {
            if (o.i !== o.j && s.node(hex[o.i]!) && s.node(hex[o.j]!)) {
              s.putLink(hex[o.i]!, hex[o.j]!, o.rtt, o.rtt * 2);
            }
          } else if (o.t === 'unlink') s.removeLink(hex[o.i]!, hex[o.j]!);
          else {
            s.commit();
            snaps.push(encodeSnapshot(s, SERVER, T));
          }
        }
        s.commit();
        const final = encodeSnapshot(s, SERVER, T);
        for (const snapBytes of snaps) {
          const copy = stateFromSnapshot(verifySnapshot(snapBytes, { serverKey: SERVER_KEY }));
          const diff = verifyDiff(encodeDiff(s, copy.version, SERVER, T), {
            serverKey: SERVER_KEY,
          });
          applyDiff(copy, diff);
          expect(copy.version).toBe(s.version);
          expect(encodeSnapshot(copy, SERVER, T)).toEqual(final);
        }
      }),
      { numRuns: runs(60) },
    );
  });

  it('a diff from a forgotten version is unavailable; a wrong start or an old diff is refused', () => {
    const s = new DirectoryState({ maxTombstones: 2 });
    for (let i = 0; i < 5; i++) s.putNode(desc(i));
    s.commit(); // v1
    const v1 = stateFromSnapshot(
      verifySnapshot(encodeSnapshot(s, SERVER, T), { serverKey: SERVER_KEY }),
    );
    for (let i = 0; i < 3; i++) {
      s.removeNode(hex[i]!);
      s.commit(); // v2..v4
    }
    expect(code(() => encodeDiff(s, 1, SERVER, T))).toBe('DIRECTORY_DIFF_UNAVAILABLE');
    expect(code(() => encodeDiff(s, 9, SERVER, T))).toBe('DIRECTORY_DIFF_UNAVAILABLE');
    const d3 = verifyDiff(encodeDiff(s, 3, SERVER, T), { serverKey: SERVER_KEY });
    expect(code(() => applyDiff(v1, d3))).toBe('DIRECTORY_DIFF_MISMATCH');
    s.putNode(desc(0));
    s.commit(); // v5
    const later = stateFromSnapshot(
      verifySnapshot(encodeSnapshot(s, SERVER, T), { serverKey: SERVER_KEY }),
    );
    expect(code(() => applyDiff(later, d3))).toBe('DIRECTORY_ROLLBACK');
    const t = encodeDiff(s, 3, SERVER, T).slice();
    t[t.length - 1]! ^= 1;
    expect(code(() => verifyDiff(t, { serverKey: SERVER_KEY }))).toBe('DIRECTORY_BAD_SIGNATURE');
  });
});

describe('replica', () => {
  it('follows snapshots and diffs, refuses tampering and rollback, and finds routes locally', () => {
    const s = stateWith(4);
    s.putLink(hex[0]!, hex[1]!, 100, 5);
    s.putLink(hex[1]!, hex[2]!, 100, 5);
    s.commit();
    const r = new DirectoryReplica({ serverKey: SERVER_KEY, now: () => T });
    expect(r.loadDiff(encodeDiff(s, 1, SERVER, T))).toBe(false); // nothing held yet
    const first = encodeSnapshot(s, SERVER, T);
    r.loadSnapshot(first);
    expect(r.version).toBe(s.version);
    const [p] = r.find({
      source: ids[0]!.publicKey,
      destination: { address: ids[2]!.address },
      minHops: 2,
      maxHops: 2,
    });
    expect(p!.hops.map((h) => h.key)).toEqual([hex[1], hex[2]]);
    const v = s.version;
    s.putLink(hex[2]!, hex[3]!, 100, 5);
    s.commit();
    expect(r.loadDiff(encodeDiff(s, v, SERVER, T))).toBe(true);
    expect(r.state!.linkCount).toBe(3);
    expect(r.loadDiff(encodeDiff(s, s.version, SERVER, T))).toBe(true); // empty diff
    expect(r.loadDiff(encodeDiff(s, v - 1, SERVER, T))).toBe(false); // does not start here
    expect(code(() => r.loadSnapshot(first))).toBe('DIRECTORY_ROLLBACK');
    const t = encodeSnapshot(s, SERVER, T).slice();
    t[t.length - 3]! ^= 4;
    expect(code(() => r.loadSnapshot(t))).toBe('DIRECTORY_BAD_SIGNATURE');
    const stale = new DirectoryReplica({ serverKey: SERVER_KEY, maxAge: 60, now: () => T + 61 });
    expect(code(() => stale.loadSnapshot(first))).toBe('DIRECTORY_STALE');
    expect(code(() => stale.find({ destination: { address: ids[1]!.address } }))).toBe(
      'DIRECTORY_NO_ROUTE',
    );
  });
});
