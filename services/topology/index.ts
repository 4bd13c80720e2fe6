/**
 * The whole topology for a config: which services run, with which images, and the files
 * they need. Pure: config in, data out.
 */
import type { Color, ParityConfig } from '../config/schema.js';
import { APP_SERVICES, profileServices } from '../config/profiles.js';
import { DEBIAN_SUITE, catalogRef } from '../images/catalog.js';
import { alertReceiverService, appService, authService } from './apps.js';
import { SECRETS, imageFor, restrictBind, type SecretName } from './common.js';
import { harden } from './hardening.js';
import { HOST_GATEWAY, hostApps, probeService } from './own-services.js';
import { contractDocument, healthSchema } from '../contracts/platform-contract.js';
import { alertmanagerFiles, alertmanagerService } from './alertmanager.js';
import { exporterServices, postgresExporterFiles } from './exporters.js';
import { grafanaFiles, grafanaService } from './grafana.js';
import { postgresFiles, postgresPrimary, postgresReplica } from './postgres.js';
import { etcdServices, haproxyServices, patroniFiles, patroniServices } from './patroni.js';
import { toxiproxyFiles, toxiproxyService } from './chaos.js';
import { prometheusFiles, prometheusService } from './prometheus.js';
import { redisService } from './redis.js';
import { dbInitFiles, dbInitService } from './database-roles.js';
import { s3Service } from './s3.js';
import { traefikFiles, traefikService } from './traefik.js';
import { frontFiles, frontNetwork, frontService } from './front.js';
import { networksOf, type FileSpec, type ServiceSpec } from './types.js';
import { hasDr, regionAlias, type Region } from './region.js';

export interface Topology {
  readonly config: ParityConfig;
  /** Which region this is: the primary (`make up`'s project), or the standby region (`dr.enabled`). */
  readonly region: Region;
  readonly services: readonly ServiceSpec[];
  /** Files beside compose.yaml, described; services/render/ writes them out. */
  readonly files: readonly FileSpec[];
  readonly secrets: readonly SecretName[];
  readonly volumes: readonly string[];
}

/** Image references for a config: the catalog's, with the config's version overrides. */
export function imagesFor(config: ParityConfig) {
  const v = config.versions;
  return {
    traefik: imageFor('traefik', v.traefik),
    node: imageFor('node', `${v.node}-${DEBIAN_SUITE}-slim`),
    postgres: imageFor('postgres', `${v.postgres}-${DEBIAN_SUITE}`),
    redis: imageFor('redis', `${v.redis}-${DEBIAN_SUITE}`),
    s3: config.services.s3.provider === 'minio' ? imageFor('minio/minio', v.minio) : imageFor('chrislusf/seaweedfs', v.seaweedfs),
    prometheus: imageFor('prom/prometheus', v.prometheus),
    alertmanager: imageFor('prom/alertmanager', v.alertmanager),
    grafana: imageFor('grafana/grafana', v.grafana),
    postgresExporter: catalogRef('postgres-exporter'),
    redisExporter: catalogRef('redis-exporter'),
    nodeExporter: catalogRef('node-exporter'),
    stubs: catalogRef('stubs'),
    patroni: catalogRef('patroni'),
    etcd: catalogRef('etcd'),
    haproxy: catalogRef('haproxy'),
    toxiproxy: catalogRef('toxiproxy'),
  } as const;
}

