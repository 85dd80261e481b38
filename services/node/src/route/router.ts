/**
 * The route layer of a mesh node: builds onion routes for the node's own
 * traffic (source), forwards cells of other people's routes (relay) and
 * accepts routes that end here (destination). Wire formats and layer crypto
 * come from @skymesh/protocol/onion; this module does the I/O over CellLinks,
 * keeps per-route state, timers, backpressure and statistics.
 *
 * Per route and link side, cells wait in a bounded queue when the link is
 * full or the neighbour paused us. A relay whose queue for one direction
 * passes `queue.high` asks the neighbour feeding it to PAUSE that route and
 * RESUMEs it below `queue.low`, so backpressure travels hop by hop back to
 * the RouteChannel at the end, whose send() then returns false. A queue that
 * still reaches `queue.max` (a neighbour ignoring PAUSE) tears the route down.
 *
 * The router takes over the onCell/onDrain/onClose handlers of every link
 * attached to it.
 */
import { equalBytes, type Identity } from '@skymesh/crypto';
import { CELL_SIZE, MAX_HOPS } from '@skymesh/protocol';
import {
  CellQueue,
  cellBody,
  controlToken,
  createSetupPacket,
  decodeRouteHeader,
  encodeCell,
  encodeControlCell,
  InnerType,
  OnionError,
  openBackward,
  openForwardInner,
  processSetupPacket,
  ReplayCache,
  type ReplayCacheInit,
  ROUTE_PAYLOAD_SIZE,
  RouteCommand,
  RouteFailure,
  relayBackwardCell,
  relayForwardCell,
  SETUP_PACKET_SIZE,
  SlotKind,
  sealBackwardCell,
  sealForwardCell,
} from '@skymesh/protocol/onion';
import type { CellLink, ChannelStatus, RouteChannel } from '../contracts.js';
import { RouteError } from './errors.js';
import { ROUTE_ID_SIDE_BIT, RouteIdAllocator } from './ids.js';

/** One hop of a path: its Ed25519 key and, later, its payment voucher. */
export interface PathHop {
  readonly publicKey: Uint8Array;
  /** Opaque voucher handed to this hop inside its layer (≤ 128 bytes). */
  readonly voucher?: Uint8Array;
}

/** Queue bounds, in cells, per route and link side. */
export interface RouteQueueLimits {
  /** A relay asks its feeding neighbour to PAUSE above this. @default 32 */
  readonly high?: number;
  /** …and to RESUME at or below this. @default 8 */
  readonly low?: number;
  /** A queue this long tears the route down (CONGESTION). @default 256 */
  readonly max?: number;
  /** RouteChannel.send returns false at this many waiting cells. @default 32 */
  readonly channel?: number;
}

export interface RouterInit {
  /** This node's identity: its DH secret opens setup packets. */
  readonly identity: Identity;
  /**
   * The link to a neighbour by Ed25519 key, opening one if needed; undefined
   * (or a rejected promise) when it cannot be reached. Links it returns are
   * attached automatically.
   */
  getLink(peerKey: Uint8Array): CellLink | undefined | Promise<CellLink | undefined>;
  /** Clock in ms. @default Date.now */
  readonly now?: () => number;
  /** How long buildRoute waits for the destination's answer. @default 10000 */
  readonly setupTimeoutMs?: number;
  /** An end sends a keepalive after this long without sending. @default 15000 */
  readonly keepaliveMs?: number;
  /** A route with no valid cell for this long is torn down. @default 60000 */
  readonly idleTimeoutMs?: number;
  /** A released route ID rests this long before reuse. @default 60000 */
  readonly quarantineMs?: number;
  /** Period of the timer sweep (keepalive, expiry); 0 = none, call tick(). @default 5000 */
  readonly sweepMs?: number;
  /** Routes (all roles) this router keeps at most. @default 16384 */
  readonly maxRoutes?: number;
  /** Accepted clock difference of setup packets. @default 60000 */
  readonly setupMaxSkewMs?: number;
  /** Replay cache bounds (window defaults to twice setupMaxSkewMs). */
  readonly replay?: ReplayCacheInit;
  readonly queue?: RouteQueueLimits;
  /**
   * Decides whether this node relays or accepts a route, after its setup
   * layer verified (payments check the voucher here). Refused routes get a
   * REFUSED report to the source. Default: admit all.
   */
  readonly admit?: (request: RouteAdmission) => boolean;
  /**
   * SETUP cells a link may bring per second (token bucket) before the excess
   * is dropped unprocessed: each costs an X25519 and a MAC.
   * @default { perSecond: 200, burst: 400 }
   */
  readonly setupRate?: { readonly perSecond?: number; readonly burst?: number };
}

