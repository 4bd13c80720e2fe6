/**
 * Toxiproxy in the stack: one container that every faultable connection goes through. With
 * `chaos.enabled`, the apps reach the Postgres writer and reader, Redis and S3 through it, and
 * Traefik and the frontend reach each API color through it; with `postgres.dcsProxy`, Patroni
 * reaches etcd through it. Proxies are created at start from `toxiproxy/proxies.json` (Toxiproxy
 * can't load toxics at start: a drill adds them through the API and removes them at the end).
 * With chaos off, everything connects directly and no proxy exists.
 */
import type { ChaosTarget, Color, ParityConfig } from '../config/schema.js';
import { databaseEndpoints, type AppService } from '../config/profiles.js';
import { appPort, devService, HOST_GATEWAY, hostApps, ownHost } from './own-services.js';
import { ETCD_CLIENT_PORT, ETCD_MEMBERS, TOXIPROXY_API_PORT, etcdProxyPort } from './patroni.js';
import { S3_PORT } from './s3.js';
import { httpHealth, type FileSpec, type ServiceSpec } from './types.js';

export { TOXIPROXY_API_PORT };

/** A proxy Toxiproxy creates at start. */
export interface ProxySpec {
  /** The proxy's name in Toxiproxy's API (`postgres-reader`, `events-blue`, `etcd-2`). */
  readonly name: string;
  /** The chaos target it belongs to (scenarios name targets; an API's two colors share one). */
  readonly target: ChaosTarget | 'etcd';
  /** Port Toxiproxy listens on inside the network. */
  readonly port: number;
  /** `host:port` it forwards to. */
  readonly upstream: string;
}

/** An endpoint as the apps or Traefik reach it: directly, or through its proxy. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

const API_PORT_BASE: Readonly<Record<Exclude<AppService, 'frontend'>, number>> = { ivor: 13100, events: 13200, newsroom: 13300 };
const COLOR_OFFSET: Readonly<Record<Color, number>> = { blue: 1, green: 2 };
export const CHAOS_APIS = ['ivor', 'events', 'newsroom'] as const;
export type ChaosApi = (typeof CHAOS_APIS)[number];

/** The Toxiproxy port in front of an API color (`events-green` → 13202). */
const apiProxyPort = (api: ChaosApi, color: Color): number => API_PORT_BASE[api] + COLOR_OFFSET[color];
/** The Toxiproxy port in front of an API's host process (`events-dev` → 13203). */
const devProxyPort = (api: ChaosApi): number => API_PORT_BASE[api] + 3;

const proxy = (name: string, target: ProxySpec['target'], port: number, upstream: string): ProxySpec => ({ name, target, port, upstream });

export type DataTarget = 'postgres-writer' | 'postgres-reader' | 'redis' | 's3';

/** The data endpoints as the apps reach them directly, and the Toxiproxy port in front of each. */
function dataTargets(config: ParityConfig): Readonly<Record<DataTarget, { readonly direct: Endpoint; readonly proxyPort: number }>> {
  const database = databaseEndpoints(config);
  return {
    'postgres-writer': { direct: { host: database.writer, port: 5432 }, proxyPort: 15432 },
    'postgres-reader': { direct: { host: database.reader, port: 5432 }, proxyPort: 15433 },
    redis: { direct: { host: 'redis', port: 6379 }, proxyPort: 16379 },
    s3: { direct: { host: 's3', port: S3_PORT }, proxyPort: 18333 },
  };
}

/** Every proxy of this config, in a stable order: etcd (dcsProxy), then the chaos proxies. */
export function proxiesFor(config: ParityConfig, running: ReadonlySet<string>): ProxySpec[] {
  const proxies: ProxySpec[] = [];
  if (config.postgres.ha === 'patroni' && config.postgres.dcsProxy) {
    proxies.push(...ETCD_MEMBERS.map((member) => proxy(member, 'etcd', etcdProxyPort(member), `${member}:${ETCD_CLIENT_PORT}`)));
  }
  if (!config.chaos.enabled) return proxies;
  for (const [target, { direct, proxyPort }] of Object.entries(dataTargets(config)) as [DataTarget, { direct: Endpoint; proxyPort: number }][]) {
    if (target !== 's3' || running.has('s3')) proxies.push(proxy(target, target, proxyPort, `${direct.host}:${direct.port}`));
  }
  for (const api of CHAOS_APIS) {
    for (const color of ['blue', 'green'] as const) proxies.push(proxy(`${api}-${color}`, api, apiProxyPort(api, color), `${api}-${color}:${appPort(config, api)}`));
    // A developer's process on the host: the API's faults reach it too.
    const host = ownHost(config, api);
    if (host) proxies.push(proxy(devService(api), api, devProxyPort(api), `${HOST_GATEWAY}:${host.port}`));
  }
  return proxies;
}


