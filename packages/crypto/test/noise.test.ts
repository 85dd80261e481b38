/**
 * Noise handshakes against the cacophony test vectors (every pattern and
 * hash of the suite, on every backend), and one handshake whose two sides
 * run on different backends.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  availableBackends,
  type CipherState,
  fromHex,
  HandshakeState,
  type NoiseHash,
  type NoisePatternName,
  nobleBackend,
  toHex,
  useBackend,
  utf8,
  type WireKeyPair,
  type X25519KeyPair,
  x25519Generate,
  x25519PublicKey,
} from '../src/index.js';
import { forEachBackend } from './_backends.js';

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_ephemeral: string;
  init_static?: string;
  init_remote_static?: string;
  resp_prologue: string;
  resp_ephemeral: string;
  resp_static?: string;
  resp_remote_static?: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

const FILE = JSON.parse(
  readFileSync(new URL('./vectors/cacophony-25519-chachapoly.json', import.meta.url), 'utf8'),
) as { source: string; vectors: Vector[] };

const HANDSHAKE_LEN: Record<NoisePatternName, number> = {
  NN: 2,
  NK: 2,
  KK: 2,
  XK: 3,
  IK: 2,
  XX: 3,
};

function keyPair(secretHex: string): X25519KeyPair {
  const secretKey = fromHex(secretHex);
  return { secretKey, publicKey: x25519PublicKey(secretKey) };
}

function ephemeral(secretHex: string): WireKeyPair {
  const kp = keyPair(secretHex);
  return { ...kp, wire: kp.publicKey };
}

interface SideKeys {
  prologue: string;
  ephemeral: string;
  static?: string | undefined;
  remote_static?: string | undefined;
}

/** The init_* or resp_* fields of a vector. */
function sideKeys(v: Vector, initiator: boolean): SideKeys {
  return initiator
    ? {
        prologue: v.init_prologue,
        ephemeral: v.init_ephemeral,
        static: v.init_static,
        remote_static: v.init_remote_static,
      }
    : {
        prologue: v.resp_prologue,
        ephemeral: v.resp_ephemeral,
        static: v.resp_static,
        remote_static: v.resp_remote_static,
      };
}

function parties(v: Vector): {
  init: HandshakeState;
  resp: HandshakeState;
  pattern: NoisePatternName;
} {
  const [, pattern, , , hash] = v.protocol_name.split('_') as [
    string,
    NoisePatternName,
    string,
    string,
    NoiseHash,
  ];
  const side = (initiator: boolean) => {
    const k = sideKeys(v, initiator);
    return new HandshakeState({
      pattern,
      initiator,
      hash,
      prologue: fromHex(k.prologue),
      e: ephemeral(k.ephemeral),
      ...(k.static ? { s: keyPair(k.static) } : {}),
      ...(k.remote_static ? { rs: fromHex(k.remote_static) } : {}),
    });
  };
  return { init: side(true), resp: side(false), pattern };
}

it('carries the 18 vectors with their source', () => {
  expect(FILE.source).toMatch(/cacophony/);
  expect(FILE.vectors).toHaveLength(18);
});

forEachBackend('Noise cacophony vectors', () => {
  for (const v of FILE.vectors) {
    it(v.protocol_name, () => {
      const { init, resp, pattern } = parties(v);
      const hsLen = HANDSHAKE_LEN[pattern];
      v.messages.slice(0, hsLen).forEach((m, i) => {
        const [writer, reader] = i % 2 === 0 ? [init, resp] : [resp, init];
        const wire = writer.writeMessage(fromHex(m.payload));
        expect(toHex(wire)).toBe(m.ciphertext);
        expect(toHex(reader.readMessage(wire))).toBe(m.payload);
      });
      expect(init.complete && resp.complete).toBe(true);
      expect(toHex(init.handshakeHash())).toBe(v.handshake_hash);
      expect(toHex(resp.handshakeHash())).toBe(v.handshake_hash);
      if (v.init_static)
        expect(toHex(resp.remoteStatic!)).toBe(toHex(keyPair(v.init_static).publicKey));
      if (v.resp_static)
        expect(toHex(init.remoteStatic!)).toBe(toHex(keyPair(v.resp_static).publicKey));

      // Transport messages keep alternating where the handshake left off.
      const i = init.split();
      const r = resp.split();
      v.messages.slice(hsLen).forEach((m, k) => {
        const [tx, rx]: [CipherState, CipherState] =
          (hsLen + k) % 2 === 0 ? [i.send, r.recv] : [r.send, i.recv];
        const ct = tx.encryptWithAd(new Uint8Array(0), fromHex(m.payload));
        expect(toHex(ct)).toBe(m.ciphertext);
        expect(toHex(rx.decryptWithAd(new Uint8Array(0), ct))).toBe(m.payload);
      });
    });
  }
});

describe('Noise across backends', () => {
  it('completes XK with the initiator on noble and the responder on the default Node backend', () => {
    const native = availableBackends().find((b) => b.name !== 'noble');
    expect(native).toBeDefined();
    const server = x25519Generate();
    const client = x25519Generate();
    const on = <T>(b: typeof nobleBackend, fn: () => T): T => {
      const prev = useBackend(b);
      try {
        return fn();
      } finally {
        useBackend(prev);
      }
    };
    const init = on(
      nobleBackend,
      () => new HandshakeState({ pattern: 'XK', initiator: true, s: client, rs: server.publicKey }),
    );
    const resp = on(
      native!,
      () => new HandshakeState({ pattern: 'XK', initiator: false, s: server }),
    );
    const m1 = on(nobleBackend, () => init.writeMessage(utf8('one')));
    expect(on(native!, () => resp.readMessage(m1))).toEqual(utf8('one'));
    const m2 = on(native!, () => resp.writeMessage(utf8('two')));
    expect(on(nobleBackend, () => init.readMessage(m2))).toEqual(utf8('two'));
    const m3 = on(nobleBackend, () => init.writeMessage(utf8('three')));
    expect(on(native!, () => resp.readMessage(m3))).toEqual(utf8('three'));
    expect(toHex(resp.remoteStatic!)).toBe(toHex(client.publicKey));
    expect(init.handshakeHash()).toEqual(resp.handshakeHash());
    const i = on(nobleBackend, () => init.split());
    const r = on(native!, () => resp.split());
    const ct = on(nobleBackend, () => i.send.encryptWithAd(new Uint8Array(0), utf8('data')));
    expect(on(native!, () => r.recv.decryptWithAd(new Uint8Array(0), ct))).toEqual(utf8('data'));
    const back = on(native!, () => r.send.encryptWithAd(new Uint8Array(0), utf8('back')));
    expect(on(nobleBackend, () => i.recv.decryptWithAd(new Uint8Array(0), back))).toEqual(
      utf8('back'),
    );
  });
});