/** What a hop knows about a route when it decides whether to carry it. */
export interface RouteAdmission {
  readonly role: 'relay' | 'destination';
  /** The VOUCHER_SIZE bytes the source put in this hop's slot (opaque here). */
  readonly voucher: Uint8Array;
  /** The predecessor's Ed25519 key (the link's peer). */
  readonly prevPeerKey: Uint8Array;
  /** The successor's Ed25519 key (relay only). */
  readonly nextPeerKey?: Uint8Array;
}

export interface BuildRouteOptions {
  /** Overrides RouterInit.setupTimeoutMs for this route. */
  readonly timeoutMs?: number;
}

/** Why a cell was dropped. */
export type DropReason =
  | 'malformed'
  | 'unknownRoute'
  | 'badMac'
  | 'badKey'
  | 'badSlot'
  | 'replay'
  | 'replayCacheFull'
  | 'stale'
  | 'badToken'
  | 'notReady'
  | 'congestion'
  | 'rateLimited'
  | 'handlerError';

/** Counters for metrics. Every number only grows, except `routes`. */
export interface RouterStats {
  readonly routes: { source: number; relay: number; destination: number };
  readonly cellsIn: number;
  readonly cellsOut: number;
  /** Data cells a relay passed on (both directions). */
  readonly cellsForwarded: number;
  readonly bytesForwarded: number;
  readonly drops: Readonly<Record<DropReason, number>>;
  readonly setups: {
    built: number;
    failed: number;
    relayed: number;
    accepted: number;
  };
  /** Setup round trip at the source, ms, over the last 256 routes built. */
  readonly setupLatencyMs: { last: number; p50: number; count: number };
}

/** The route layer of one node. */
export interface Router {
  /** Starts routing cells of `link` (idempotent). */
  attachLink(link: CellLink): void;
  /**
   * Builds a route along `path` (1..MAX_HOPS hops, the last one the
   * destination) and resolves once the destination acknowledged it.
   * @throws RouteError ROUTE_BAD_PATH | ROUTE_NO_LINK | ROUTE_SETUP_FAILED |
   *   ROUTE_SETUP_TIMEOUT | ROUTE_CLOSED | ROUTE_RESOURCE_LIMIT
   */
  buildRoute(path: readonly PathHop[], options?: BuildRouteOptions): Promise<RouteChannel>;
  /** Sets the handler of routes ending at this node; without one, setups are refused. */
  onIncomingRoute(handler: (channel: RouteChannel) => void): void;
  stats(): RouterStats;
  /**
   * Every route's queues and pause flags and every link's control backlog,
   * for stall diagnosis (bench/debug dumps). A snapshot; not for metrics.
   */
  debugState(): Record<string, unknown>;
  /** Runs the timers now (keepalives, idle expiry, quarantine); the sweep timer calls it. */
  tick(): void;
  /** Tears every route down and stops the timer. */
  close(): void;
}

const FAILURE_NAMES = new Map<number, string>(
  Object.entries(RouteFailure).map(([name, code]) => [code, name]),
);

/** The text of a RouteFailure code, e.g. 'NEXT_HOP_UNREACHABLE'. */
export function routeFailureName(code: number): string {
  return FAILURE_NAMES.get(code) ?? `UNKNOWN_${code}`;
}

const SETUP_DROPS: Record<string, DropReason> = {
  ONION_BAD_CELL: 'malformed',
  ONION_BAD_MAC: 'badMac',
  ONION_BAD_KEY: 'badKey',
  ONION_BAD_SLOT: 'badSlot',
  ONION_REPLAY: 'replay',
  ONION_REPLAY_CACHE_FULL: 'replayCacheFull',
  ONION_STALE: 'stale',
};

/** Consecutive forward cells failing their tag before a hop gives the route up. */
const MAX_BAD_CELLS = 8;
const MAX_CONTROL_BACKLOG = 4096;
const EMPTY = new Uint8Array(0);

type Role = 'source' | 'relay' | 'destination';
type RouteState = 'setup' | 'open' | 'closing' | 'closed';

/** One end of a route on one link. */
interface Side {
  readonly entry: LinkEntry;
  readonly id: number;
  /** Token shared with the neighbour across this link. */
  readonly token: Uint8Array;
  /** True when this end picked the ID (it then quarantines it on release). */
  readonly allocated: boolean;
  /** Cells waiting for the link or a RESUME; bounds the slab memory they pin too. */
  readonly queue: CellQueue;
  /** The neighbour asked us to stop sending this route's cells. */
  paused: boolean;
  /** We asked the neighbour to stop sending. */
  pauseSent: boolean;
  /** Release the route once the queue (ending with DESTROY) is flushed. */
  finalize: boolean;
  /** The route is gone but this queue (ending with DESTROY) still drains. */
  draining: boolean;
  route: Route;
}

interface PendingSetup {
  resolve(ch: RouteChannel): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
  started: number;
}

