/**
 * Exits and published services at the destination (StreamAcceptor): exit
 * policy checks (own descriptor, names resolving into the exit's networks),
 * TCP error → wire code mapping, publish map parsing, half-close and the
 * service never seeing the client. Loopback only.
 */
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { WireCode } from '@skymesh/protocol/stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePublishMap, wireCodeForSocketError } from '../src/apps/acceptor.js';
import type { AppError } from '../src/apps/errors.js';
import { type AppsTestMesh, createAppsTestMesh, rejectionOf } from '../src/apps/testing.js';

let mesh: AppsTestMesh;
afterEach(async () => {
  await mesh?.close();
});

async function refusal(p: Promise<unknown>): Promise<unknown> {
  const err = await rejectionOf(p);
  return err === null ? 'connected' : (err.details?.wireCode ?? err.code);
}

/** A TCP server that answers with everything it got, once the client half-closed. */
async function echoAfterEnd(): Promise<{ port: number; peers: string[]; close(): void }> {
  const peers: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    peers.push(s.remoteAddress ?? '');
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => s.end(Buffer.concat(chunks)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    peers,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

function readToEnd(s: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    s.on('data', (d: Buffer) => {
      out += d.toString();
    });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

describe('exit', () => {
  it('pipes both ways with half-close', async () => {
    const echo = await echoAfterEnd();
    mesh = createAppsTestMesh();
    mesh.addNode({ exitPolicy: { ports: [{ from: 1, to: 65535 }], hosts: ['127.0.0.1'] } });
    const s = await mesh.dialer().open({ kind: 'exit', host: '127.0.0.1', port: echo.port });
    s.end('ping through the exit');
    expect(await readToEnd(s)).toBe('ping through the exit');
    echo.close();
  });

  it("refuses with NOT_ALLOWED when the node's own descriptor is not an exit", async () => {
    const echo = await echoAfterEnd();
    mesh = createAppsTestMesh();
    const node = mesh.addNode();
    // The source believes a forged descriptor; the node checks its own.
    const lie = {
      ...node.descriptor,
      roles: { relay: true, exit: true },
      exitPolicy: { ports: [{ from: 1, to: 65535 }], hosts: ['*'] },
    };
    const d = mesh.dialer({ descriptors: () => [lie] });
    expect(await refusal(d.open({ kind: 'exit', host: '127.0.0.1', port: echo.port }))).toBe(
      WireCode.NOT_ALLOWED,
    );
    expect(node.acceptor.stats().refused.NOT_ALLOWED).toBe(1);
    echo.close();
  });

  it('refuses a name that resolves into its own networks unless the policy lists the IP', async () => {
    const echo = await echoAfterEnd();
    mesh = createAppsTestMesh();
    mesh.addNode({ exitPolicy: { ports: [{ from: 1, to: 65535 }], hosts: ['*'] } });
    const d = mesh.dialer();
    expect(await refusal(d.open({ kind: 'exit', host: 'localhost', port: echo.port }))).toBe(
      WireCode.NOT_ALLOWED,
    );
    await mesh.close();
    mesh = createAppsTestMesh();
    mesh.addNode({ exitPolicy: { ports: [{ from: 1, to: 65535 }], hosts: ['*', '127.0.0.1'] } });
    const s = await mesh.dialer().open({ kind: 'exit', host: 'localhost', port: echo.port });
    s.end('by name');
    expect(await readToEnd(s)).toBe('by name');
    echo.close();
  });

  it('maps socket errors to wire codes', () => {
    const e = (code: string) => Object.assign(new Error(code), { code });
    expect(wireCodeForSocketError(e('ECONNREFUSED'))).toBe(WireCode.CONNECTION_REFUSED);
    expect(wireCodeForSocketError(e('EHOSTUNREACH'))).toBe(WireCode.HOST_UNREACHABLE);
    expect(wireCodeForSocketError(e('ENOTFOUND'))).toBe(WireCode.HOST_UNREACHABLE);
    expect(wireCodeForSocketError(e('ENETUNREACH'))).toBe(WireCode.NETWORK_UNREACHABLE);
    expect(wireCodeForSocketError(e('ETIMEDOUT'))).toBe(WireCode.TTL_EXPIRED);
    expect(wireCodeForSocketError(e('APP_CONNECT_TIMEOUT'))).toBe(WireCode.TTL_EXPIRED);
    expect(wireCodeForSocketError(e('EPIPE'))).toBe(WireCode.INTERNAL);
  });
});

describe('published services', () => {
  it('pipes a stream to the local service, which sees only the node (loopback)', async () => {
    const echo = await echoAfterEnd();
    mesh = createAppsTestMesh();
    const node = mesh.addNode({ publish: { 7: `127.0.0.1:${echo.port}` } });
    const s = await mesh
      .dialer()
      .open({ kind: 'service', address: node.identity.address, port: 7 });
    s.end('hello service');
    expect(await readToEnd(s)).toBe('hello service');
    expect(echo.peers).toEqual(['127.0.0.1']);
    expect(node.acceptor.stats().served.service).toBe(1);
    echo.close();
  });

  it('refuses an unpublished port with CONNECTION_REFUSED and a dead service likewise', async () => {
    const echo = await echoAfterEnd();
    echo.close();
    mesh = createAppsTestMesh();
    const node = mesh.addNode({ publish: { 80: `127.0.0.1:${echo.port}` } });
    const d = mesh.dialer();
    const addr = node.identity.address;
    expect(await refusal(d.open({ kind: 'service', address: addr, port: 81 }))).toBe(
      WireCode.CONNECTION_REFUSED,
    );
    expect(await refusal(d.open({ kind: 'service', address: addr, port: 80 }))).toBe(
      WireCode.CONNECTION_REFUSED,
    );
  });

  it('parses the publish map and rejects bad entries with APP_BAD_CONFIG', () => {
    expect(parsePublishMap({ 80: '127.0.0.1:8080', 22: '[::1]:2222' })).toEqual([
      { port: 22, host: '::1', localPort: 2222 },
      { port: 80, host: '127.0.0.1', localPort: 8080 },
    ]);
    const bads: Record<string, string>[] = [
      { 0: '127.0.0.1:80' },
      { 80: '127.0.0.1' },
      { 80: 'h:70000' },
      { x: 'h:1' },
    ];
    for (const bad of bads) {
      let code = '';
      try {
        parsePublishMap(bad);
      } catch (err) {
        code = (err as AppError).code;
      }
      expect(code).toBe('APP_BAD_CONFIG');
    }
  });
});