/** Where the apps reach a data dependency: through its proxy with chaos on, else directly. */
export function dataEndpoint(config: ParityConfig, target: DataTarget): Endpoint {
  const { direct, proxyPort } = dataTargets(config)[target];
  return config.chaos.enabled ? { host: 'toxiproxy', port: proxyPort } : direct;
}

/** Where Traefik and the frontend reach an app color (the frontend itself is never proxied). */
export function appEndpoint(config: ParityConfig, app: AppService, color: Color): Endpoint {
  if (!config.chaos.enabled || app === 'frontend') return { host: `${app}-${color}`, port: appPort(config, app) };
  return { host: 'toxiproxy', port: apiProxyPort(app, color) };
}

/** Where Traefik and the frontend reach a host process (`source: host`): through its proxy with chaos on (not the frontend), else the gateway. */
export function devEndpoint(config: ParityConfig, app: AppService): Endpoint | undefined {
  const host = ownHost(config, app);
  if (!host) return undefined;
  if (!config.chaos.enabled || app === 'frontend') return { host: HOST_GATEWAY, port: host.port };
  return { host: 'toxiproxy', port: devProxyPort(app) };
}

/**
 * The data proxies a process on the developer's host reaches through published loopback ports, so
 * a chaos fault on a data store reaches its calls as it reaches the containers' (`source: host`
 * with chaos on; make dev-env and make dev-run use them). Empty otherwise: nothing more published.
 */
export function hostDataProxyPorts(config: ParityConfig, running: ReadonlySet<string>): Readonly<Partial<Record<DataTarget, number>>> {
  if (!config.chaos.enabled || hostApps(config).length === 0) return {};
  return Object.fromEntries((Object.entries(dataTargets(config)) as [DataTarget, { proxyPort: number }][]).filter(([target]) => target !== 's3' || running.has('s3')).map(([target, { proxyPort }]) => [target, proxyPort]));
}

/** Toxiproxy: its API on an ephemeral loopback port (drills and `make chaos-reset` use it), and the data proxies for host processes. */
export function toxiproxyService(config: ParityConfig, image: string, running: ReadonlySet<string> = new Set()): ServiceSpec {
  const dcs = config.postgres.ha === 'patroni' && config.postgres.dcsProxy;
  return {
    name: 'toxiproxy',
    logical: 'toxiproxy',
    tier: 'data',
    // Traefik and the frontend reach the API colors through it (apps), the apps their data and
    // Patroni etcd (data). The edge network never reaches it: Traefik's side of it is apps.
    networks: ['apps', 'data'],
    image,
    command: ['-host=0.0.0.0', '-config=/etc/toxiproxy/proxies.json'],
    ports: [{ bind: '127.0.0.1', container: TOXIPROXY_API_PORT }, ...Object.values(hostDataProxyPorts(config, running)).map((port) => ({ bind: '127.0.0.1', container: port }))],
    volumes: ['./toxiproxy:/etc/toxiproxy:ro'],
    // Upstreams are dialled per connection, so only etcd must exist first (Patroni waits for the proxy).
    ...(dcs ? { dependsOn: Object.fromEntries(ETCD_MEMBERS.map((member) => [member, 'service_started' as const])) } : {}),
    healthcheck: { ...httpHealth(TOXIPROXY_API_PORT, '/version'), interval: '2s' },
    url: 'toxiproxy API: docker compose port toxiproxy 8474 (make chaos, make chaos-reset)',
  };
}

export function toxiproxyFiles(config: ParityConfig, running: ReadonlySet<string>): FileSpec[] {
  const value = proxiesFor(config, running).map((p) => ({ name: p.name, listen: `0.0.0.0:${p.port}`, upstream: p.upstream, enabled: true }));
  return [{ path: 'toxiproxy/proxies.json', format: 'json', value, source: 'services/topology/chaos.ts' }];
}

/** The proxies a scenario's target means (an API: both colors). */
export function proxiesOfTarget(config: ParityConfig, running: ReadonlySet<string>, target: ChaosTarget): string[] {
  return proxiesFor(config, running).filter((p) => p.target === target).map((p) => p.name);
}