interface Route {
  readonly role: Role;
  state: RouteState;
  prev?: Side;
  next?: Side;
  /** Relay/destination: this hop's layer keys. */
  fwdKey: Uint8Array;
  bwdKey: Uint8Array;
  /** Relay: token to use toward the successor. */
  nextToken: Uint8Array;
  /** Source: every hop's keys, in path order. */
  fwdKeys: Uint8Array[];
  bwdKeys: Uint8Array[];
  fwdCounter: number;
  bwdCounter: number;
  badCells: number;
  lastActive: number;
  lastSent: number;
  channel?: Channel;
  pending?: PendingSetup;
}

interface LinkEntry {
  readonly link: CellLink;
  readonly routes: Map<number, Side>;
  readonly ids: RouteIdAllocator;
  /** Side bit of IDs the neighbour picks. */
  readonly peerBit: number;
  /** Sides with queued cells, waiting for the link to drain. */
  readonly waiting: Set<Side>;
  /** Control cells of released routes the link could not take yet. */
  readonly control: Uint8Array[];
  /** SETUP token bucket: tokens left and when it was last filled. */
  setupTokens: number;
  setupFilled: number;
  closed: boolean;
}

function compareKeys(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === 'function';
}

/** The RouteChannel of a route end (source or destination). */
class Channel implements RouteChannel {
  readonly payloadSize = ROUTE_PAYLOAD_SIZE;
  status: ChannelStatus = 'open';
  wantsDrain = false;
  closeReason: string | undefined;
  private payloadHandler: ((p: Uint8Array) => void) | undefined;
  private early: Uint8Array[] = [];
  private drainHandler: () => void = () => {};
  private closeHandler: ((reason: string) => void) | undefined;

  constructor(
    private readonly router: RouterImpl,
    readonly route: Route,
  ) {}

  send(payload: Uint8Array): boolean {
    if (this.status !== 'open') return false;
    if (payload.length > ROUTE_PAYLOAD_SIZE) {
      throw new RouteError(
        'ROUTE_PAYLOAD_TOO_LARGE',
        `a payload has at most ${ROUTE_PAYLOAD_SIZE} bytes`,
        {
          length: payload.length,
        },
      );
    }
    return this.router.sendPayload(this, InnerType.DATA, payload);
  }

  onPayload(handler: (payload: Uint8Array) => void): void {
    this.payloadHandler = handler;
    const early = this.early;
    this.early = [];
    for (const p of early) handler(p);
  }

  onDrain(handler: () => void): void {
    this.drainHandler = handler;
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandler = handler;
    if (this.status === 'closed' && this.closeReason !== undefined) handler(this.closeReason);
  }

  close(reason = 'closed'): void {
    if (this.status !== 'open') return;
    this.router.closeGracefully(this.route, reason);
  }

  /** Returns false when a payload arrived before any handler and the early buffer is full. */
  deliver(payload: Uint8Array, limit: number): boolean {
    if (this.payloadHandler) {
      this.payloadHandler(payload);
      return true;
    }
    if (this.early.length >= limit) return false;
    this.early.push(payload);
    return true;
  }

  drained(): void {
    if (!this.wantsDrain || this.status !== 'open') return;
    this.wantsDrain = false;
    this.drainHandler();
  }

  closed(reason: string): void {
    if (this.status === 'closed') return;
    this.status = 'closed';
    this.closeReason = reason;
    this.closeHandler?.(reason);
  }
}

class RouterImpl implements Router {
  private readonly identity: Identity;
  private readonly getLinkFn: RouterInit['getLink'];
  private readonly now: () => number;
  private readonly setupTimeoutMs: number;
  private readonly keepaliveMs: number;
  private readonly idleTimeoutMs: number;
  private readonly quarantineMs: number;
  private readonly maxRoutes: number;
  private readonly setupMaxSkewMs: number;
  private readonly high: number;
  private readonly low: number;
  private readonly max: number;
  private readonly channelLimit: number;
  private readonly replay: ReplayCache;
  private readonly admit: ((request: RouteAdmission) => boolean) | undefined;
  private readonly setupPerSecond: number;
  private readonly setupBurst: number;
  private readonly entries = new Map<CellLink, LinkEntry>();
  private readonly routes = new Set<Route>();
  private incoming: ((ch: RouteChannel) => void) | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private closedRouter = false;
  private readonly counts = { source: 0, relay: 0, destination: 0 };
  private cellsIn = 0;
  private cellsOut = 0;
  private cellsForwarded = 0;
  /** PAUSE and RESUME cells sent (debugState). */
  private pausesSent = 0;
  private resumesSent = 0;
  private readonly drops: Record<DropReason, number> = {
    malformed: 0,
    unknownRoute: 0,
    badMac: 0,
    badKey: 0,
    badSlot: 0,
    replay: 0,
    replayCacheFull: 0,
    stale: 0,
    badToken: 0,
    notReady: 0,
    congestion: 0,
    rateLimited: 0,
    handlerError: 0,
  };
  private readonly setups = { built: 0, failed: 0, relayed: 0, accepted: 0 };
  private readonly latencies: number[] = [];
  private latencyCount = 0;

