import { createHash } from 'node:crypto';
import { Identity } from '@skymesh/crypto';
import { describe, expect, it } from 'vitest';
import {
  createMemoryRoutePair,
  createSessionClient,
  createSessionServer,
  type SessionStream,
} from '../src/session/index.js';

function setup() {
  const identity = Identity.generate();
  const accepted: SessionStream[] = [];
  const server = createSessionServer({
    identity,
    onStream(stream) {
      accepted.push(stream);
      stream.on('error', () => {});
      // echo
      stream.pipe(stream);
    },
  });
  const routes: ReturnType<typeof createMemoryRoutePair>[] = [];
  const client = createSessionClient({
    destination: identity.publicKey,
    async openRoute() {
      const pair = createMemoryRoutePair();
      routes.push(pair);
      server.acceptRoute(pair.b);
      return pair.a;
    },
  });
  return { identity, server, client, routes, accepted };
}

function collect(s: SessionStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

describe('session basics', () => {
  it('handshakes and echoes', async () => {
    const { client } = setup();
    await client.ready;
    const s = client.openStream({ name: 'echo', port: 7 });
    const got = collect(s);
    s.end(Buffer.from('hello world'));
    expect((await got).toString()).toBe('hello world');
  });

  it('moves a few MB both ways', async () => {
    const { client } = setup();
    const s = client.openStream({ name: 'echo', port: 7 });
    const data = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 11)) & 0xff;
    const got = collect(s);
    s.end(data);
    const back = await got;
    expect(createHash('sha256').update(back).digest('hex')).toBe(
      createHash('sha256').update(data).digest('hex'),
    );
  });
});
