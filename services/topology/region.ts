/**
 * Two regions from one model: `primary` (the compose project `parity`) and `dr` (`parity-dr`),
 * each on its own network, joined only by the link (`compose/edge/`: one Toxiproxy attached to
 * both networks). Every cross-region path goes through the link, so cutting it is one switch,
 * and each region reaches the other by a name that is unique on its own network (`link`).
 *
 * Through the link:
 *  - the DR standby cluster streams from the primary's writer (`link:15432`), and a rebuilt
 *    primary streams back from the DR writer (`link:15433`) when failing back;
 *  - the backup repository and the file copies live in the DR region's S3 store (`link:18443`);
 *  - users reach whichever region serves through the edge (`compose/link/`'s Traefik, TCP
 *    passthrough to that region's Traefik, published on the host as `dr.edgePort`): the drill
 *    repoints it like a DNS change, by rewriting its watched route file.
 */
import type { ParityConfig } from '../config/schema.js';
import type { AlertRule } from './alerting.js';

export type Region = 'primary' | 'dr';
export const REGIONS: readonly Region[] = ['primary', 'dr'];
export const otherRegion = (region: Region): Region => (region === 'primary' ? 'dr' : 'primary');

/** The link's service name, and the name each region's network knows it by. */
export const LINK = 'link';
/** The link's listeners (Toxiproxy proxies). */
export const LINK_PORTS = { 'primary-postgres': 15432, 'dr-postgres': 15433, 'dr-s3': 18443 } as const;
/** The users' edge (a Traefik TCP passthrough in the link's project): its entrypoint, and the file that says which region it serves. */
export const EDGE = 'edge';
export const EDGE_PORT = 9443;
export const EDGE_FILE = 'edge-route.yml';
export type LinkProxy = keyof typeof LINK_PORTS;
export const LINK_API_PORT = 8474;

/** The names a region's services carry on its own network, for the link to reach them. */
export const regionAlias = (region: Region, service: 'postgres' | 's3' | 'traefik') => `${region}-${service}`;

/** The compose project of a region, from the primary's. */
export const regionProject = (primaryProject: string, region: Region) => (region === 'dr' ? `${primaryProject}-dr` : primaryProject);
/** The link's own compose project. */
export const linkProject = (primaryProject: string) => `${primaryProject}-link`;

/** The proxies of the link (Toxiproxy's config file): upstreams by the regions' aliases. */
export function linkProxies(): object[] {
  const proxy = (name: LinkProxy, upstream: string) => ({ name, listen: `0.0.0.0:${LINK_PORTS[name]}`, upstream, enabled: true });
  return [
    proxy('primary-postgres', `${regionAlias('primary', 'postgres')}:5432`),
    proxy('dr-postgres', `${regionAlias('dr', 'postgres')}:5432`),
    proxy('dr-s3', `${regionAlias('dr', 's3')}:8443`),
  ];
}

/** The edge's route: every TLS connection, passed through untouched, to the serving region's Traefik. */
export function edgeRoute(serving: Region): object {
  const service = (region: Region) => ({ loadBalancer: { servers: [{ address: `${regionAlias(region, 'traefik')}:443` }] } });
  return {
    tcp: {
      routers: { users: { entryPoints: [EDGE], rule: 'HostSNI(`*`)', service: serving } },
      services: { primary: service('primary'), dr: service('dr') },
    },
  };
}

/** Where a region's Patroni cluster streams from when it is a standby cluster (the other region's writer, through the link). */
export const standbySource = (region: Region) => ({ host: LINK, port: LINK_PORTS[region === 'dr' ? 'primary-postgres' : 'dr-postgres'] });

/** Regions are on when the config asks for a DR region. */
export const hasDr = (config: ParityConfig) => config.dr.enabled;

/**
 * The standby region's lag, beside WalArchiveStalled: the serving region's writer has no walsender
 * to the other region's standby, or that standby hasn't replayed more WAL than the region drill's
 * RPO budget (`drills.region.walRpoBytes`). Either way a lost region now would lose acknowledged
 * writes, and `make drill-region` would refuse to start.
 */
export function regionAlertRules(config: ParityConfig): AlertRule[] {
  if (!hasDr(config)) return [];
  const budget = config.drills.region.walRpoBytes;
  return [
    {
      alert: 'RegionStandbyBehind',
      expr: `max(pg_region_standby_streaming{role="primary"}) < 1 or max(pg_region_standby_replay_lag_bytes{role="primary"}) > ${budget}`,
      for: '1m',
      severity: 'critical',
      summary: `The standby region is not streaming from this region's writer, or has more than ${budget} bytes of WAL not replayed: losing this region now would lose acknowledged writes (make status; make drill-region refuses to start)`,
      test: { series: [{ series: 'pg_region_standby_streaming{job="postgres-primary",role="primary",instance="postgres-exporter:9187"}', values: '1x3 0x12' }], evalTime: '5m', labels: {} },
    },
  ];
}
