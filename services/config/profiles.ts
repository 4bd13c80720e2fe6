/**
 * Which services run for a config, and what each one needs. The generator uses the same
 * table for compose `depends_on`, so a profile can't silently drop a dependency.
 */
import type { ParityConfig } from './schema.js';

/** Application services; each runs in a blue and a green environment. */
export const APP_SERVICES = ['frontend', 'ivor', 'events', 'newsroom'] as const;
export type AppService = (typeof APP_SERVICES)[number];

const EDGE_AND_APPS = ['traefik', 'auth', ...APP_SERVICES];
const CORE_DATA = ['postgres-primary', 'postgres-replica', 'redis'];
const MONITORING = ['prometheus', 'alertmanager', 'postgres-exporter', 'redis-exporter'];

/** Logical service → the services it needs running. */
export const SERVICE_NEEDS: Readonly<Record<string, readonly string[]>> = {
  traefik: ['auth'],
  auth: ['postgres-primary', 'redis'],
  frontend: [],
  ivor: ['postgres-primary', 'redis'],
  events: ['postgres-primary', 's3'],
  newsroom: ['postgres-primary', 's3'],
  'postgres-replica': ['postgres-primary'],
  's3-init': ['s3'],
  prometheus: [],
  alertmanager: [],
  'alert-receiver': [],
  grafana: ['prometheus'],
  'postgres-exporter': ['postgres-primary'],
  'redis-exporter': ['redis'],
  'node-exporter': [],
};

/** The logical services that run for this config. */
export function profileServices(config: ParityConfig): Set<string> {
  const running = new Set([...EDGE_AND_APPS, ...CORE_DATA]);
  if (config.profile === 'full') {
    for (const name of [...MONITORING, 's3']) running.add(name);
    if (!config.alerting.webhookUrl) running.add('alert-receiver');
    if (config.services.nodeExporter.enabled) running.add('node-exporter');
    if (config.services.grafana.enabled) running.add('grafana');
  }
  return running;
}
