/**
 * The signed node descriptor: what a node publishes in the directory so
 * others can reach it, route through it and pay it. It carries the node's
 * Ed25519 public key in clear (its address is encodeAddress(publicKey)); that
 * is fine because the directory is public — the link wire never shows it.
 *
 * Byte layout (all integers unsigned big-endian; docs/protocol.md §Descriptor):
 *
 *   u8   version (1)            u8   flags (bit 0 relay, bit 1 exit)
 *   32   Ed25519 public key     u64  issuedAt, expiresAt (Unix seconds), pricePerMiB
 *   u8   endpoint count, each { u8 transport, u8 host length, host, u16 port }
 *   u8   exit port-range count, each { u16 from, u16 to }
 *   u8   exit host-pattern count, each { u8 length, pattern }
 *   64   Ed25519 signature over DESCRIPTOR_SIGNATURE_DOMAIN ‖ 0x00 ‖ all bytes above
 *
 * Decoding checks structure and canonical form only; verifyDescriptor adds
 * the signature and the validity window.
 */
import { ed25519PublicKey, ed25519Sign, ed25519Verify, encodeAddress } from '@skymesh/crypto';
import { fromBase64Url, toBase64Url } from '../codec/base64url.js';
import { Reader } from '../codec/reader.js';
import { Writer } from '../codec/writer.js';
import { ProtocolError } from '../errors.js';
import { hostPatternProblem, hostProblem, MAX_HOST_LENGTH } from './host.js';

/** The descriptor format this code writes and reads. */
export const DESCRIPTOR_VERSION = 1;
/** Cap on a whole descriptor encoding, signature included. */
export const MAX_DESCRIPTOR_SIZE = 4096;
/** Cap on the endpoint list. */
export const MAX_ENDPOINTS = 8;
/** Cap on each exit-policy list (port ranges, host patterns). */
export const MAX_EXIT_RULES = 32;
/** Longest validity window a descriptor may claim (30 days), so none lives forever. */
export const MAX_DESCRIPTOR_LIFETIME = 30 * 24 * 3600;
/** Validity window signDescriptor uses when none is given (1 day). */
export const DEFAULT_DESCRIPTOR_LIFETIME = 24 * 3600;
/** Clock difference verifyDescriptor tolerates by default, in seconds. */
export const DEFAULT_CLOCK_SKEW = 300;
/** Signature domain: a descriptor signature can never be taken for any other signed object. */
export const DESCRIPTOR_SIGNATURE_DOMAIN = 'skymesh node descriptor v1';