  constructor(init: RouterInit) {
    this.identity = init.identity;
    this.getLinkFn = init.getLink;
    this.now = init.now ?? Date.now;
    this.setupTimeoutMs = init.setupTimeoutMs ?? 10_000;
    this.keepaliveMs = init.keepaliveMs ?? 15_000;
    this.idleTimeoutMs = init.idleTimeoutMs ?? 60_000;
    this.quarantineMs = init.quarantineMs ?? 60_000;
    this.maxRoutes = init.maxRoutes ?? 16_384;
    this.setupMaxSkewMs = init.setupMaxSkewMs ?? 60_000;
    this.high = init.queue?.high ?? 32;
    this.low = init.queue?.low ?? 8;
    this.max = init.queue?.max ?? 256;
    this.channelLimit = init.queue?.channel ?? 32;
    this.admit = init.admit;
    this.setupPerSecond = init.setupRate?.perSecond ?? 200;
    this.setupBurst = init.setupRate?.burst ?? 400;
    this.replay = new ReplayCache({ windowMs: 2 * this.setupMaxSkewMs, ...init.replay });
    const sweepMs = init.sweepMs ?? 5000;
    if (sweepMs > 0) {
      this.timer = setInterval(() => this.tick(), sweepMs);
      this.timer.unref?.();
    }
  }

  // ── links ────────────────────────────────────────────────────────────

  attachLink(link: CellLink): void {
    this.entry(link);
  }

  private entry(link: CellLink): LinkEntry {
    let e = this.entries.get(link);
    if (e) return e;
    const ours = compareKeys(this.identity.publicKey, link.peerKey) > 0 ? ROUTE_ID_SIDE_BIT : 0;
    e = {
      link,
      routes: new Map(),
      ids: new RouteIdAllocator({ sideBit: ours, quarantineMs: this.quarantineMs }),
      peerBit: ours === 0 ? ROUTE_ID_SIDE_BIT : 0,
      waiting: new Set(),
      control: [],
      setupTokens: this.setupBurst,
      setupFilled: this.now(),
      closed: false,
    };
    const entry = e;
    this.entries.set(link, entry);
    link.onCell((cell) => this.onCell(entry, cell));
    link.onDrain(() => this.onDrain(entry));
    link.onClose(() => this.onLinkClosed(entry));
    return entry;
  }

  private onDrain(e: LinkEntry): void {
    while (e.control.length > 0) {
      if (!e.link.sendCell(e.control[0]!)) return;
      e.control.shift();
      this.cellsOut++;
    }
    for (const side of [...e.waiting]) {
      // A paused side waits for RESUME, not for the link: it must not hold up the others.
      if (side.paused) continue;
      this.flush(side);
      if (e.waiting.has(side) && !side.paused) return;
    }
  }

  private onLinkClosed(e: LinkEntry): void {
    if (e.closed) return;
    e.closed = true;
    this.entries.delete(e.link);
    for (const side of [...e.routes.values()]) {
      const r = side.route;
      if (r.role === 'relay' && side === r.next) this.reportFailure(r, RouteFailure.LINK_LOST);
      this.teardown(r, 'link closed', side);
    }
  }

  // ── sending ──────────────────────────────────────────────────────────

  private makeSide(e: LinkEntry, id: number, token: Uint8Array, allocated: boolean, route: Route) {
    const side: Side = {
      entry: e,
      id,
      token,
      allocated,
      queue: new CellQueue(this.max),
      paused: false,
      pauseSent: false,
      finalize: false,
      draining: false,
      route,
    };
    e.routes.set(id, side);
    return side;
  }

  /** Sends or queues a route's cell on one side; false when the route had to be torn down. */
  private push(side: Side, cell: Uint8Array): boolean {
    const link = side.entry.link;
    if (side.queue.length === 0 && !side.paused && !side.entry.closed) {
      if (link.sendCell(cell)) {
        this.cellsOut++;
        return true;
      }
    }
    side.queue.push(cell);
    side.entry.waiting.add(side);
    const r = side.route;
    if (side.queue.length >= this.max) {
      this.drops.congestion++;
      side.queue.clear();
      if (r.role === 'relay') this.reportFailure(r, RouteFailure.CONGESTION);
      this.teardown(r, 'congestion');
      return false;
    }
    if (r.role === 'relay' && side.queue.length >= this.high) {
      const feeder = side === r.next ? r.prev : r.next;
      if (feeder && !feeder.pauseSent) {
        feeder.pauseSent = true;
        this.sendControl(feeder, RouteCommand.PAUSE);
      }
    }
    return true;
  }

