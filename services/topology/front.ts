/**
 * The front: the stand-in for the architecture's CDN/load balancer in front of the gateway. Docker's
 * userland proxy hands Traefik every host client from the bridge gateway's address, so a rate limit
 * in Traefik would be one bucket for everybody. The front is HAProxy on the *host* network: it sees
 * each client's real address and passes it on in the PROXY protocol (v2) to Traefik's `public`
 * entrypoint, which believes the header only from the front network's gateway — the address the
 * front's connections arrive from. Nothing else is on that network but Traefik.
 *
 * Sources listed in `edge.rateLimit.trustedSources` are sent to the `trusted` entrypoint instead
 * (the default bucket doesn't apply there).
 */
import type { ParityConfig } from '../config/schema.js';
import type { Region } from './region.js';
import { CLUSTER_FRONT_GLOBAL, clusterFrontBackend } from './cluster.js';
import type { FileSpec, ServiceSpec } from './types.js';

/** The compose profile the test overlay puts the front in: suites that test it start it (`withProfiles`). */
export const FRONT_PROFILE = 'front';

/** Traefik's entrypoints (container ports) the front forwards to. */
export const FRONT_ENTRYPOINTS = { public: 8443, trusted: 8444, 'public-web': 8000 } as const;

export interface FrontNetwork {
  readonly name: string;
  readonly subnet: string;
  /** The host's address on the network: where the front's connections come from. */
  readonly gateway: string;
  /** Traefik's fixed address on it. */
  readonly traefik: string;
}

/**
 * A /29 in 10.213.0.0/16 picked by the users' https port: stacks that can run side by side (they
 * publish different ports) get different subnets, and the same stack always gets the same one.
 */
export function frontNetwork(config: ParityConfig, region: Region = 'primary'): FrontNetwork {
  const slot = (config.ports.https + (region === 'dr' ? 4096 : 0)) % 8192;
  const base = slot * 8;
  const octets = (offset: number) => `10.213.${Math.floor((base + offset) / 256)}.${(base + offset) % 256}`;
  return { name: 'front', subnet: `${octets(0)}/29`, gateway: octets(1), traefik: octets(2) };
}

/** Where the front listens: `bindAddress` (127.0.0.1 unless the edge is exposed). */
const listen = (config: ParityConfig, port: number) => `${config.bindAddress}:${port}`;

/** A backend of the front: on one engine, the one Traefik at its fixed address on the front network. */
type Backend = (config: ParityConfig, name: string, port: number) => string[];
const engineBackend: Backend = (config, name, port) => ['', `backend ${name}`, `  server traefik ${frontNetwork(config).traefik}:${port} send-proxy-v2`];

/** The front's HAProxy config; `backend` says where Traefik is (one engine, or the cluster's nodes). */
export function frontConfig(config: ParityConfig, backendOf: Backend = engineBackend, global: readonly string[] = []): string[] {
  const trusted = config.edge.rateLimit.trustedSources;
  const backend = (name: string, port: number) => backendOf(config, name, port);
  return [
    'global',
    '  maxconn 4096',
    ...global,
    '',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 5m',
    '  timeout server 5m',
    '',
    '# users: TLS passes through untouched; Traefik terminates it and reads the client address from the PROXY header',
    'frontend https',
    `  bind ${listen(config, config.ports.https)}`,
    ...(trusted.length ? [`  acl trusted src ${trusted.join(' ')}`, '  use_backend traefik-trusted if trusted'] : []),
    '  default_backend traefik-public',
    '',
    'frontend http',
    `  bind ${listen(config, config.ports.http)}`,
    '  default_backend traefik-public-web',
    ...backend('traefik-public', FRONT_ENTRYPOINTS.public),
    ...backend('traefik-trusted', FRONT_ENTRYPOINTS.trusted),
    ...backend('traefik-public-web', FRONT_ENTRYPOINTS['public-web']),
  ];
}

const SOURCE = 'services/topology/front.ts';

export function frontFiles(config: ParityConfig): FileSpec[] {
  return [
    { path: 'front/haproxy.cfg', format: 'config', value: frontConfig(config), source: SOURCE },
    // `make cluster-up`: the same front, in front of the cluster's nodes (services/topology/cluster.ts).
    { path: 'front/cluster.cfg', format: 'config', value: frontConfig(config, clusterFrontBackend, CLUSTER_FRONT_GLOBAL), source: SOURCE },
  ];
}

export function frontService(config: ParityConfig, image: string): ServiceSpec {
  const probe = config.bindAddress === '0.0.0.0' ? '127.0.0.1' : config.bindAddress;
  return {
    name: 'front',
    logical: 'front',
    tier: 'edge',
    image,
    command: ['-f', '/usr/local/etc/haproxy/haproxy.cfg'],
    networkMode: 'host',
    volumes: ['./front:/usr/local/etc/haproxy:ro'],
    healthcheck: { test: ['CMD', 'bash', '-c', `exec 3<>/dev/tcp/${probe}/${config.ports.https}`] },
    dependsOn: { traefik: 'service_started' },
    url: `https://${config.bindAddress === '0.0.0.0' ? 'localhost' : config.bindAddress}:${config.ports.https}/ (users: through the front, rate limited per client address)`,
  };
}
