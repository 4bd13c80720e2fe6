/**
 * Postgres: the primary and its streaming replica (physical replication through a
 * replication slot), and the scripts that set replication up.
 */
import type { ParityConfig } from '../config/schema.js';
import { DATABASE, MAX_SLOT_WAL_KEEP_SIZE, hostFor, publish } from './common.js';
import type { FileSpec, ServiceSpec } from './types.js';

const PG_DATA = '/var/lib/postgresql/data';

export function postgresPrimary(config: ParityConfig, image: string): ServiceSpec {
  return {
    name: 'postgres-primary',
    logical: 'postgres-primary',
    copyOf: 'postgres',
    tier: 'data',
    image,
    command: [
      'postgres',
      '-c', 'wal_level=replica',
      '-c', 'max_wal_senders=10',
      '-c', 'max_replication_slots=10',
      '-c', 'hot_standby=on',
      '-c', 'wal_keep_size=256MB',
      '-c', `max_slot_wal_keep_size=${MAX_SLOT_WAL_KEEP_SIZE}`,
      '-c', 'wal_log_hints=on',
    ],
    environment: {
      POSTGRES_USER: DATABASE.user,
      POSTGRES_DB: DATABASE.name,
      POSTGRES_PASSWORD_FILE: '/run/secrets/postgres_password',
      REPLICATION_PASSWORD_FILE: '/run/secrets/replication_password',
    },
    ports: [publish(config, config.ports.postgres, 5432)],
    volumes: [`postgres-primary:${PG_DATA}`, './postgres/init-primary.sh:/docker-entrypoint-initdb.d/10-replication.sh:ro'],
    secrets: ['postgres_password', 'replication_password'],
    healthcheck: { test: ['CMD-SHELL', `pg_isready -h 127.0.0.1 -U ${DATABASE.user} -d ${DATABASE.name}`] },
    url: `postgresql://${DATABASE.user}@${hostFor(config, 'postgres-primary')}:${config.ports.postgres}/${DATABASE.name}`,
  };
}

export function postgresReplica(config: ParityConfig, image: string): ServiceSpec {
  return {
    name: 'postgres-replica',
    logical: 'postgres-replica',
    copyOf: 'postgres',
    tier: 'data',
    image,
    entrypoint: ['bash', '/parity/replica-entrypoint.sh'],
    command: ['postgres', '-c', 'hot_standby=on', '-c', 'hot_standby_feedback=on'],
    environment: {
      PRIMARY_HOST: 'postgres-primary',
      REPLICATION_USER: DATABASE.replicationUser,
      REPLICATION_SLOT: DATABASE.slot,
      REPLICATION_PASSWORD_FILE: '/run/secrets/replication_password',
    },
    ports: [publish(config, config.ports.postgresReplica, 5432)],
    volumes: [`postgres-replica:${PG_DATA}`, './postgres/replica-entrypoint.sh:/parity/replica-entrypoint.sh:ro'],
    secrets: ['replication_password'],
    dependsOn: { 'postgres-primary': 'service_healthy' },
    // Healthy means: accepting connections *and* in recovery, i.e. really a standby.
    healthcheck: {
      test: ['CMD-SHELL', `pg_isready -h 127.0.0.1 -U ${DATABASE.user} -d ${DATABASE.name} && [ "$(psql -U ${DATABASE.user} -d ${DATABASE.name} -tAc 'select pg_is_in_recovery()')" = t ]`],
      startPeriod: '20s',
    },
    url: `postgresql://${DATABASE.user}@${hostFor(config, 'postgres-replica')}:${config.ports.postgresReplica}/${DATABASE.name} (read-only)`,
  };
}

export function postgresFiles(): FileSpec[] {
  const script = (path: string, lines: readonly string[]): FileSpec => ({ path, format: 'script', value: lines, source: 'services/topology/postgres.ts', executable: true });
  return [
    script('postgres/init-primary.sh', [
      '# Runs once, at initdb, on the primary: the replication role, its slot, and pg_hba.',
      'set -Eeuo pipefail',
      'replication_password="$(< "$REPLICATION_PASSWORD_FILE")"',
      `psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --set pw="$replication_password" <<'SQL'`,
      `CREATE ROLE ${DATABASE.replicationUser} WITH REPLICATION LOGIN PASSWORD :'pw';`,
      `SELECT pg_create_physical_replication_slot('${DATABASE.slot}');`,
      'SQL',
      `echo "host replication ${DATABASE.replicationUser} all scram-sha-256" >> "$PGDATA/pg_hba.conf"`,
    ]),
    script('postgres/replica-entrypoint.sh', [
      '# The replica: on first start, clone the primary with pg_basebackup through the replication',
      '# slot (-R writes the standby config), then run postgres as a hot standby.',
      'set -Eeuo pipefail',
      'if [ "$(id -u)" = 0 ]; then',
      '  mkdir -p "$PGDATA" /var/run/postgresql',
      '  chown postgres:postgres "$PGDATA" /var/run/postgresql',
      '  chmod 700 "$PGDATA"',
      '  exec gosu postgres bash "$0" "$@"',
      'fi',
      '# A hard kill can leave a pid file naming a PID now owned by someone else.',
      'if [ -s "$PGDATA/postmaster.pid" ] && ! pgrep -x postgres >/dev/null 2>&1; then rm -f "$PGDATA/postmaster.pid"; fi',
      'if [ ! -s "$PGDATA/PG_VERSION" ]; then',
      '  PGPASSWORD="$(< "$REPLICATION_PASSWORD_FILE")"',
      '  export PGPASSWORD',
      '  for attempt in $(seq 1 60); do',
      '    if pg_basebackup -h "$PRIMARY_HOST" -U "$REPLICATION_USER" -D "$PGDATA" -R -S "$REPLICATION_SLOT" -X stream; then break; fi',
      '    echo "replica: primary not ready (attempt $attempt), retrying in 1s" >&2',
      '    find "$PGDATA" -mindepth 1 -delete',
      '    sleep 1',
      '  done',
      '  unset PGPASSWORD',
      '  [ -s "$PGDATA/PG_VERSION" ] || { echo "replica: could not clone the primary" >&2; exit 1; }',
      'fi',
      'exec "$@"',
    ]),
  ];
}