  private flush(side: Side): void {
    const link = side.entry.link;
    while (side.queue.length > 0 && !side.paused && !side.entry.closed) {
      if (!link.sendCell(side.queue.peek()!)) break;
      side.queue.shift();
      this.cellsOut++;
    }
    const r = side.route;
    if (side.queue.length === 0) {
      side.entry.waiting.delete(side);
      side.draining = false;
      if (side.finalize) {
        this.release(r, r.channel?.closeReason ?? 'closed');
        return;
      }
    }
    if (r.state === 'closed') return;
    if (r.role === 'relay' && side.queue.length <= this.low) {
      const feeder = side === r.next ? r.prev : r.next;
      if (feeder?.pauseSent) {
        feeder.pauseSent = false;
        this.sendControl(feeder, RouteCommand.RESUME);
      }
    }
    if (r.channel && side.queue.length < this.channelLimit) r.channel.drained();
  }

  /** Control cells skip the route queue (they must pass a paused route). */
  private sendControl(side: Side, command: RouteCommand): void {
    const e = side.entry;
    if (e.closed) return;
    if (command === RouteCommand.PAUSE) this.pausesSent++;
    else if (command === RouteCommand.RESUME) this.resumesSent++;
    const cell = encodeControlCell(side.id, command, side.token);
    if (e.control.length === 0 && e.link.sendCell(cell)) {
      this.cellsOut++;
      return;
    }
    if (e.control.length < MAX_CONTROL_BACKLOG) e.control.push(cell);
  }

  /** Channel send: seals one payload in the route's direction. */
  sendPayload(ch: Channel, type: InnerType, payload: Uint8Array): boolean {
    const r = ch.route;
    const side = r.role === 'source' ? r.next : r.prev;
    if (!side || r.state !== 'open') return false;
    if (side.queue.length >= this.channelLimit) {
      ch.wantsDrain = true;
      return false;
    }
    const cell =
      r.role === 'source'
        ? sealForwardCell(side.id, r.fwdKeys, r.fwdCounter++, type, payload)
        : sealBackwardCell(side.id, r.bwdKey, r.bwdCounter++, type, payload);
    r.lastSent = this.now();
    this.push(side, cell);
    return true;
  }

  // ── receiving ────────────────────────────────────────────────────────

  private onCell(e: LinkEntry, cell: Uint8Array): void {
    this.cellsIn++;
    try {
      let header: ReturnType<typeof decodeRouteHeader>;
      try {
        header = decodeRouteHeader(cell);
      } catch {
        this.drops.malformed++;
        return;
      }
      const side = e.routes.get(header.routeId);
      if (header.command === RouteCommand.SETUP) {
        if (side || (header.routeId & ROUTE_ID_SIDE_BIT) >>> 0 !== e.peerBit) {
          this.drops.malformed++;
          return;
        }
        this.onSetup(e, header.routeId, cell);
        return;
      }
      if (!side) {
        this.drops.unknownRoute++;
        return;
      }
      const r = side.route;
      switch (header.command) {
        case RouteCommand.DATA:
          if (side === r.prev) this.onForward(r, cell);
          else this.onBackward(r, cell);
          return;
        case RouteCommand.DESTROY:
        case RouteCommand.PAUSE:
        case RouteCommand.RESUME:
          if (!equalBytes(controlToken(cell), side.token)) {
            this.drops.badToken++;
            return;
          }
          if (header.command === RouteCommand.DESTROY) this.teardown(r, 'destroyed', side);
          else {
            side.paused = header.command === RouteCommand.PAUSE;
            if (!side.paused) this.flush(side);
          }
          return;
      }
    } catch {
      // A throwing payload handler or a bug must never take the node down.
      this.drops.handlerError++;
    }
  }

  private newRoute(role: Role): Route {
    const t = this.now();
    return {
      role,
      state: 'setup',
      fwdKey: EMPTY,
      bwdKey: EMPTY,
      nextToken: EMPTY,
      fwdKeys: [],
      bwdKeys: [],
      fwdCounter: 0,
      bwdCounter: 0,
      badCells: 0,
      lastActive: t,
      lastSent: t,
    };
  }

  /** Takes one SETUP token from the link's bucket; false when it is empty. */
  private takeSetupToken(e: LinkEntry): boolean {
    const now = this.now();
    const refill = ((now - e.setupFilled) / 1000) * this.setupPerSecond;
    e.setupTokens = Math.min(this.setupBurst, e.setupTokens + Math.max(0, refill));
    e.setupFilled = now;
    if (e.setupTokens < 1) return false;
    e.setupTokens -= 1;
    return true;
  }