/** How a node can be dialled. Index in this list = the transport's wire code. */
export const TRANSPORTS = ['ws', 'wss', 'tcp'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** One way to reach the node. Ports are the node's own choice; none is fixed. */
export interface Endpoint {
  transport: Transport;
  /** Lowercase host name, IPv4 or IPv6 literal (no brackets), at most 253 characters. */
  host: string;
  /** 1..65535. */
  port: number;
}

/** An inclusive range of TCP ports, 1 ≤ from ≤ to ≤ 65535. */
export interface PortRange {
  from: number;
  to: number;
}

/**
 * Where an exit lets streams go: a destination is allowed when its port is in
 * one of `ports` and its host matches one of `hosts` ("*", "*.example.org"
 * for subdomains, or an exact host / IP literal). Empty lists allow nothing,
 * which is the default.
 */
export interface ExitPolicy {
  ports: PortRange[];
  hosts: string[];
}

export interface NodeRoles {
  /** Forwards cells for others. */
  relay: boolean;
  /** Opens streams to the outside world under its exit policy. */
  exit: boolean;
}

/** A decoded node descriptor. */
export interface NodeDescriptor {
  version: number;
  /** The node's Ed25519 public key: its identity, address and signature key. */
  publicKey: Uint8Array;
  roles: NodeRoles;
  /** Unix seconds. */
  issuedAt: number;
  /** Unix seconds, after issuedAt and at most MAX_DESCRIPTOR_LIFETIME later. */
  expiresAt: number;
  /** Price of forwarding one MiB, in the coin's smallest unit (u64). */
  pricePerMiB: bigint;
  endpoints: Endpoint[];
  exitPolicy: ExitPolicy;
  /** 64-byte Ed25519 signature. */
  signature: Uint8Array;
}

/** What a node fills in to sign a descriptor; the key comes from the signer. */
export interface DescriptorFields {
  roles: NodeRoles;
  endpoints: Endpoint[];
  pricePerMiB: bigint;
  /** @default no exit: { ports: [], hosts: [] } */
  exitPolicy?: ExitPolicy;
  /** @default now (Unix seconds) */
  issuedAt?: number;
  /** @default issuedAt + DEFAULT_DESCRIPTOR_LIFETIME */
  expiresAt?: number;
}

/** Anything that holds an Ed25519 key pair and signs with it (an Identity does). */
export interface DescriptorSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** Options of verifyDescriptor. */
export interface VerifyOptions {
  /** Current time in Unix seconds. @default Math.floor(Date.now() / 1000) */
  now?: number;
  /** Seconds of clock difference tolerated at both ends of the window. @default DEFAULT_CLOCK_SKEW */
  clockSkew?: number;
}

const FLAG_RELAY = 1;
const FLAG_EXIT = 2;
const SIGNATURE_SIZE = 64;
const DOMAIN = new TextEncoder().encode(`${DESCRIPTOR_SIGNATURE_DOMAIN}\0`);

function fieldTooLarge(field: string, size: number, max: number): never {
  throw new ProtocolError(
    'DESCRIPTOR_FIELD_TOO_LARGE',
    `descriptor ${field}: ${size} exceeds cap ${max}`,
    { field, size, max },
  );
}

function tooLarge(size: number): never {
  throw new ProtocolError(
    'DESCRIPTOR_TOO_LARGE',
    `descriptor of ${size} bytes exceeds ${MAX_DESCRIPTOR_SIZE}`,
    { size, max: MAX_DESCRIPTOR_SIZE },
  );
}

// Reads a u8 count and checks it against its cap before anything is allocated.
function count(r: Reader, field: string, max: number): number {
  const n = r.u8(field);
  if (n > max) fieldTooLarge(field, n, max);
  return n;
}

// Reads a u8-prefixed ASCII host or pattern, checks the cap and the syntax.
function hostText(r: Reader, field: string, problem: (s: string) => string | null): string {
  const at = r.offset;
  const n = r.u8(field);
  if (n > MAX_HOST_LENGTH) fieldTooLarge(field, n, MAX_HOST_LENGTH);
  const raw = r.bytes(n, field);
  let s = '';
  for (let i = 0; i < raw.length; i++) s += String.fromCharCode(raw[i]!);
  const why = problem(s);
  if (why !== null) r.badValue(field, why, at);
  return s;
}

function port(r: Reader, field: string): number {
  const p = r.u16(field);
  if (p === 0) r.badValue(field, 'port 0', r.offset - 2);
  return p;
}

/**
 * Decodes a descriptor's structure without checking its signature or time.
 * @throws ProtocolError DESCRIPTOR_TOO_LARGE | DESCRIPTOR_FIELD_TOO_LARGE | DECODE_BAD_VERSION |
 *   DECODE_TRUNCATED | DECODE_TRAILING_BYTES | DECODE_BAD_VALUE
 */
export function decodeDescriptor(bytes: Uint8Array): NodeDescriptor {
  if (bytes.length > MAX_DESCRIPTOR_SIZE) tooLarge(bytes.length);
  const r: Reader = new Reader(bytes);
  const version = r.u8('version');
  if (version !== DESCRIPTOR_VERSION) {
    throw new ProtocolError('DECODE_BAD_VERSION', `descriptor version ${version} unknown`, {
      field: 'version',
      offset: 0,
      version,
    });
  }
  const publicKey = r.bytes(32, 'publicKey').slice();
  const flags = r.u8('flags');
  if (flags & ~(FLAG_RELAY | FLAG_EXIT)) r.badValue('flags', 'reserved bits set', r.offset - 1);
  const issuedAt = r.u64Number('issuedAt');
  const expiresAt = r.u64Number('expiresAt');
  if (expiresAt <= issuedAt) r.badValue('expiresAt', 'not after issuedAt', r.offset - 8);
  if (expiresAt - issuedAt > MAX_DESCRIPTOR_LIFETIME) {
    r.badValue('expiresAt', `validity longer than ${MAX_DESCRIPTOR_LIFETIME} s`, r.offset - 8);
  }
  const pricePerMiB = r.u64('pricePerMiB');
  const endpoints: Endpoint[] = [];
  const nEndpoints = count(r, 'endpoints', MAX_ENDPOINTS);
  for (let i = 0; i < nEndpoints; i++) {
    const t = r.u8('transport');
    const transport = TRANSPORTS[t];
    if (transport === undefined) r.badValue('transport', `unknown transport ${t}`, r.offset - 1);
    const host = hostText(r, 'host', hostProblem);
    endpoints.push({ transport, host, port: port(r, 'port') });
  }
  const ports: PortRange[] = [];
  const nPorts = count(r, 'exitPorts', MAX_EXIT_RULES);
  for (let i = 0; i < nPorts; i++) {
    const from = port(r, 'exitPorts');
    const to = port(r, 'exitPorts');
    if (to < from) r.badValue('exitPorts', 'range ends before it starts', r.offset - 4);
    ports.push({ from, to });
  }
  const hosts: string[] = [];
  const nHosts = count(r, 'exitHosts', MAX_EXIT_RULES);
  for (let i = 0; i < nHosts; i++) hosts.push(hostText(r, 'exitHosts', hostPatternProblem));
  const signature = r.bytes(SIGNATURE_SIZE, 'signature').slice();
  r.end('descriptor');
  return {
    version,
    publicKey,
    roles: { relay: (flags & FLAG_RELAY) !== 0, exit: (flags & FLAG_EXIT) !== 0 },
    issuedAt,
    expiresAt,
    pricePerMiB,
    endpoints,
    exitPolicy: { ports, hosts },
    signature,
  };
}

// Encodes everything but the signature; the result is what gets signed.
function encodeBody(d: Omit<NodeDescriptor, 'signature'>): Writer {
  const { endpoints, exitPolicy } = d;
  if (endpoints.length > MAX_ENDPOINTS) fieldTooLarge('endpoints', endpoints.length, MAX_ENDPOINTS);
  if (exitPolicy.ports.length > MAX_EXIT_RULES) {
    fieldTooLarge('exitPorts', exitPolicy.ports.length, MAX_EXIT_RULES);
  }
  if (exitPolicy.hosts.length > MAX_EXIT_RULES) {
    fieldTooLarge('exitHosts', exitPolicy.hosts.length, MAX_EXIT_RULES);
  }
  for (const h of [...endpoints.map((e) => e.host), ...exitPolicy.hosts]) {
    if (typeof h === 'string' && h.length > MAX_HOST_LENGTH) {
      fieldTooLarge('host', h.length, MAX_HOST_LENGTH);
    }
  }
  const w = new Writer({ initialSize: 256 });
  w.u8(d.version, 'version').fixed(d.publicKey, 32, 'publicKey');
  w.u8((d.roles.relay ? FLAG_RELAY : 0) | (d.roles.exit ? FLAG_EXIT : 0), 'flags');
  w.u64Number(d.issuedAt, 'issuedAt').u64Number(d.expiresAt, 'expiresAt');
  w.u64(d.pricePerMiB, 'pricePerMiB');
  w.u8(endpoints.length, 'endpoints');
  for (const e of endpoints) {
    const t = TRANSPORTS.indexOf(e.transport);
    w.u8(t < 0 ? 0xff : t, 'transport');
    w.utf8(1, e.host, MAX_HOST_LENGTH, 'host').u16(e.port, 'port');
  }
  w.u8(exitPolicy.ports.length, 'exitPorts');
  for (const p of exitPolicy.ports) w.u16(p.from, 'exitPorts').u16(p.to, 'exitPorts');
  w.u8(exitPolicy.hosts.length, 'exitHosts');
  for (const h of exitPolicy.hosts) w.utf8(1, h, MAX_HOST_LENGTH, 'exitHosts');
  return w;
}

/**
 * Encodes a descriptor and checks that the result decodes (one validation
 * path for both directions): an invalid value is reported as ENCODE_BAD_VALUE.
 * @throws ProtocolError ENCODE_BAD_VALUE | DESCRIPTOR_FIELD_TOO_LARGE | DESCRIPTOR_TOO_LARGE
 */
export function encodeDescriptor(desc: NodeDescriptor): Uint8Array {
  const w = encodeBody(desc);
  w.fixed(desc.signature, SIGNATURE_SIZE, 'signature');
  const bytes = w.finish();
  if (bytes.length > MAX_DESCRIPTOR_SIZE) tooLarge(bytes.length);
  try {
    decodeDescriptor(bytes);
  } catch (err) {
    if (err instanceof ProtocolError && err.code.startsWith('DECODE_')) {
      throw new ProtocolError('ENCODE_BAD_VALUE', err.message, err.details ?? {});
    }
    throw err;
  }
  return bytes;
}

function signedMessage(body: Uint8Array): Uint8Array {
  const msg = new Uint8Array(DOMAIN.length + body.length);
  msg.set(DOMAIN);
  msg.set(body, DOMAIN.length);
  return msg;
}

/**
 * Fills in the key, version and times, then signs. `signer` is a 32-byte
 * Ed25519 seed or anything with `publicKey` and `sign` (an Identity).
 * @throws ProtocolError ENCODE_BAD_VALUE | DESCRIPTOR_FIELD_TOO_LARGE | DESCRIPTOR_TOO_LARGE
 */
export function signDescriptor(
  fields: DescriptorFields,
  signer: Uint8Array | DescriptorSigner,
): NodeDescriptor {
  const publicKey = signer instanceof Uint8Array ? ed25519PublicKey(signer) : signer.publicKey;
  const issuedAt = fields.issuedAt ?? Math.floor(Date.now() / 1000);
  const unsigned = {
    version: DESCRIPTOR_VERSION,
    publicKey,
    roles: { relay: fields.roles.relay, exit: fields.roles.exit },
    issuedAt,
    expiresAt: fields.expiresAt ?? issuedAt + DEFAULT_DESCRIPTOR_LIFETIME,
    pricePerMiB: fields.pricePerMiB,
    endpoints: fields.endpoints.map((e) => ({ ...e })),
    exitPolicy: {
      ports: (fields.exitPolicy?.ports ?? []).map((p) => ({ ...p })),
      hosts: [...(fields.exitPolicy?.hosts ?? [])],
    },
  };
  const msg = signedMessage(encodeBody(unsigned).finish());
  const signature =
    signer instanceof Uint8Array ? ed25519Sign(signer, msg) : signer.sign(msg).slice();
  const desc: NodeDescriptor = { ...unsigned, signature };
  encodeDescriptor(desc); // validates every field (and the size) once
  return desc;
}

/**
 * Decodes (when given bytes), then checks the signature under the
 * descriptor's own key and the validity window against `now`.
 * @returns the verified descriptor
 * @throws ProtocolError DESCRIPTOR_BAD_SIGNATURE | DESCRIPTOR_EXPIRED | DESCRIPTOR_NOT_YET_VALID,
 *   and whatever decodeDescriptor / encodeDescriptor throw for malformed input
 */
export function verifyDescriptor(
  input: Uint8Array | NodeDescriptor,
  options: VerifyOptions = {},
): NodeDescriptor {
  const bytes = input instanceof Uint8Array ? input : encodeDescriptor(input);
  const desc = input instanceof Uint8Array ? decodeDescriptor(input) : input;
  const body = bytes.subarray(0, bytes.length - SIGNATURE_SIZE);
  if (!ed25519Verify(desc.publicKey, signedMessage(body), desc.signature)) {
    throw new ProtocolError('DESCRIPTOR_BAD_SIGNATURE', 'descriptor signature does not verify', {
      address: safeAddress(desc.publicKey),
    });
  }
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const skew = options.clockSkew ?? DEFAULT_CLOCK_SKEW;
  if (now + skew < desc.issuedAt) {
    throw new ProtocolError('DESCRIPTOR_NOT_YET_VALID', 'descriptor issued in the future', {
      issuedAt: desc.issuedAt,
      now,
    });
  }
  if (now - skew >= desc.expiresAt) {
    throw new ProtocolError('DESCRIPTOR_EXPIRED', 'descriptor expired', {
      expiresAt: desc.expiresAt,
      now,
    });
  }
  return desc;
}

function safeAddress(publicKey: Uint8Array): string | null {
  try {
    return encodeAddress(publicKey);
  } catch {
    return null;
  }
}

/** The node's address (encodeAddress of its public key). */
export function descriptorAddress(desc: NodeDescriptor): string {
  return encodeAddress(desc.publicKey);
}

/**
 * The JSON form of a descriptor, for config files and static directory
 * files: the signed bytes in base64url, with the address beside them for
 * people (checked against the key on reading).
 */
export interface DescriptorJSON {
  address: string;
  descriptor: string;
}

export function descriptorToJSON(desc: NodeDescriptor): DescriptorJSON {
  return { address: descriptorAddress(desc), descriptor: toBase64Url(encodeDescriptor(desc)) };
}

/**
 * Parses the JSON form (an object, or its text). Structure only: call
 * verifyDescriptor on the result before trusting it.
 * @throws ProtocolError DECODE_BAD_VALUE (shape, base64url, address mismatch),
 *   DESCRIPTOR_TOO_LARGE, and whatever decodeDescriptor throws
 */
export function descriptorFromJSON(json: unknown): NodeDescriptor {
  let value = json;
  if (typeof value === 'string') {
    if (value.length > 4 * MAX_DESCRIPTOR_SIZE) tooLarge(value.length);
    try {
      value = JSON.parse(value);
    } catch {
      throw new ProtocolError('DECODE_BAD_VALUE', 'descriptor JSON does not parse', {
        field: 'json',
      });
    }
  }
  const obj = value as Partial<Record<keyof DescriptorJSON, unknown>> | null;
  if (
    typeof obj !== 'object' ||
    obj === null ||
    typeof obj.descriptor !== 'string' ||
    typeof obj.address !== 'string'
  ) {
    throw new ProtocolError('DECODE_BAD_VALUE', 'descriptor JSON needs address and descriptor', {
      field: 'json',
    });
  }
  const b64 = obj.descriptor;
  if (b64.length > Math.ceil((MAX_DESCRIPTOR_SIZE * 4) / 3))
    tooLarge(Math.floor((b64.length * 3) / 4));
  const desc = decodeDescriptor(fromBase64Url(b64, MAX_DESCRIPTOR_SIZE, 'descriptor'));
  if (obj.address !== descriptorAddress(desc)) {
    throw new ProtocolError('DECODE_BAD_VALUE', 'address does not match the descriptor key', {
      field: 'address',
    });
  }
  return desc;
}
