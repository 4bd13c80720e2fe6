/**
 * The link between the regions (`compose/link/`, project `<project>-link`): one Toxiproxy attached
 * to both regions' data networks (and its edge, a Traefik, to their edge networks), carrying replication, the backup repository and the users' edge
 * address (see region.ts). Its proxies are plain TCP, so TLS (Postgres, S3, Traefik) passes
 * through untouched; a drill cuts a path by disabling its proxy, and repoints the edge by
 * changing the `edge` proxy's upstream (the local stand-in for a DNS change).
 */
import type { ParityConfig } from '../config/schema.js';
import { catalogRef } from '../images/catalog.js';
import { imageFor } from './common.js';
import { EDGE, EDGE_PORT, LINK, LINK_API_PORT, linkProxies, regionProject, type Region } from './region.js';
import { projectNetwork, type NetworkName } from './types.js';
import { STATE } from './common.js';
import { httpHealth } from './types.js';

/**
 * The compose networks the link joins, named by the runner: each region's data network (the link's
 * Toxiproxy reaches the writers and the DR store there, and the regions reach it there) and its
 * edge network (the users' edge reaches each region's Traefik there). Neither region's apps or
 * monitoring networks are joined.
 */
export const LINK_NETWORK_VARIABLES = {
  'primary-data': 'PARITY_PRIMARY_DATA_NETWORK',
  'dr-data': 'PARITY_DR_DATA_NETWORK',
  'primary-edge': 'PARITY_PRIMARY_EDGE_NETWORK',
  'dr-edge': 'PARITY_DR_EDGE_NETWORK',
} as const;
export type LinkNetwork = keyof typeof LINK_NETWORK_VARIABLES;

/** What the runner passes for each of them: the regions' project networks. */
export function linkNetworkNames(primaryProject: string): Record<(typeof LINK_NETWORK_VARIABLES)[LinkNetwork], string> {
  const name = (region: Region, network: NetworkName) => projectNetwork(regionProject(primaryProject, region), network);
  return {
    [LINK_NETWORK_VARIABLES['primary-data']]: name('primary', 'data'),
    [LINK_NETWORK_VARIABLES['dr-data']]: name('dr', 'data'),
    [LINK_NETWORK_VARIABLES['primary-edge']]: name('primary', 'edge'),
    [LINK_NETWORK_VARIABLES['dr-edge']]: name('dr', 'edge'),
  } as Record<(typeof LINK_NETWORK_VARIABLES)[LinkNetwork], string>;
}

export function linkComposeObject(config: ParityConfig): Record<string, unknown> {
  const network = (key: LinkNetwork) => {
    const variable = LINK_NETWORK_VARIABLES[key];
    return [key, { external: true, name: `\${${variable}:?${variable} must be set (make up sets it): the ${key.replace('-', ' region\'s ')} network}` }] as const;
  };
  return {
    name: `parity-${LINK}`,
    services: {
      [LINK]: {
        image: catalogRef('toxiproxy'),
        command: ['-host=0.0.0.0', '-config=/etc/toxiproxy/link.json'],
        volumes: ['./link.json:/etc/toxiproxy/link.json:ro'],
        // The API for the drills (cutting a path), on an ephemeral loopback port.
        ports: [`127.0.0.1::${LINK_API_PORT}`],
        networks: { 'primary-data': { aliases: [LINK] }, 'dr-data': { aliases: [LINK] } },
        healthcheck: { test: httpHealth(LINK_API_PORT, '/version').test, interval: '2s', timeout: '3s', retries: 30, start_period: '5s' },
        labels: { 'dev.parity.logical': LINK, 'dev.parity.tier': 'data' },
        restart: 'unless-stopped',
      },
      // Users' edge: TLS passed through to the serving region's Traefik. A Traefik rather than a
      // Toxiproxy proxy: Toxiproxy 2.5 hangs changing an upstream while a connection to a killed
      // container is still open (measured), and a route file is what a DNS change looks like here.
      [EDGE]: {
        image: imageFor('traefik', config.versions.traefik),
        command: [`--entryPoints.${EDGE}.address=:${EDGE_PORT}`, '--entryPoints.ping.address=:8082', '--ping.entryPoint=ping', '--providers.file.directory=/etc/traefik/dynamic', '--providers.file.watch=true', '--log.level=WARN'],
        volumes: [`${STATE}/link:/etc/traefik/dynamic:ro`],
        ports: [`${config.bindAddress}:${config.dr.edgePort}:${EDGE_PORT}`],
        networks: ['primary-edge', 'dr-edge'],
        healthcheck: { test: ['CMD', 'traefik', 'healthcheck', '--entryPoints.ping.address=:8082', '--ping.entryPoint=ping'], interval: '2s', timeout: '3s', retries: 30, start_period: '5s' },
        labels: { 'dev.parity.logical': EDGE, 'dev.parity.tier': 'edge' },
        restart: 'unless-stopped',
      },
    },
    networks: Object.fromEntries((Object.keys(LINK_NETWORK_VARIABLES) as LinkNetwork[]).map(network)),
  };
}

export const linkProxiesFile = () => ({ path: 'link.json', value: linkProxies() });
