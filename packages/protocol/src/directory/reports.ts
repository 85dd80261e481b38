/**
 * Turns signed link reports into confirmed links. A link enters the
 * directory only while BOTH ends' current reports list each other, so a
 * lying node can invent links only to nodes that lie with it. The link's
 * round trip is the larger of the two measurements (a liar can make its
 * links look slower, never faster than its honest neighbour measured) and
 * its capacity the smaller of the two figures. Reports age out after a time
 * to live, and a newer report (higher sequence) replaces the older one.
 */
import { keyHex } from './_bytes.js';
import { DirectoryError } from './errors.js';
import type { LinkReport } from './link-report.js';
import type { DirectoryState } from './state.js';

/** Default time a report stays valid after its issue time: 30 minutes. */
export const DEFAULT_REPORT_TTL = 1800;
/** Default tolerated clock difference for report issue times: 5 minutes. */
export const DEFAULT_REPORT_CLOCK_SKEW = 300;

/** Options of a ReportBook. */
export interface ReportBookOptions {
  /** Seconds a report counts after its issuedAt. @default DEFAULT_REPORT_TTL */
  reportTtl?: number;
  /** Seconds a report may be issued ahead of `now`. @default DEFAULT_REPORT_CLOCK_SKEW */
  clockSkew?: number;
}

// What is kept of a report: its peers by hex key, without the key bytes.
interface HeldReport {
  issuedAt: number;
  sequence: number;
  peers: Map<string, { rttMicros: number; capacity: number }>;
}

/** What ingesting one report did. */
export interface ReportResult {
  /** Links of this reporter confirmed (listed by both ends) after the report. */
  confirmed: number;
  /** Links added, changed or removed in the directory. */
  changed: number;
}

export class ReportBook {
  private readonly held = new Map<string, HeldReport>();
  private readonly ttl: number;
  private readonly skew: number;

  constructor(
    private readonly state: DirectoryState,
    options: ReportBookOptions = {},
  ) {
    this.ttl = options.reportTtl ?? DEFAULT_REPORT_TTL;
    this.skew = options.clockSkew ?? DEFAULT_REPORT_CLOCK_SKEW;
  }

  /** Reports held. */
  get size(): number {
    return this.held.size;
  }

  /**
   * Takes a VERIFIED report (verifyLinkReport) from a node present in the
   * directory and updates the links of its reporter. Does not commit.
   * @throws DirectoryError DIRECTORY_UNKNOWN_NODE | DIRECTORY_REPORT_STALE | DIRECTORY_REPORT_REPLAYED
   */
  ingest(report: LinkReport, now: number): ReportResult {
    const key = keyHex(report.publicKey);
    if (!this.state.node(key)) {
      throw new DirectoryError('DIRECTORY_UNKNOWN_NODE', 'publish a descriptor before reporting');
    }
    if (report.issuedAt > now + this.skew || report.issuedAt + this.ttl <= now) {
      throw new DirectoryError('DIRECTORY_REPORT_STALE', 'report outside its validity window', {
        issuedAt: report.issuedAt,
        now,
      });
    }
    const old = this.held.get(key);
    if (old && report.sequence <= old.sequence) {
      throw new DirectoryError('DIRECTORY_REPORT_REPLAYED', 'sequence not above the one held', {
        sequence: report.sequence,
        held: old.sequence,
      });
    }
    const peers: HeldReport['peers'] = new Map();
    for (const l of report.links) {
      const hex = keyHex(l.peer);
      // The held node's key string when there is one: one copy per key in memory.
      const peer = this.state.node(hex)?.key ?? hex;
      peers.set(peer, { rttMicros: l.rttMicros, capacity: l.capacity });
    }
    this.held.set(key, { issuedAt: report.issuedAt, sequence: report.sequence, peers });
    let changed = 0;
    let confirmed = 0;
    const touched = new Set(peers.keys());
    if (old) for (const p of old.peers.keys()) touched.add(p);
    for (const peer of touched) {
      if (this.refresh(key, peer)) changed++;
      if (this.state.link(key, peer)) confirmed++;
    }
    return { confirmed, changed };
  }

  /** The sequence of the report held for a node (hex key), if any. */
  sequence(key: string): number | undefined {
    return this.held.get(key)?.sequence;
  }

  /** Drops a node's report and the links it confirmed. Does not commit. */
  forget(key: string): void {
    const old = this.held.get(key);
    if (!old) return;
    this.held.delete(key);
    for (const peer of old.peers.keys()) this.state.removeLink(key, peer);
  }

  /** Drops reports past their time to live. Returns how many. Does not commit. */
  expire(now: number): number {
    let n = 0;
    for (const [key, r] of this.held) {
      if (r.issuedAt + this.ttl <= now) {
        this.forget(key);
        n++;
      }
    }
    return n;
  }

  // Puts or removes the link between x and y to match both current reports.
  private refresh(x: string, y: string): boolean {
    const lx = this.held.get(x)?.peers.get(y);
    const ly = this.held.get(y)?.peers.get(x);
    if (lx && ly && this.state.node(x) && this.state.node(y)) {
      return this.state.putLink(
        x,
        y,
        Math.max(lx.rttMicros, ly.rttMicros),
        Math.min(lx.capacity, ly.capacity),
      );
    }
    return this.state.removeLink(x, y);
  }
}
