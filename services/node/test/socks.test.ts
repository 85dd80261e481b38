/**
 * SOCKS5 proxy end to end with a real client (curl --socks5-hostname) and
 * raw SOCKS bytes: published .mesh services, exits, refusal reply codes,
 * bad input, credentials as isolation keys. The mesh below is the in-process
 * apps test mesh (real sessions over in-memory routes); loopback only.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamDialer } from '../src/apps/dialer.js';
import { createSocksServer, type SocksServer } from '../src/apps/socks5.js';
import {
  type AppsTestMesh,
  createAppsTestMesh,
  patternBody,
  rawExchange,
  runCurl,
  startTestHttpServer,
} from '../src/apps/testing.js';

let mesh: AppsTestMesh;
let http: Awaited<ReturnType<typeof startTestHttpServer>>;
let socks: SocksServer;
let proxy: string;
let serviceAddr: string;
let dialer: StreamDialer;

beforeAll(async () => {
  http = await startTestHttpServer();
  mesh = createAppsTestMesh();
  const svc = mesh.addNode({ publish: { 80: `127.0.0.1:${http.port}` } });
  mesh.addNode({ exitPolicy: { ports: [{ from: 1, to: 65535 }], hosts: ['127.0.0.1', '::1'] } });
  mesh.addNode();
  serviceAddr = svc.identity.address;
  dialer = mesh.dialer({ connectTimeoutMs: 3000 });
  socks = createSocksServer({ dialer, port: 0 });
  const a = await socks.listen();
  proxy = `127.0.0.1:${a.port}`;
});

afterAll(async () => {
  await socks.close();
  await mesh.close();
  await http.close();
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A SOCKS5 greeting (no auth) plus a CONNECT request for a domain name. */
function connectDomain(host: string, port: number): Buffer {
  const name = Buffer.from(host);
  return Buffer.concat([
    Buffer.from([5, 1, 0]),
    Buffer.from([5, 1, 0, 3, name.length]),
    name,
    Buffer.from([port >> 8, port & 0xff]),
  ]);
}

describe('SOCKS5 to a published .mesh service', () => {
  it('curl --socks5-hostname fetches a page from the service', async () => {
    const r = await runCurl(['--socks5-hostname', proxy, `http://${serviceAddr}.mesh/index`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('hello from /index');
  });

  it('a 20 MB download arrives intact', async () => {
    const n = 20 * 1024 * 1024;
    const r = await runCurl(['--socks5-hostname', proxy, `http://${serviceAddr}.mesh/bytes/${n}`]);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(n);
    expect(sha(r.stdout)).toBe(sha(patternBody(n)));
  });

  it('20 concurrent downloads all arrive intact', async () => {
    const n = 200_000;
    const want = sha(patternBody(n));
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        runCurl(['--socks5-hostname', proxy, `http://${serviceAddr}.mesh/bytes/${n}`]),
      ),
    );
    for (const r of results) {
      expect(r.code).toBe(0);
      expect(sha(r.stdout)).toBe(want);
    }
  });

  it('an unpublished port is refused with reply 0x05 (connection refused)', async () => {
    const reply = await rawExchange(
      socks.address()!.port,
      connectDomain(`${serviceAddr}.mesh`, 81),
    );
    expect([...reply.subarray(0, 4)]).toEqual([5, 0, 5, 0x05]);
  });

  it('a malformed .mesh address gets 0x04 (host unreachable)', async () => {
    const reply = await rawExchange(socks.address()!.port, connectDomain('nosuchnode.mesh', 80));
    expect([...reply.subarray(0, 4)]).toEqual([5, 0, 5, 0x04]);
  });

  it('curl reports the refusal instead of hanging', async () => {
    const r = await runCurl(['--socks5-hostname', proxy, `http://${serviceAddr}.mesh:81/`]);
    expect(r.code).not.toBe(0);
  });
});

