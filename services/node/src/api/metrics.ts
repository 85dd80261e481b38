/**
 * /metrics in the Prometheus text format (version 0.0.4), built by hand
 * from the node's and apps' counters: no client library needed for a dozen
 * series. The route setup histogram is cumulative: each scrape adds the
 * setup times of routes built since the previous one (the node keeps the
 * last 256 samples; if more were built between two scrapes, the oldest of
 * them are counted in _count and +Inf only).
 */

import type { AcceptorStats } from '../apps/acceptor.js';
import type { DialerStats } from '../apps/dialer.js';
import type { SocksStats } from '../apps/socks5.js';
import type { NodeStats } from '../node.js';
import type { RouteServerAgentStats } from '../route-server/agent.js';

/** Upper bounds (seconds) of the route setup histogram. */
export const ROUTE_SETUP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What one scrape reads. */
export interface MetricsInput {
  readonly node: NodeStats;
  /** The route-server agent's, when the node uses a route server. */
  readonly routeServer?: RouteServerAgentStats;
  readonly acceptor?: AcceptorStats;
  readonly dialer?: DialerStats;
  readonly socks?: SocksStats;
}

/** Keeps the cumulative histogram between scrapes. */
export interface MetricsRenderer {
  render(input: MetricsInput): string;
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Creates a renderer (one per API server). */
export function createMetricsRenderer(): MetricsRenderer {
  const buckets = ROUTE_SETUP_BUCKETS.map(() => 0);
  let count = 0;
  let sum = 0;
  let seenBuilt = 0;

  function observe(stats: NodeStats): void {
    const built = stats.counters.routesBuilt;
    const fresh = built - seenBuilt;
    if (fresh <= 0) return;
    seenBuilt = built;
    const samples = stats.counters.routeSetupMs;
    // Samples that fell out of the node's window still count, at +Inf only.
    const known = samples.slice(Math.max(0, samples.length - fresh));
    for (const ms of known) {
      const s = ms / 1000;
      sum += s;
      ROUTE_SETUP_BUCKETS.forEach((b, i) => {
        if (s <= b) buckets[i]!++;
      });
    }
    count += fresh;
  }

  return {
    render(input) {
      const { node } = input;
      observe(node);
      const out: string[] = [];
      const metric = (
        name: string,
        type: 'gauge' | 'counter',
        help: string,
        rows: [labels: string, value: number][],
      ) => {
        out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
        for (const [labels, value] of rows) out.push(`${name}${labels} ${value}`);
      };
      metric('skymesh_links', 'gauge', 'Open links to neighbours.', [['', node.links.length]]);
      metric('skymesh_routes', 'gauge', 'Routes this node built that are open.', [
        ['', node.routes.length],
      ]);
      metric('skymesh_streams', 'gauge', 'Streams open in all sessions.', [['', node.streams]]);
      metric('skymesh_link_bytes_total', 'counter', 'Bytes over links, by direction.', [
        ['{direction="in"}', node.links.reduce((a, l) => a + l.bytesIn, 0)],
        ['{direction="out"}', node.links.reduce((a, l) => a + l.bytesOut, 0)],
      ]);
      metric('skymesh_cells_forwarded_total', 'counter', 'Cells relayed for others.', [
        ['', node.counters.cellsForwarded],
      ]);
      metric('skymesh_bytes_forwarded_total', 'counter', 'Bytes relayed for others.', [
        ['', node.counters.bytesForwarded],
      ]);
      metric(
        'skymesh_handshake_failures_total',
        'counter',
        'Failed inbound link handshakes, by reason.',
        Object.entries(node.counters.handshakeFailures).map(([r, n]) => [
          `{reason="${esc(r)}"}`,
          n,
        ]),
      );
      metric('skymesh_routes_built_total', 'counter', 'Routes built by this node.', [
        ['{result="ok"}', node.counters.routesBuilt],
        ['{result="failed"}', node.counters.routesFailed],
      ]);
      out.push(
        '# HELP skymesh_route_setup_seconds Route setup round trip.',
        '# TYPE skymesh_route_setup_seconds histogram',
      );
      ROUTE_SETUP_BUCKETS.forEach((b, i) => {
        out.push(`skymesh_route_setup_seconds_bucket{le="${b}"} ${buckets[i]}`);
      });
      out.push(
        `skymesh_route_setup_seconds_bucket{le="+Inf"} ${count}`,
        `skymesh_route_setup_seconds_sum ${sum}`,
        `skymesh_route_setup_seconds_count ${count}`,
      );
      if (input.routeServer) {
        const r = input.routeServer;
        metric('skymesh_route_paths_total', 'counter', 'Paths of built routes, by source.', [
          ['{source="server"}', r.pathSources.server],
          ['{source="local"}', r.pathSources.local],
          ['{source="random"}', r.pathSources.random],
        ]);
        metric('skymesh_route_server_queries_total', 'counter', 'Route queries, by way.', [
          ['{via="mesh"}', r.queries.mesh],
          ['{via="direct"}', r.queries.direct],
        ]);
        metric(
          'skymesh_route_server_failures_total',
          'counter',
          'Route-server requests that failed or were refused.',
          [['', r.failures]],
        );
        metric(
          'skymesh_route_server_diversity_refused_total',
          'counter',
          'Route answers refused for breaking the diversity policy.',
          [['', r.diversityRefused]],
        );
        metric(
          'skymesh_directory_copy_age_seconds',
          'gauge',
          'Age of the newest route-server signature behind the directory copy (-1: no copy).',
          [['', r.staleness.copyAgeMs === null ? -1 : r.staleness.copyAgeMs / 1000]],
        );
        metric(
          'skymesh_directory_copy_stale',
          'gauge',
          '1 while the directory copy is older than staleAfterMs.',
          [['', r.staleness.stale ? 1 : 0]],
        );
      }
      if (input.socks) {
        const s = input.socks;
        metric('skymesh_socks_connections', 'gauge', 'Open SOCKS5 connections.', [['', s.active]]);
        metric(
          'skymesh_socks_replies_total',
          'counter',
          'SOCKS5 replies sent, by reply code.',
          Object.entries(s.replies).map(([c, n]) => [`{code="${c}"}`, n]),
        );
      }
      if (input.acceptor) {
        const a = input.acceptor;
        metric('skymesh_app_streams_served_total', 'counter', 'Streams served, by kind.', [
          ['{kind="service"}', a.served.service],
          ['{kind="exit"}', a.served.exit],
        ]);
        metric(
          'skymesh_app_streams_refused_total',
          'counter',
          'Streams refused, by wire code.',
          Object.entries(a.refused).map(([c, n]) => [`{code="${esc(c)}"}`, n]),
        );
      }
      if (input.dialer) {
        metric('skymesh_session_rotations_total', 'counter', 'Pooled sessions rotated out.', [
          ['', input.dialer.rotations],
        ]);
      }
      return `${out.join('\n')}\n`;
    },
  };
}
