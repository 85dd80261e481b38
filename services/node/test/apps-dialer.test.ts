/**
 * The stream dialer: session reuse, rotation on schedule with draining,
 * isolation keys, exit selection, the connect reply and its timeout.
 */

import { PassThrough } from 'node:stream';
import { WireCode } from '@skymesh/protocol/stream';
import { afterEach, describe, expect, it } from 'vitest';
import { awaitConnectReply, sendConnectReply } from '../src/apps/connect-reply.js';
import { MAX_REMEMBERED, remember } from '../src/apps/dialer.js';
import type { AppError } from '../src/apps/errors.js';
import {
  type AppsTestMesh,
  createAppsTestMesh,
  rejectionOf,
  startTestHttpServer,
} from '../src/apps/testing.js';

let mesh: AppsTestMesh;
afterEach(async () => {
  await mesh?.close();
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  return (await rejectionOf(p))?.code ?? 'resolved';
}

describe('connect reply', () => {
  it('0 resolves and leaves the following bytes readable', async () => {
    const s = new PassThrough();
    s.write(Uint8Array.of(0, 7, 8));
    await awaitConnectReply(s, 1000);
    expect([...(s.read() as Buffer)]).toEqual([7, 8]);
  });

  it('a refusal byte rejects with APP_CONNECT_REFUSED and its wire code', async () => {
    const s = new PassThrough();
    sendConnectReply(s, WireCode.NOT_ALLOWED);
    const err = await awaitConnectReply(s, 1000).catch((e: AppError) => e);
    expect((err as AppError).code).toBe('APP_CONNECT_REFUSED');
    expect((err as AppError).details?.wireCode).toBe(WireCode.NOT_ALLOWED);
  });

  it('silence rejects with APP_CONNECT_TIMEOUT', async () => {
    expect(await codeOf(awaitConnectReply(new PassThrough(), 20))).toBe('APP_CONNECT_TIMEOUT');
  });

  it('an aborted signal rejects with APP_CLOSED', async () => {
    const ac = new AbortController();
    const p = awaitConnectReply(new PassThrough(), 1000, ac.signal);
    ac.abort();
    expect(await codeOf(p)).toBe('APP_CLOSED');
  });
});

describe('dialer', () => {
  it('reuses one session per destination and isolation key', async () => {
    const http = await startTestHttpServer();
    mesh = createAppsTestMesh();
    const node = mesh.addNode({ publish: { 80: `127.0.0.1:${http.port}` } });
    const d = mesh.dialer();
    const t = { kind: 'service', address: node.identity.address, port: 80 } as const;
    const a = await d.open(t);
    const b = await d.open(t);
    expect(mesh.sessionsOpened.count).toBe(1);
    const c = await d.open(t, { isolation: 'alice' });
    expect(mesh.sessionsOpened.count).toBe(2);
    expect(new Set(d.sessions().map((s) => s.group)).size).toBe(2);
    for (const s of [a, b, c]) s.destroy();
    await http.close();
  });

  it('rotates to a fresh session after rotateMs and closes the old one once drained', async () => {
    const http = await startTestHttpServer();
    mesh = createAppsTestMesh();
    const node = mesh.addNode({ publish: { 80: `127.0.0.1:${http.port}` } });
    const clock = { now: 1_000_000 };
    const d = mesh.dialer({ rotateMs: 600_000, now: () => clock.now });
    const t = { kind: 'service', address: node.identity.address, port: 80 } as const;
    const old = await d.open(t);
    clock.now += 600_000;
    const fresh = await d.open(t);
    expect(mesh.sessionsOpened.count).toBe(2);
    expect(d.stats().rotations).toBe(1);
    const draining = d.sessions().filter((s) => s.draining);
    expect(draining).toHaveLength(1);
    expect(draining[0]!.streams).toBe(1);
    // The old stream still works while draining.
    old.write('GET /old HTTP/1.0\r\n\r\n');
    const body = await new Promise<string>((resolve) => {
      let text = '';
      old.on('data', (d: Buffer) => {
        text += d.toString();
      });
      old.on('end', () => resolve(text));
    });
    expect(body).toContain('hello from /old');
    old.end();
    await new Promise((r) => old.once('close', r));
    expect(d.sessions().filter((s) => s.draining)).toHaveLength(0);
    fresh.destroy();
    await http.close();
  });

  it('the sweep closes an idle session once its rotation time has passed', async () => {
    const http = await startTestHttpServer();
    mesh = createAppsTestMesh();
    const node = mesh.addNode({ publish: { 80: `127.0.0.1:${http.port}` } });
    const clock = { now: 5_000_000 };
    const d = mesh.dialer({ rotateMs: 1000, now: () => clock.now });
    const s = await d.open({ kind: 'service', address: node.identity.address, port: 80 });
    s.destroy();
    await new Promise((r) => s.once('close', r));
    d.sweep();
    expect(d.sessions()).toHaveLength(1);
    clock.now += 1000;
    d.sweep();
    expect(d.sessions()).toHaveLength(0);
    expect(d.stats().rotations).toBe(1);
    await http.close();
  });

  it('picks only exits whose policy allows the target, and sticks to one per isolation key', async () => {
    mesh = createAppsTestMesh();
    const http = await startTestHttpServer();
    const policy = { ports: [{ from: 1, to: 65535 }], hosts: ['127.0.0.1'] };
    const exits = [mesh.addNode({ exitPolicy: policy }), mesh.addNode({ exitPolicy: policy })];
    mesh.addNode({ exitPolicy: { ports: [{ from: 443, to: 443 }], hosts: ['*'] } });
    let r = 0;
    const d = mesh.dialer({ random: () => (r++ * 0.37) % 1 });
    const target = { kind: 'exit', host: '127.0.0.1', port: http.port } as const;
    const s1 = await d.open(target);
    const s2 = await d.open(target);
    const used = new Set(d.sessions().map((s) => s.destination));
    expect(used.size).toBe(1);
    expect(exits.map((e) => e.identity.address)).toContain([...used][0]);
    expect(await codeOf(d.open({ kind: 'exit', host: '127.0.0.1', port: 0 }))).toBe(
      'APP_BAD_TARGET',
    );
    expect(await codeOf(d.open({ kind: 'exit', host: '10.1.2.3', port: 80 }))).toBe('APP_NO_EXIT');
    s1.destroy();
    s2.destroy();
    await http.close();
  });

  it('a destination that never answers times out (APP_CONNECT_TIMEOUT), bounded', async () => {
    mesh = createAppsTestMesh();
    const node = mesh.addNode({ onStream: (s) => s.on('error', () => {}) });
    const d = mesh.dialer({ connectTimeoutMs: 200 });
    const code = await codeOf(
      d.open({ kind: 'service', address: node.identity.address, port: 80 }),
    );
    expect(code).toBe('APP_CONNECT_TIMEOUT');
  });

  it('a destination that cannot be reached fails with APP_CONNECT_FAILED or a timeout', async () => {
    mesh = createAppsTestMesh();
    const ghost = mesh.addNode();
    mesh.nodes.splice(0, 1);
    const d = mesh.dialer({ connectTimeoutMs: 2000 });
    const code = await codeOf(
      d.open({ kind: 'service', address: ghost.identity.address, port: 80 }),
    );
    expect(['APP_CONNECT_FAILED', 'APP_CONNECT_TIMEOUT']).toContain(code);
  });

  it('a closed dialer refuses new opens', async () => {
    mesh = createAppsTestMesh();
    const node = mesh.addNode();
    const d = mesh.dialer();
    await d.close();
    expect(
      await codeOf(d.open({ kind: 'service', address: node.identity.address, port: 80 })),
    ).toBe('APP_CLOSED');
  });
});

describe('bounded memory', () => {
  it('remember keeps at most max keys, forgetting the least recently set', () => {
    const m = new Map<string, number>();
    for (let i = 0; i < 10; i++) remember(m, `k${i}`, i, 4);
    expect([...m.keys()]).toEqual(['k6', 'k7', 'k8', 'k9']);
    remember(m, 'k6', 60, 4);
    remember(m, 'new', 1, 4);
    expect([...m.keys()]).toEqual(['k8', 'k9', 'k6', 'new']);
    expect(MAX_REMEMBERED).toBeLessThanOrEqual(65536);
  });
});