describe('SOCKS5 through an exit', () => {
  it('reaches a loopback HTTP server by IPv4 through the exit', async () => {
    const r = await runCurl(['--socks5-hostname', proxy, `http://127.0.0.1:${http.port}/via-exit`]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('hello from /via-exit');
  });

  it('IPv4 address type (curl --socks5) works too', async () => {
    const r = await runCurl(['--socks5', proxy, `http://127.0.0.1:${http.port}/atyp1`]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('hello from /atyp1');
  });

  it('IPv6 address type reaches ::1 (refused there: nothing listens on ::1)', async () => {
    const port = socks.address()!.port;
    const req = Buffer.concat([
      Buffer.from([5, 1, 0, 5, 1, 0, 4]),
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
      Buffer.from([http.port >> 8, http.port & 0xff]),
    ]);
    const reply = await rawExchange(port, req);
    // The exit allows ::1; the loopback HTTP server only listens on IPv4.
    expect([...reply.subarray(0, 2)]).toEqual([5, 0]);
    expect([0x05, 0x00]).toContain(reply[3]);
  });

  it('a host no exit allows gets 0x02 (not allowed)', async () => {
    const reply = await rawExchange(socks.address()!.port, connectDomain('example.org', 80));
    expect([...reply.subarray(0, 4)]).toEqual([5, 0, 5, 0x02]);
  });

  it('a closed port at the exit gets 0x05 (connection refused)', async () => {
    const closed = await startTestHttpServer();
    await closed.close();
    const reply = await rawExchange(socks.address()!.port, connectDomain('127.0.0.1', closed.port));
    expect([...reply.subarray(0, 4)]).toEqual([5, 0, 5, 0x05]);
  });
});

describe('bad SOCKS input', () => {
  it('a non-SOCKS5 greeting is closed and the server keeps serving', async () => {
    const port = socks.address()!.port;
    const reply = await rawExchange(port, Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    expect(reply.length).toBe(0);
    const r = await runCurl(['--socks5-hostname', proxy, `http://${serviceAddr}.mesh/still`]);
    expect(r.stdout.toString()).toBe('hello from /still');
  });

  it('BIND is answered with 0x07 (command not supported)', async () => {
    const reply = await rawExchange(
      socks.address()!.port,
      Buffer.from([5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80]),
    );
    expect([...reply.subarray(0, 4)]).toEqual([5, 0, 5, 0x07]);
  });

  it('an unknown address type is answered with 0x08', async () => {
    const reply = await rawExchange(
      socks.address()!.port,
      Buffer.from([5, 1, 0, 5, 1, 0, 9, 1, 2, 3, 4, 0, 80]),
    );
    expect([...reply.subarray(0, 4)]).toEqual([5, 0, 5, 0x08]);
  });

  it('no acceptable method is answered with 0xff', async () => {
    const reply = await rawExchange(socks.address()!.port, Buffer.from([5, 1, 0x80]));
    expect([...reply]).toEqual([5, 0xff]);
  });

  it('an oversized handshake is closed without growing a buffer', async () => {
    const junk = Buffer.alloc(4096, 1);
    junk[0] = 5;
    junk[1] = 255;
    const reply = await rawExchange(socks.address()!.port, junk);
    // Greeting answered (255 methods include 0x01 only → 0xff) or closed.
    expect(reply.length).toBeLessThanOrEqual(2);
    expect(socks.stats().badRequests).toBeGreaterThan(0);
  });
});

describe('credentials', () => {
  it('different SOCKS credentials never share a session (IsolateSOCKSAuth)', async () => {
    const url = `http://${serviceAddr}.mesh/iso`;
    for (const user of ['alice:one', 'bob:two', 'alice:one']) {
      const r = await runCurl(['--socks5-hostname', proxy, '--proxy-user', user, url]);
      expect(r.stdout.toString()).toBe('hello from /iso');
    }
    const toService = dialer.sessions().filter((s) => s.destination === serviceAddr);
    // The shared group from earlier tests, alice's and bob's.
    expect(new Set(toService.map((s) => s.group)).size).toBe(3);
  });

  it('with users configured, only a listed pair gets through', async () => {
    const strict = createSocksServer({ dialer, port: 0, users: { carol: 'pw' } });
    const { port } = await strict.listen();
    try {
      const url = `http://${serviceAddr}.mesh/auth`;
      const ok = await runCurl(['--socks5-hostname', `127.0.0.1:${port}`, '-U', 'carol:pw', url]);
      expect(ok.stdout.toString()).toBe('hello from /auth');
      const wrong = await runCurl(['--socks5-hostname', `127.0.0.1:${port}`, '-U', 'carol:x', url]);
      expect(wrong.code).not.toBe(0);
      // A client offering no-auth only is told no method is acceptable.
      expect([...(await rawExchange(port, Buffer.from([5, 1, 0])))]).toEqual([5, 0xff]);
      // RFC 1929 failure status.
      const bad = await rawExchange(
        port,
        Buffer.from([5, 1, 2, 1, 5, 99, 97, 114, 111, 108, 1, 120]),
      );
      expect([...bad]).toEqual([5, 2, 1, 1]);
    } finally {
      await strict.close();
    }
    expect(() => createSocksServer({ dialer, host: '0.0.0.0', port: 0 })).toThrow(
      expect.objectContaining({ code: 'APP_BAD_CONFIG' }),
    );
  });
});

describe('timeouts', () => {
  it('a destination that never answers gets 0x06 (TTL expired) within the connect timeout', async () => {
    const silent = mesh.addNode({ onStream: (st) => st.on('error', () => {}) });
    const quick = createSocksServer({ dialer: mesh.dialer({ connectTimeoutMs: 300 }), port: 0 });
    const { port } = await quick.listen();
    try {
      const reply = await rawExchange(port, connectDomain(`${silent.identity.address}.mesh`, 80));
      expect([...reply.subarray(0, 4)]).toEqual([5, 0, 5, 0x06]);
    } finally {
      await quick.close();
    }
  });
});

describe('fuzz', () => {
  it('random handshake bytes never get a success reply and never stop the server', async () => {
    const runs = Number(process.env.FUZZ_RUNS ?? 30);
    const port = socks.address()!.port;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 1200 }), async (bytes) => {
        const reply = await rawExchange(port, bytes, 3000, true).catch(() => Buffer.alloc(0));
        // A success reply needs a full valid handshake to a reachable target.
        if (reply.length >= 4 && reply[2] === 5) expect(reply[3]).not.toBe(0);
      }),
      { numRuns: runs },
    );
    const r = await runCurl(['--socks5-hostname', proxy, `http://${serviceAddr}.mesh/after-fuzz`]);
    expect(r.stdout.toString()).toBe('hello from /after-fuzz');
  });
});
