// The session layer over the real route layer (onion setup, cell layering,
// per-route queues) on an in-process mesh: sessions survive a relay's link
// going away mid-transfer by moving to a route through other relays.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { RouteChannel } from '../src/contracts.js';
import { createFakeMesh, type FakeMesh } from '../src/route/index.js';
import { createSessionClient, createSessionServer } from '../src/session/index.js';
import { patternBytes, readAll, waitFor, writeAll } from '../src/session/testing.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let mesh: FakeMesh | undefined;
afterEach(() => {
  mesh?.close();
  mesh = undefined;
});

describe('sessions over onion routes', () => {
  it('carries streams end to end and fails over to another path when a relay link dies', async () => {
    // 0 = source, 1..4 = relays, 5 = destination.
    const m = createFakeMesh(6);
    mesh = m;
    const dest = m.ids[5]!;
    const server = createSessionServer({
      identity: dest,
      onStream(stream) {
        stream.pipe(stream);
      },
    });
    m.routers[5]!.onIncomingRoute((ch) => server.acceptRoute(ch));
    const paths = [
      [1, 2],
      [3, 4],
      [2, 1],
    ];
    let built = 0;
    const openRoute = (): Promise<RouteChannel> => {
      const relays = paths[built++ % paths.length]!;
      return m.routers[0]!.buildRoute(
        [...relays, 5].map((i) => ({ publicKey: m.ids[i]!.publicKey })),
      );
    };
    const client = createSessionClient({ destination: dest.publicKey, openRoute, retryDelayMs: 1 });
    await client.ready;

    const data = patternBytes(512 * 1024, 77);
    const s = client.openStream({ name: 'echo', port: 7 });
    const back = readAll(s);
    const writing = writeAll(s, data, 16 * 1024);
    await waitFor(() => client.stats().bytesReceived > 100_000, 'echo to flow');
    m.pair(1, 2).ab.close('relay went away'); // route 1 dies
    await writing;
    expect(sha(await back)).toBe(sha(data));
    expect(built).toBe(2);
    expect(client.stats().resumes).toBe(1);
    expect(server.stats()).toMatchObject({ sessions: 1, resumes: 1, resumesRefused: 0 });
    await client.close();
  });
});