  private onSetup(e: LinkEntry, id: number, cell: Uint8Array): void {
    if (!this.takeSetupToken(e)) {
      this.drops.rateLimited++;
      return;
    }
    let hop: ReturnType<typeof processSetupPacket>;
    try {
      hop = processSetupPacket(
        this.identity.dhSecretKey,
        cellBody(cell).subarray(0, SETUP_PACKET_SIZE),
        { now: this.now(), maxSkewMs: this.setupMaxSkewMs, replay: this.replay },
      );
    } catch (err) {
      this.drops[(err instanceof OnionError && SETUP_DROPS[err.code]) || 'malformed']++;
      return;
    }
    const destination = hop.kind === SlotKind.DESTINATION;
    const r = this.newRoute(destination ? 'destination' : 'relay');
    r.fwdKey = hop.keys.forward;
    r.bwdKey = hop.keys.backward;
    r.nextToken = hop.keys.nextToken;
    r.prev = this.makeSide(e, id, hop.prevToken, false, r);
    this.adopt(r);
    if (this.routes.size > this.maxRoutes) {
      this.reportFailure(r, RouteFailure.RESOURCE_LIMIT);
      this.teardown(r, 'resource limit');
      return;
    }
    const request: RouteAdmission = {
      role: r.role === 'destination' ? 'destination' : 'relay',
      voucher: hop.voucher,
      prevPeerKey: e.link.peerKey,
      ...(hop.next ? { nextPeerKey: hop.next.peerKey } : {}),
    };
    if (this.admit && !this.admit(request)) {
      this.reportFailure(r, RouteFailure.REFUSED);
      this.teardown(r, 'refused');
      return;
    }
    if (destination) {
      if (!this.incoming) {
        this.reportFailure(r, RouteFailure.REFUSED);
        this.teardown(r, 'refused');
        return;
      }
      r.state = 'open';
      r.channel = new Channel(this, r);
      this.setups.accepted++;
      this.sendPayload(r.channel, InnerType.ACK, EMPTY);
      this.incoming(r.channel);
      return;
    }
    const next = hop.next!;
    const connect = (link: CellLink | undefined) => {
      if (r.state !== 'setup') return;
      if (link?.status !== 'open' || this.closedRouter) {
        this.reportFailure(r, RouteFailure.NEXT_HOP_UNREACHABLE);
        this.teardown(r, 'next hop unreachable');
        return;
      }
      const ne = this.entry(link);
      const nid = ne.ids.allocate((x) => ne.routes.has(x), this.now());
      if (nid === undefined) {
        this.reportFailure(r, RouteFailure.RESOURCE_LIMIT);
        this.teardown(r, 'no route id');
        return;
      }
      r.next = this.makeSide(ne, nid, r.nextToken, true, r);
      r.state = 'open';
      this.setups.relayed++;
      this.push(r.next, encodeCell(nid, RouteCommand.SETUP, next.packet));
    };
    let got: CellLink | undefined | Promise<CellLink | undefined>;
    try {
      got = equalBytes(next.peerKey, this.identity.publicKey)
        ? undefined
        : this.getLinkFn(next.peerKey);
    } catch {
      got = undefined;
    }
    if (isPromise(got)) {
      // Outside onCell's guard now: a throwing link must not become an unhandled rejection.
      const guarded = (link: CellLink | undefined) => {
        try {
          connect(link);
        } catch {
          this.drops.handlerError++;
          this.teardown(r, 'internal error');
        }
      };
      got.then(guarded, () => guarded(undefined));
    } else connect(got);
  }

  private onForward(r: Route, cell: Uint8Array): void {
    if (r.state !== 'open' || r.role === 'source') {
      this.drops.notReady++;
      return;
    }
    const relay = r.role === 'relay';
    const out = relay
      ? relayForwardCell(r.next!.id, r.fwdKey, r.fwdCounter, cellBody(cell))
      : openForwardInner(r.fwdKey, r.fwdCounter, cellBody(cell));
    if (out === null || out === 'bad-tag') {
      this.drops.badMac++;
      if (++r.badCells >= MAX_BAD_CELLS) {
        this.teardown(r, 'integrity');
      }
      return;
    }
    r.fwdCounter++;
    r.badCells = 0;
    r.lastActive = this.now();
    if (out instanceof Uint8Array) {
      this.cellsForwarded++;
      this.push(r.next!, out);
      return;
    }
    const inner = out;
    if (inner === 'malformed') {
      this.drops.malformed++;
      return;
    }
    if (inner.type === InnerType.DATA && !r.channel!.deliver(inner.payload, this.channelLimit)) {
      this.drops.congestion++;
      this.teardown(r, 'congestion');
    }
  }