export function buildTopology(config: ParityConfig, region: Region = 'primary'): Topology {
  const running = profileServices(config);
  const images = imagesFor(config);
  const colors: Color[] = ['blue', 'green'];

  const services: ServiceSpec[] = [
    withAlias(traefikService(config, images.traefik), config, region, 'traefik'),
    authService(config, images.stubs, running),
    ...APP_SERVICES.flatMap((app) =>
      colors.flatMap((color) => {
        const service = appService(app, color, config, images.stubs, running);
        // A developer's image is judged from outside, by a probe beside it (own-services.ts).
        return service.probedBy ? [service, probeService(service, config, app, images.stubs)] : [service];
      }),
    ),
    ...(config.postgres.ha === 'patroni'
      ? [
          ...etcdServices(images.etcd),
          ...patroniServices(config, images.patroni, region),
          ...haproxyServices(config, images.haproxy, region),
        ]
      : [postgresPrimary(config, images.postgres), postgresReplica(config, images.postgres)]),
    dbInitService(config, config.postgres.ha === 'patroni' ? images.patroni : images.postgres),
    redisService(config, images.redis),
    // Which configs run it (chaos, or Patroni's way to etcd) is profileServices' rule.
    ...(running.has('toxiproxy') ? [toxiproxyService(config, images.toxiproxy, running)] : []),
  ];
  const files: FileSpec[] = [
    ...traefikFiles(config),
    ...(config.postgres.ha === 'patroni' ? patroniFiles(config, region) : postgresFiles()),
    ...dbInitFiles(),
    ...(running.has('toxiproxy') ? toxiproxyFiles(config, running) : []),
  ];
  // The front exists where users arrive: the primary region (the DR region is reached through the link's edge).
  if (region === 'primary') {
    const traefik = services.findIndex((service) => service.name === 'traefik');
    const spec = services[traefik]!;
    services[traefik] = { ...spec, networks: ['front', ...networksOf(spec)], addresses: { front: frontNetwork(config).traefik } };
    services.push(frontService(config, images.haproxy));
    files.push(...frontFiles(config));
  }
  if (running.has('s3')) services.push(withAlias(s3Service(config, images.s3), config, region, 's3'));
  if (running.has('prometheus')) {
    services.push(prometheusService(config, images.prometheus, running), alertmanagerService(config, images.alertmanager));
    services.push(...exporterServices(config, { postgres: images.postgresExporter, redis: images.redisExporter, node: images.nodeExporter }, running));
    if (running.has('alert-receiver')) services.push(alertReceiverService(images.stubs));
    files.push(...prometheusFiles(config, running), ...alertmanagerFiles(config), ...postgresExporterFiles(config));
  }
  if (running.has('grafana')) {
    services.push(grafanaService(config, images.grafana));
  }
  // Grafana's provisioning is generated whatever the profile, so enabling it later is one line of config.
  files.push(...grafanaFiles());
  // The platform contract, published for the teams' own CI (make contract checks it).
  if (region === 'primary') files.push(...contractFiles());

  // A developer's process on this host (`source: host`): who routes to it resolves the engine's gateway.
  if (hostApps(config).length) {
    const reachers = new Set(['traefik', 'toxiproxy', 'frontend', 'prometheus']);
    services.splice(0, services.length, ...services.map((service) => (reachers.has(service.logical) ? { ...service, extraHosts: [`${HOST_GATEWAY}:host-gateway`] } : service)));
  }
  services.splice(0, services.length, ...services.map(harden));
  for (const [index, service] of services.entries()) if (service.ports) services[index] = { ...service, ports: service.ports.map((port) => restrictBind(config, service, port)) };
  // The DR region publishes nothing on fixed host ports (the primary holds them): ephemeral loopback ports.
  if (region === 'dr') services.splice(0, services.length, ...services.map((service) => (service.ports ? { ...service, ports: service.ports.map((port) => ({ bind: '127.0.0.1', container: port.container })) } : service)));
  const secrets = SECRETS.filter((secret) => services.some((service) => service.secrets?.includes(secret)));
  const volumes = [...new Set(services.flatMap((service) => (service.volumes ?? []).map((v) => v.split(':')[0]!).filter((source) => /^[a-z][a-z0-9-]*$/.test(source))))].sort();
  return { config, region, services, files, secrets, volumes };
}

/** With a DR region, the services the link reaches carry a name unique to their region (`primary-s3`). */
function withAlias(service: ServiceSpec, config: ParityConfig, region: Region, as: 's3' | 'traefik'): ServiceSpec {
  return hasDr(config) ? { ...service, aliases: [regionAlias(region, as)] } : service;
}

/** compose/contract/: the platform contract as a document and the JSON Schema of a /health answer, from services/contracts/platform-contract.ts. */
function contractFiles(): FileSpec[] {
  const source = 'services/contracts/platform-contract.ts';
  return [
    { path: 'contract/contract.md', format: 'text', value: contractDocument(), source },
    { path: 'contract/health.schema.json', format: 'json', value: healthSchema(), source },
  ];
}
