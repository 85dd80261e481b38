/**
 * streamFetch: HTTP/1.1 over a stream the caller opens (here a TCP socket
 * to a local server, standing in for a mesh stream): method, body and
 * headers arrive, the answer comes back whole; a hung answer times out, an
 * oversized one is cut, a failed connect is a NODE_FETCH_FAILED.
 */
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamFetch } from '../src/route-server/stream-fetch.js';

let server: Server;
let port = 0;
let opened = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      if (req.url === '/hang') return;
      if (req.url === '/big') {
        res.end(Buffer.alloc(10_000));
        return;
      }
      res.writeHead(201, {
        'content-type': 'application/json',
        'x-seen': req.headers['x-test'] ?? '',
      });
      res.end(
        JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(parts).toString() }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const tcp = () => {
  opened++;
  return new Promise<import('node:stream').Duplex>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
};

describe('streamFetch', () => {
  it('carries a request and its answer over one stream per request', async () => {
    const f = streamFetch(tcp);
    const before = opened;
    const r = await f('http://someone.mesh:8401/v1/routes?x=1', {
      method: 'POST',
      body: '{"k":3}',
      headers: { 'content-type': 'application/json', 'x-test': 'yes' },
    });
    expect(r.status).toBe(201);
    expect(r.headers.get('x-seen')).toBe('yes');
    expect(await r.json()).toEqual({ method: 'POST', url: '/v1/routes?x=1', body: '{"k":3}' });
    await f('http://someone.mesh:8401/again');
    expect(opened - before).toBe(2);
  });

  it('times out, caps the answer, and reports a failed connect', async () => {
    await expect(streamFetch(tcp, { timeoutMs: 200 })('http://x.mesh/hang')).rejects.toMatchObject({
      code: 'NODE_FETCH_FAILED',
      message: expect.stringContaining('timed out'),
    });
    await expect(streamFetch(tcp, { maxBytes: 1000 })('http://x.mesh/big')).rejects.toMatchObject({
      code: 'NODE_FETCH_FAILED',
      message: expect.stringContaining('too large'),
    });
    const refused = () =>
      Promise.reject(Object.assign(new Error('no'), { code: 'APP_CONNECT_REFUSED' }));
    await expect(streamFetch(refused)('http://x.mesh/')).rejects.toMatchObject({
      code: 'NODE_FETCH_FAILED',
      details: { cause: 'APP_CONNECT_REFUSED' },
    });
  });
});