  private onBackward(r: Route, cell: Uint8Array): void {
    if (r.role === 'relay') {
      if (r.state !== 'open') {
        this.drops.notReady++;
        return;
      }
      r.lastActive = this.now();
      this.cellsForwarded++;
      this.push(r.prev!, relayBackwardCell(r.prev!.id, r.bwdKey, r.bwdCounter++, cellBody(cell)));
      return;
    }
    if (r.role !== 'source') {
      this.drops.notReady++;
      return;
    }
    // Relays have layered this cell whatever it holds, so the counter moves on.
    const msg = openBackward(r.bwdKeys, r.bwdCounter++, cellBody(cell));
    if (!msg) {
      this.drops.badMac++;
      this.teardown(r, 'integrity', undefined, new RouteError('ROUTE_CLOSED', 'route tampered'));
      return;
    }
    r.lastActive = this.now();
    const last = r.bwdKeys.length - 1;
    if (msg.type === InnerType.ERROR) {
      const reason = routeFailureName(msg.payload[0] ?? 0);
      const err = new RouteError('ROUTE_SETUP_FAILED', `hop ${msg.hop} reported ${reason}`, {
        hop: msg.hop,
        reason,
      });
      this.teardown(r, `hop ${msg.hop}: ${reason}`, undefined, err);
      return;
    }
    if (msg.hop !== last) {
      this.drops.malformed++;
      return;
    }
    if (msg.type === InnerType.ACK && r.state === 'setup' && r.pending) {
      const p = r.pending;
      r.pending = undefined;
      clearTimeout(p.timer);
      r.state = 'open';
      this.recordLatency(performance.now() - p.started);
      this.setups.built++;
      r.channel = new Channel(this, r);
      p.resolve(r.channel);
      return;
    }
    if (msg.type === InnerType.DATA && r.state === 'open') {
      if (!r.channel!.deliver(msg.payload, this.channelLimit)) {
        this.drops.congestion++;
        this.teardown(r, 'congestion');
      }
    }
  }

  // ── building ─────────────────────────────────────────────────────────

