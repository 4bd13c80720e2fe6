/**
 * The whole topology for a config: which services run, with which images, and the files
 * they need. Pure: config in, data out.
 */
import { createHash } from 'node:crypto';
import type { Color, ParityConfig } from '../config/schema.js';
import { APP_SERVICES, profileServices } from '../config/profiles.js';
import { catalogRef } from '../images/catalog.js';
import { renderYaml } from '../render/yaml.js';
import { alertReceiverService, appService, authService } from './apps.js';
import { SECRETS, type SecretName } from './common.js';
import { alertmanagerService } from './alertmanager.js';
import { exporterServices, postgresExporterFiles } from './exporters.js';
import { grafanaFiles, grafanaService } from './grafana.js';
import { postgresFiles, postgresPrimary, postgresReplica } from './postgres.js';
import { etcdServices, haproxyServices, patroniFiles, patroniServices } from './patroni.js';
import { monitoringFiles, prometheusService } from './prometheus.js';
import { redisService } from './redis.js';
import { s3Service } from './s3.js';
import { colorWeights, renderTraefikDynamic, renderTraefikStatic, traefikService } from './traefik.js';
import type { GeneratedFile, ServiceSpec } from './types.js';

export interface Topology {
  readonly config: ParityConfig;
  readonly services: readonly ServiceSpec[];
  /** Files beside compose.yaml. */
  readonly files: readonly GeneratedFile[];
  readonly secrets: readonly SecretName[];
  readonly volumes: readonly string[];
}

/** Image references for a config: the catalog's, with the config's version overrides. */
export function imagesFor(config: ParityConfig) {
  const v = config.versions;
  return {
    traefik: `traefik:${v.traefik}`,
    node: `node:${v.node}-bookworm-slim`,
    postgres: `postgres:${v.postgres}-bookworm`,
    redis: `redis:${v.redis}-bookworm`,
    s3: config.services.s3.provider === 'minio' ? `minio/minio:${v.minio}` : `chrislusf/seaweedfs:${v.seaweedfs}`,
    prometheus: `prom/prometheus:${v.prometheus}`,
    alertmanager: `prom/alertmanager:${v.alertmanager}`,
    grafana: `grafana/grafana:${v.grafana}`,
    postgresExporter: catalogRef('postgres-exporter'),
    redisExporter: catalogRef('redis-exporter'),
    nodeExporter: catalogRef('node-exporter'),
    stubs: catalogRef('stubs'),
    patroni: catalogRef('patroni'),
    etcd: catalogRef('etcd'),
    haproxy: catalogRef('haproxy'),
  } as const;
}

export function buildTopology(config: ParityConfig): Topology {
  const running = profileServices(config);
  const images = imagesFor(config);
  const colors: Color[] = ['blue', 'green'];

  const services: ServiceSpec[] = [
    traefikService(config, images.traefik),
    authService(config, images.stubs, running),
    ...APP_SERVICES.flatMap((app) => colors.map((color) => appService(app, color, config, images.stubs, running))),
    ...(config.postgres.ha === 'patroni'
      ? [...etcdServices(images.etcd), ...patroniServices(config, images.patroni), ...haproxyServices(config, images.haproxy)]
      : [postgresPrimary(config, images.postgres), postgresReplica(config, images.postgres)]),
    redisService(config, images.redis),
  ];
  const files: GeneratedFile[] = [
    { path: 'traefik/traefik.yml', content: renderYaml(renderTraefikStatic(config), 'services/topology/traefik.ts') },
    {
      path: 'traefik/dynamic/routes.yml',
      content: renderYaml(renderTraefikDynamic(colorWeights(config.activeColor, 100)), 'services/topology/traefik.ts'),
    },
    ...(config.postgres.ha === 'patroni' ? patroniFiles(config) : postgresFiles()),
  ];
  if (running.has('s3')) services.push(s3Service(config, images.s3));
  if (running.has('prometheus')) {
    services.push(prometheusService(config, images.prometheus, running), alertmanagerService(config, images.alertmanager));
    services.push(...exporterServices(config, { postgres: images.postgresExporter, redis: images.redisExporter, node: images.nodeExporter }, running));
    if (running.has('alert-receiver')) services.push(alertReceiverService(images.stubs));
    files.push(...monitoringFiles(config, running), ...postgresExporterFiles());
  }
  if (running.has('grafana')) {
    services.push(grafanaService(config, images.grafana));
  }
  // Grafana's provisioning is generated whatever the profile, so enabling it later is one line of config.
  files.push(...grafanaFiles());

  // Each service that mounts generated files carries their hash, so a change recreates it.
  const hashed = services.map((service): ServiceSpec => {
    const mounted = (service.volumes ?? []).map((volume) => volume.split(':')[0]!).filter((source) => source.startsWith('./')).map((source) => source.slice(2));
    const used = files.filter((file) => mounted.some((path) => file.path === path || file.path.startsWith(`${path}/`))).sort((a, b) => a.path.localeCompare(b.path));
    if (used.length === 0) return service;
    const hash = createHash('sha256');
    for (const file of used) hash.update(`${file.path}\0${file.content}\0`);
    return { ...service, configHash: hash.digest('hex').slice(0, 12) };
  });
  services.splice(0, services.length, ...hashed);

  const secrets = SECRETS.filter((secret) => services.some((service) => service.secrets?.includes(secret)));
  const volumes = [...new Set(services.flatMap((service) => (service.volumes ?? []).map((v) => v.split(':')[0]!).filter((source) => /^[a-z][a-z0-9-]*$/.test(source))))].sort();
  return { config, services, files, secrets, volumes };
}
