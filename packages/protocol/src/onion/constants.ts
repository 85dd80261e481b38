/**
 * Sizes and codes of the route layer's cells. Every cell a link carries is
 * CELL_SIZE bytes: a 5-byte route header, then a body whose meaning depends
 * on the command. docs/drafts/routes.md draws every layout.
 */
import { CELL_SIZE, MAX_HOPS } from '../constants.js';

/** Bytes of the route header: route ID (u32, big-endian) ‖ command (u8). */
export const ROUTE_HEADER_SIZE = 5;
/** Bytes of a cell body (everything after the route header). */
export const CELL_BODY_SIZE = CELL_SIZE - ROUTE_HEADER_SIZE;
/** Bytes of one AEAD tag (ChaCha20-Poly1305). */
export const LAYER_TAG_SIZE = 16;
/**
 * Bytes each forward hop shifts the body by: it strips its 16-byte tag at the
 * end and puts 16 zero bytes in front, so the cell keeps its size.
 */
export const LAYER_SHIFT = 16;
/** Bytes of the inner trailer of a data body: type (u8) ‖ payload length (u16). */
export const INNER_TRAILER_SIZE = 3;
/**
 * Largest payload one data cell carries, the same for every route length and
 * both directions: the body minus the outer tag, the shift reserve of the
 * longest route (16 bytes per hop) and the inner trailer. 1896 for 2048-byte cells.
 */
export const ROUTE_PAYLOAD_SIZE =
  CELL_BODY_SIZE - LAYER_TAG_SIZE - LAYER_SHIFT * MAX_HOPS - INNER_TRAILER_SIZE;

/** Bytes reserved in every hop's instructions for a payment voucher (opaque here). */
export const VOUCHER_SIZE = 128;
/** Bytes of one hop's routing instructions inside the setup packet. */
export const SLOT_SIZE = 240;
/** Bytes of the routing-information block β: one slot per possible hop. */
export const ROUTING_INFO_SIZE = SLOT_SIZE * MAX_HOPS;
/** Bytes of the setup MAC γ. */
export const SETUP_MAC_SIZE = 16;
/** Bytes of a teardown/flow-control token. */
export const TOKEN_SIZE = 16;
/** Bytes of the setup packet: α (ephemeral X25519 key) ‖ γ (MAC) ‖ β (routing info). */
export const SETUP_PACKET_SIZE = 32 + SETUP_MAC_SIZE + ROUTING_INFO_SIZE;

/** Route-header commands. Unknown values are dropped. */
export const RouteCommand = {
  /** Body: setup packet ‖ random padding. Sent forward, opens a route on this link's route ID. */
  SETUP: 1,
  /** Body: one onion layer of a data body (forward: per-hop sealed; backward: layered). */
  DATA: 2,
  /** Body: token ‖ random padding. Tears the route down hop by hop. */
  DESTROY: 3,
  /** Body: token ‖ random padding. Asks the neighbour to stop sending this route's cells. */
  PAUSE: 4,
  /** Body: token ‖ random padding. Lets the neighbour send this route's cells again. */
  RESUME: 5,
} as const;
export type RouteCommand = (typeof RouteCommand)[keyof typeof RouteCommand];

/** Types of the inner (end-to-end or hop-to-source) message inside a data body. */
export const InnerType = {
  /** A RouteChannel payload. */
  DATA: 0,
  /** Keeps the route from expiring; carries nothing. Relays cannot tell it from DATA. */
  KEEPALIVE: 1,
  /** The destination accepted the route (backward, answers the setup packet). */
  ACK: 2,
  /** A hop reports a failure to the source (backward); payload: reason (u8). */
  ERROR: 3,
} as const;
export type InnerType = (typeof InnerType)[keyof typeof InnerType];

/** Reasons a hop reports to the source in an ERROR message (u8 on the wire). */
export const RouteFailure = {
  /** The hop has no link to the next hop and could not open one. */
  NEXT_HOP_UNREACHABLE: 1,
  /** The link to the next hop closed while the route was up. */
  LINK_LOST: 2,
  /** A queue of the route overflowed at this hop. */
  CONGESTION: 3,
  /** The destination does not accept routes. */
  REFUSED: 4,
  /** The hop is at its route limit. */
  RESOURCE_LIMIT: 5,
} as const;
export type RouteFailure = (typeof RouteFailure)[keyof typeof RouteFailure];

/** Slot kinds: what a hop does with the route. */
export const SlotKind = {
  RELAY: 1,
  DESTINATION: 2,
} as const;
export type SlotKind = (typeof SlotKind)[keyof typeof SlotKind];
