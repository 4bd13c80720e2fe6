/**
 * Which services run for a config, and what each one needs. The generator uses the same
 * table for compose `depends_on`, so a profile can't silently drop a dependency.
 */
import { APP_SERVICES, type ParityConfig } from './schema.js';

export { APP_SERVICES, type AppService } from './schema.js';

const EDGE_AND_APPS = ['traefik', 'auth', ...APP_SERVICES];
const MONITORING = ['prometheus', 'alertmanager', 'postgres-exporter', 'redis-exporter'];

/** Stands for "the database's write endpoint" in SERVICE_NEEDS; `needsOf` names the real service. */
export const DB_WRITER = 'db-writer';
/** The one-shot that makes the database's roles (services/topology/database-roles.ts): its dependents wait for it to complete. */
export const DB_INIT = 'db-init';

/** Logical service → the services it needs running (`db-writer`: whichever serves writes). */
export const SERVICE_NEEDS: Readonly<Record<string, readonly string[]>> = {
  traefik: ['auth'],
  auth: [DB_WRITER, DB_INIT, 'redis'],
  frontend: [],
  ivor: [DB_WRITER, DB_INIT, 'redis'],
  events: [DB_WRITER, DB_INIT, 's3'],
  newsroom: [DB_WRITER, DB_INIT, 's3'],
  [DB_INIT]: [DB_WRITER],
  'postgres-replica': ['postgres-primary'],
  prometheus: [],
  alertmanager: [],
  'alert-receiver': [],
  grafana: ['prometheus'],
  'postgres-exporter': [DB_WRITER, DB_INIT],
  'redis-exporter': ['redis'],
  'node-exporter': [],
};

/** Where the platform writes and reads: compose services (also their DNS names) for the database tier. */
export function databaseEndpoints(config: ParityConfig): { readonly writer: string; readonly reader: string } {
  return config.postgres.ha === 'patroni' ? { writer: 'postgres-writer', reader: 'postgres-reader' } : { writer: 'postgres-primary', reader: 'postgres-replica' };
}

/** What `logical` needs running, with the database's write endpoint resolved for this config. */
export function needsOf(logical: string, config: ParityConfig): string[] {
  const needs = (SERVICE_NEEDS[logical] ?? []).map((need) => (need === DB_WRITER ? databaseEndpoints(config).writer : need));
  // With chaos on, the apps (and Traefik, towards the APIs) connect through Toxiproxy.
  const proxied = ['auth', 'ivor', 'events', 'newsroom', 'frontend', 'traefik'];
  return config.chaos.enabled && proxied.includes(logical) ? [...needs, 'toxiproxy'] : needs;
}

/** The database tier's logical services: etcd + Patroni nodes + the two HAProxy endpoints, or primary + replica. */
function databaseServices(config: ParityConfig): string[] {
  if (config.postgres.ha !== 'patroni') return ['postgres-primary', 'postgres-replica'];
  return ['etcd', 'postgres', 'postgres-writer', 'postgres-reader'];
}

/** The logical services that run for this config. */
export function profileServices(config: ParityConfig): Set<string> {
  const running = new Set([...EDGE_AND_APPS, ...databaseServices(config), DB_INIT, 'redis']);
  // Toxiproxy: the chaos proxies, and/or Patroni's path to etcd (postgres.dcsProxy).
  if (config.chaos.enabled || (config.postgres.ha === 'patroni' && config.postgres.dcsProxy)) running.add('toxiproxy');
  if (config.profile === 'full') {
    for (const name of [...MONITORING, 's3']) running.add(name);
    if (!config.alerting.webhookUrl) running.add('alert-receiver');
    if (config.services.nodeExporter.enabled) running.add('node-exporter');
    if (config.services.grafana.enabled) running.add('grafana');
  }
  // Backups go to the S3 store, whatever the profile.
  if (config.backup.enabled) running.add('s3');
  return running;
}
