/** The postgres (primary and replica), redis and node exporters. */
import type { ParityConfig } from '../config/schema.js';
import { DATABASE } from './common.js';
import { httpHealth, type ServiceSpec } from './types.js';

export function exporterServices(config: ParityConfig, images: { postgres: string; redis: string; node: string }, running: ReadonlySet<string>): ServiceSpec[] {
  const postgresExporter = (name: string, host: string): ServiceSpec => ({
    name,
    logical: 'postgres-exporter',
    tier: 'monitoring',
    image: images.postgres,
    environment: {
      DATA_SOURCE_URI: `${host}:5432/${DATABASE.name}?sslmode=disable`,
      DATA_SOURCE_USER: DATABASE.user,
      DATA_SOURCE_PASS_FILE: '/run/secrets/postgres_password',
    },
    secrets: ['postgres_password'],
    dependsOn: { [host]: 'service_healthy' },
    healthcheck: httpHealth(9187, '/metrics'),
  });
  const services: ServiceSpec[] = [
    postgresExporter('postgres-exporter', 'postgres-primary'),
    postgresExporter('postgres-exporter-replica', 'postgres-replica'),
    {
      name: 'redis-exporter',
      logical: 'redis-exporter',
      tier: 'monitoring',
      image: images.redis,
      environment: { REDIS_ADDR: 'redis://redis:6379' },
      dependsOn: { redis: 'service_healthy' },
      healthcheck: httpHealth(9121, '/metrics'),
    },
  ];
  if (running.has('node-exporter')) {
    services.push({
      name: 'node-exporter',
      logical: 'node-exporter',
      tier: 'monitoring',
      image: images.node,
      healthcheck: httpHealth(9100, '/metrics'),
    });
  }
  void config;
  return services;
}
