/**
 * The link between the regions (`compose/link/`, project `<project>-link`): one Toxiproxy attached
 * to both regions' networks, carrying replication, the backup repository and the users' edge
 * address (see region.ts). Its proxies are plain TCP, so TLS (Postgres, S3, Traefik) passes
 * through untouched; a drill cuts a path by disabling its proxy, and repoints the edge by
 * changing the `edge` proxy's upstream (the local stand-in for a DNS change).
 */
import type { ParityConfig } from '../config/schema.js';
import { catalogRef } from '../images/catalog.js';
import { LINK, LINK_API_PORT, LINK_PORTS, linkProxies } from './region.js';
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
        // The users' edge address on the host, and the API for the drills (ephemeral).
        ports: [`${config.bindAddress}:${config.dr.edgePort}:${LINK_PORTS.edge}`, `127.0.0.1::${LINK_API_PORT}`],
        networks: { primary: { aliases: [LINK] }, dr: { aliases: [LINK] } },
        healthcheck: { test: httpHealth(LINK_API_PORT, '/version').test, interval: '2s', timeout: '3s', retries: 30, start_period: '5s' },
        labels: { 'dev.parity.logical': LINK, 'dev.parity.tier': 'edge' },
        restart: 'unless-stopped',
      },
    },
    networks: { primary: network(LINK_NETWORK_VARIABLES.primary, 'primary'), dr: network(LINK_NETWORK_VARIABLES.dr, 'DR') },
  };
}

export const linkProxiesFile = () => ({ path: 'link.json', value: linkProxies() });
