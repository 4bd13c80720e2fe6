/**
 * Topology → the compose file (compose-spec). Pure; key order is fixed by `renderYaml`.
 */
import { PROJECT, STATE } from '../topology/common.js';
import type { Topology } from '../topology/index.js';
import type { ServiceSpec } from '../topology/types.js';
import { renderYaml } from './yaml.js';

function renderService(service: ServiceSpec, topology: Topology): Record<string, unknown> {
  const resources = topology.config.resources[service.logical as keyof typeof topology.config.resources];
  const health = service.healthcheck;
  const dependsOn = Object.entries(service.dependsOn ?? {});
  return {
    image: service.image,
    entrypoint: service.entrypoint,
    command: service.command,
    environment: service.environment && Object.keys(service.environment).length ? service.environment : undefined,
    ports: service.ports?.map((port) => `${port.bind}:${port.host}:${port.container}`),
    volumes: service.volumes,
    secrets: service.secrets?.length ? service.secrets : undefined,
    depends_on: dependsOn.length ? Object.fromEntries(dependsOn.map(([name, condition]) => [name, { condition }])) : undefined,
    healthcheck: {
      test: [...health.test],
      interval: health.interval ?? '5s',
      timeout: health.timeout ?? '3s',
      retries: health.retries ?? 30,
      start_period: health.startPeriod ?? '5s',
    },
    user: service.user,
    mem_limit: resources?.memory,
    cpus: resources?.cpus,
    labels: {
      'dev.parity.logical': service.logical,
      'dev.parity.tier': service.tier,
      ...(service.color ? { 'dev.parity.color': service.color } : {}),
    },
    restart: 'unless-stopped',
  };
}

export function renderComposeObject(topology: Topology): Record<string, unknown> {
  return {
    name: PROJECT,
    services: Object.fromEntries(topology.services.map((service) => [service.name, renderService(service, topology)])),
    volumes: Object.fromEntries(topology.volumes.map((volume) => [volume, {}])),
    secrets: Object.fromEntries(topology.secrets.map((secret) => [secret, { file: `${STATE}/secrets/${secret}` }])),
  };
}

export function renderCompose(topology: Topology): string {
  return renderYaml(renderComposeObject(topology), 'services/ (renderCompose)');
}

/** Every file `make gen` writes into compose/, by path. */
export function renderAll(topology: Topology): Map<string, { content: string; executable: boolean }> {
  const files = new Map<string, { content: string; executable: boolean }>();
  files.set('compose.yaml', { content: renderCompose(topology), executable: false });
  for (const file of topology.files) files.set(file.path, { content: file.content, executable: file.executable ?? false });
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
}
