/** The postgres (primary and replica), redis and node exporters. */
import type { ParityConfig } from '../config/schema.js';
import { DB_INIT, databaseEndpoints } from '../config/profiles.js';
import { EXPORTER_PASSWORD_SECRET, EXPORTER_ROLE } from './database-roles.js';
import { DATABASE } from './common.js';
import { hasDr } from './region.js';
import { REDIS_PASSWORD_SECRETS } from './redis.js';
import { httpHealth, type FileSpec, type ServiceSpec } from './types.js';

/**
 * postgres_exporter 0.11 has no replication-lag metric of its own: this query adds
 * `pg_replication_lag` (seconds). It is 0 when everything received has been replayed, so an
 * idle primary doesn't look like lag (replay age alone grows whenever nothing is written).
 */
export function postgresExporterFiles(config: ParityConfig): FileSpec[] {
  return [
    {
      path: 'postgres-exporter/queries.yaml',
      format: 'yaml',
      source: 'services/topology/exporters.ts',
      value: {
        ...(hasDr(config) ? { pg_region_standby: REGION_STANDBY_QUERY } : {}),
        pg_replication: {
          query:
            'SELECT CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 ' +
            'ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())) END AS lag',
          master: true,
          metrics: [{ lag: { usage: 'GAUGE', description: 'Seconds the replica is behind the primary (0 when caught up)' } }],
        },
      },
    },
  ];
}

/**
 * The other region's standby, seen from this region's writer: the walsender that no replication
 * slot owns (the cluster's own replicas stream through their Patroni slots; the standby cluster
 * through the link without one). `streaming` (count), and how much WAL it has not replayed yet:
 * what a lost region would take with it. No row on a writer in recovery (a standby region's own
 * writer), so only the serving region reports it.
 */
export const REGION_STANDBY_QUERY = {
  query:
    "SELECT count(*) AS streaming, COALESCE(max(pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)), 0) AS replay_lag_bytes FROM pg_stat_replication r " +
    "WHERE r.state = 'streaming' AND NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.active_pid = r.pid) HAVING NOT pg_is_in_recovery()",
  master: true,
  metrics: [
    { streaming: { usage: 'GAUGE', description: "Walsenders to the other region's standby cluster (1 when it streams)" } },
    { replay_lag_bytes: { usage: 'GAUGE', description: "WAL the other region's standby has not replayed yet, bytes" } },
  ],
};

export function exporterServices(config: ParityConfig, images: { postgres: string; redis: string; node: string }, running: ReadonlySet<string>): ServiceSpec[] {
  const database = databaseEndpoints(config);
  const postgresExporter = (name: string, host: string): ServiceSpec => ({
    name,
    logical: 'postgres-exporter',
    tier: 'monitoring',
    // Scraped on monitoring, connects to the database on data.
    networks: ['monitoring', 'data'],
    image: images.postgres,
    environment: {
      DATA_SOURCE_URI: `${host}:5432/${DATABASE.name}?sslmode=disable`,
      // pg_monitor only (services/topology/database-roles.ts), not the superuser.
      DATA_SOURCE_USER: EXPORTER_ROLE,
      DATA_SOURCE_PASS_FILE: `/run/secrets/${EXPORTER_PASSWORD_SECRET}`,
      PG_EXPORTER_EXTEND_QUERY_PATH: '/etc/postgres-exporter/queries.yaml',
    },
    volumes: ['./postgres-exporter:/etc/postgres-exporter:ro'],
    secrets: [EXPORTER_PASSWORD_SECRET],
    dependsOn: { [host]: 'service_healthy', [DB_INIT]: 'service_completed_successfully' },
    healthcheck: httpHealth(9187, '/metrics'),
  });
  const services: ServiceSpec[] = [
    postgresExporter('postgres-exporter', database.writer),
    postgresExporter('postgres-exporter-replica', database.reader),
    {
      name: 'redis-exporter',
      logical: 'redis-exporter',
      tier: 'monitoring',
      networks: ['monitoring', 'data'],
      image: images.redis,
      // The exporter reads its password from REDIS_PASSWORD only: the shell sets it from the secret
      // file at start, so it is in no compose file and no `docker inspect` output.
      entrypoint: ['/bin/sh', '-c', `read -r REDIS_PASSWORD < /run/secrets/${REDIS_PASSWORD_SECRETS.exporter} && export REDIS_PASSWORD && exec /usr/local/bin/redis_exporter "$$@"`, '--'],
      environment: { REDIS_ADDR: 'redis://redis:6379', REDIS_USER: 'exporter' },
      secrets: [REDIS_PASSWORD_SECRETS.exporter],
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
  return services;
}
