/**
 * The link between the regions (`compose/link/`, project `<project>-link`): one Toxiproxy attached
 * to both regions' networks, carrying replication, the backup repository and the users' edge
 * address (see region.ts). Its proxies are plain TCP, so TLS (Postgres, S3, Traefik) passes
 * through untouched; a drill cuts a path by disabling its proxy, and repoints the edge by
 * changing the `edge` proxy's upstream (the local stand-in for a DNS change).
 */
import type { ParityConfig } from '../config/schema.js';
import { catalogRef } from '../images/catalog.js';
import { imageFor } from './common.js';
import { EDGE, EDGE_PORT, LINK, LINK_API_PORT, linkProxies } from './region.js';
import { STATE } from './common.js';
import { httpHealth } from './types.js';

/** The compose networks the link joins: the regions' default networks, named by the runner. */
export const LINK_NETWORK_VARIABLES = { primary: 'PARITY_PRIMARY_NETWORK', dr: 'PARITY_DR_NETWORK' } as const;

export function linkComposeObject(config: ParityConfig): Record<string, unknown> {
  const network = (variable: string, what: string) => ({ external: true, name: `\${${variable}:?${variable} must be set (make up sets it): the ${what} region's network}` });
  return {
    name: `parity-${LINK}`,
    services: {
      [LINK]: {
        image: catalogRef('toxiproxy'),
        command: ['-host=0.0.0.0', '-config=/etc/toxiproxy/link.json'],
        volumes: ['./link.json:/etc/toxiproxy/link.json:ro'],
        // The API for the drills (cutting a path), on an ephemeral loopback port.
        ports: [`127.0.0.1::${LINK_API_PORT}`],
        networks: { primary: { aliases: [LINK] }, dr: { aliases: [LINK] } },
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
        networks: ['primary', 'dr'],
        healthcheck: { test: ['CMD', 'traefik', 'healthcheck', '--entryPoints.ping.address=:8082', '--ping.entryPoint=ping'], interval: '2s', timeout: '3s', retries: 30, start_period: '5s' },
        labels: { 'dev.parity.logical': EDGE, 'dev.parity.tier': 'edge' },
        restart: 'unless-stopped',
      },
    },
    networks: { primary: network(LINK_NETWORK_VARIABLES.primary, 'primary'), dr: network(LINK_NETWORK_VARIABLES.dr, 'DR') },
  };
}

export const linkProxiesFile = () => ({ path: 'link.json', value: linkProxies() });