  async buildRoute(path: readonly PathHop[], options: BuildRouteOptions = {}) {
    if (this.closedRouter) throw new RouteError('ROUTE_CLOSED', 'router closed');
    if (path.length < 1 || path.length > MAX_HOPS) {
      throw new RouteError('ROUTE_BAD_PATH', `a path has 1..${MAX_HOPS} hops`, {
        hops: path.length,
      });
    }
    if (this.routes.size >= this.maxRoutes) {
      throw new RouteError('ROUTE_RESOURCE_LIMIT', 'router at its route limit');
    }
    const started = performance.now();
    let built: ReturnType<typeof createSetupPacket>;
    try {
      built = createSetupPacket(path, { now: this.now() });
    } catch (err) {
      if (err instanceof OnionError) {
        throw new RouteError('ROUTE_BAD_PATH', err.message, { cause: err.code, ...err.details });
      }
      throw err;
    }
    let link: CellLink | undefined;
    try {
      link = await this.getLinkFn(path[0]!.publicKey);
    } catch {
      link = undefined;
    }
    if (link?.status !== 'open') {
      this.setups.failed++;
      throw new RouteError('ROUTE_NO_LINK', 'no link to the first hop');
    }
    if (this.closedRouter) throw new RouteError('ROUTE_CLOSED', 'router closed');
    const e = this.entry(link);
    const id = e.ids.allocate((x) => e.routes.has(x), this.now());
    if (id === undefined) throw new RouteError('ROUTE_RESOURCE_LIMIT', 'no free route ID');
    const r = this.newRoute('source');
    r.fwdKeys = built.hops.map((h) => h.forward);
    r.bwdKeys = built.hops.map((h) => h.backward);
    r.next = this.makeSide(e, id, built.firstToken, true, r);
    this.adopt(r);
    return new Promise<RouteChannel>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.teardown(
          r,
          'setup timeout',
          undefined,
          new RouteError('ROUTE_SETUP_TIMEOUT', 'no answer to the setup packet'),
        );
      }, options.timeoutMs ?? this.setupTimeoutMs);
      timer.unref?.();
      r.pending = { resolve, reject, timer, started };
      this.push(r.next!, encodeCell(id, RouteCommand.SETUP, built.packet));
    });
  }

  onIncomingRoute(handler: (channel: RouteChannel) => void): void {
    this.incoming = handler;
  }

  // ── teardown ─────────────────────────────────────────────────────────

  private adopt(r: Route): void {
    this.routes.add(r);
    this.counts[r.role]++;
  }

  /** A relay or destination tells the source why the route ends (sealed under its backward key). */
  private reportFailure(r: Route, reason: number): void {
    const prev = r.prev;
    if (!prev || prev.entry.closed || r.state === 'closed') return;
    const payload = Uint8Array.of(reason);
    this.push(prev, sealBackwardCell(prev.id, r.bwdKey, r.bwdCounter++, InnerType.ERROR, payload));
  }

  /** An end closes: queued cells go first, then DESTROY, then the route is released. */
  closeGracefully(r: Route, reason: string): void {
    const side = r.role === 'source' ? r.next : r.prev;
    if (!side || r.state === 'closed' || r.state === 'closing') return;
    r.state = 'closing';
    if (r.channel) {
      r.channel.status = 'closing';
      r.channel.closeReason = reason;
    }
    side.finalize = true;
    side.queue.push(encodeControlCell(side.id, RouteCommand.DESTROY, side.token));
    side.entry.waiting.add(side);
    this.flush(side);
  }

  /**
   * Ends a route now: DESTROY to every side but `from` (which told us, or is
   * gone), IDs released, the channel or pending build told. Cells already
   * queued on a side that is not paused still go out before its DESTROY (an
   * error report to the source must not be lost); a paused side's are dropped.
   */
  private teardown(r: Route, reason: string, from?: Side, err?: Error): void {
    if (r.state === 'closed') return;
    for (const side of [r.prev, r.next]) {
      if (!side || side === from || side.entry.closed) continue;
      if (side.queue.length > 0 && !side.paused) {
        side.queue.push(encodeControlCell(side.id, RouteCommand.DESTROY, side.token));
        side.draining = true;
      } else {
        side.queue.clear();
        this.sendControl(side, RouteCommand.DESTROY);
      }
    }
    this.release(r, reason, err);
  }

  private release(r: Route, reason: string, err?: Error): void {
    if (r.state === 'closed') return;
    r.state = 'closed';
    const now = this.now();
    for (const side of [r.prev, r.next]) {
      if (!side) continue;
      if (!side.draining) {
        side.queue.clear();
        side.entry.waiting.delete(side);
      }
      if (side.entry.routes.get(side.id) === side) side.entry.routes.delete(side.id);
      if (side.allocated) side.entry.ids.release(side.id, now);
    }
    if (this.routes.delete(r)) this.counts[r.role]--;
    if (r.pending) {
      const p = r.pending;
      r.pending = undefined;
      clearTimeout(p.timer);
      this.setups.failed++;
      p.reject(err ?? new RouteError('ROUTE_CLOSED', `route closed: ${reason}`, { reason }));
    }
    r.channel?.closed(reason);
  }

  // ── timers, stats ────────────────────────────────────────────────────

  tick(): void {
    const now = this.now();
    for (const r of [...this.routes]) {
      try {
        if (now - r.lastActive > this.idleTimeoutMs) {
          this.teardown(r, 'idle');
          continue;
        }
        if (r.channel && r.state === 'open' && now - r.lastSent >= this.keepaliveMs) {
          this.sendPayload(r.channel, InnerType.KEEPALIVE, EMPTY);
        }
      } catch {
        // A close handler that throws must not stop the sweep for other routes.
        this.drops.handlerError++;
      }
    }
    for (const e of this.entries.values()) e.ids.sweep(now);
  }

  private recordLatency(ms: number): void {
    this.latencies[this.latencyCount++ % 256] = ms;
  }

  stats(): RouterStats {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const last = this.latencyCount > 0 ? this.latencies[(this.latencyCount - 1) % 256]! : 0;
    return {
      routes: { ...this.counts },
      cellsIn: this.cellsIn,
      cellsOut: this.cellsOut,
      cellsForwarded: this.cellsForwarded,
      bytesForwarded: this.cellsForwarded * CELL_SIZE,
      drops: { ...this.drops },
      setups: { ...this.setups },
      setupLatencyMs: {
        last,
        p50: sorted.length > 0 ? sorted[Math.floor(sorted.length / 2)]! : 0,
        count: this.latencyCount,
      },
    };
  }

  debugState(): Record<string, unknown> {
    const side = (s: Side | undefined) =>
      s && {
        id: s.id,
        queue: s.queue.length,
        queuePinnedBytes: s.queue.pinnedBytes,
        paused: s.paused,
        pauseSent: s.pauseSent,
        waiting: s.entry.waiting.has(s),
        linkClosed: s.entry.closed,
        peer: s.entry.link.peerAddress.slice(0, 12),
      };
    return {
      routes: [...this.routes].map((r) => ({
        role: r.role,
        state: r.state,
        fwdCounter: r.fwdCounter,
        bwdCounter: r.bwdCounter,
        prev: side(r.prev),
        next: side(r.next),
        channelWantsDrain: r.channel?.wantsDrain,
      })),
      links: [...this.entries.values()].map((e) => ({
        peer: e.link.peerAddress.slice(0, 12),
        control: e.control.length,
        waiting: e.waiting.size,
        routes: e.routes.size,
      })),
      drops: { ...this.drops },
      pausesSent: this.pausesSent,
      resumesSent: this.resumesSent,
    };
  }

  close(): void {
    this.closedRouter = true;
    if (this.timer) clearInterval(this.timer);
    for (const r of [...this.routes]) this.teardown(r, 'router closed');
  }
}

/**
 * Creates a node's router. Wire it to every link (`attachLink`), set
 * `onIncomingRoute` to accept routes ending here, and build routes with
 * `buildRoute`; relaying needs nothing more.
 * @example
 *   const router = createRouter({ identity, getLink: (key) => links.get(encodeAddress(key)) });
 *   const ch = await router.buildRoute([{ publicKey: r1 }, { publicKey: r2 }, { publicKey: dest }]);
 *   ch.onPayload((p) => …); ch.send(bytes);
 */
export function createRouter(init: RouterInit): Router {
  return new RouterImpl(init);
}
