/**
 * Continuous backup, pure: pgBackRest's config for the Patroni nodes (repository in the S3 store's
 * `backups` bucket over HTTPS, checked against the stack's CA), the Postgres settings that archive
 * WAL from whichever node leads, the backup agent's schedule (environment of each Patroni node),
 * and the Prometheus job and alerts on backup and WAL age.
 *
 * Why pgBackRest (Debian's 2.45) rather than WAL-G: it is packaged (no Go build), backs up and
 * restores in parallel, keeps full/differential/incremental sets with retention, encrypts the
 * repository (AES-256-CBC), checksums every file and verifies on restore, and follows timelines
 * across failovers; it needs HTTPS to S3, which the stack serves with its own CA.
 */
import type { ParityConfig } from '../config/schema.js';
import type { AlertRule } from './alerting.js';
import { DATABASE } from './common.js';
import type { FileSpec } from './types.js';
import { hasDr, LINK, LINK_PORTS, type Region } from './region.js';

/** pgBackRest's stanza: the cluster's name in the repository. */
export const STANZA = 'parity';
/** The repository's path inside the `backups` bucket. */
export const REPO_PATH = '/pgbackrest';
/** Where the file buckets are copied, inside the `backups` bucket. */
export const FILES_PREFIX = 'files';
/** Buckets the agent copies (the files RPO). */
export const FILE_BUCKETS = ['images', 'documents'] as const;
export const BACKUP_BUCKET = 'backups';
/** The S3 store's HTTPS port inside the network (pgBackRest refuses plain HTTP). */
export const S3_HTTPS_PORT = 8443;
/** The backup agent's /metrics on every Patroni node. */
export const BACKUP_METRICS_PORT = 9854;
/** The data directory Patroni runs (the same path in a restored cluster). */
export const PG_DATA_DIR = '/var/lib/postgresql/data/pgdata';
/** Secrets the Patroni nodes need for the repository. */
export const BACKUP_SECRETS = ['s3_access_key', 's3_secret_key', 'ca_cert'] as const;
/** With `backup.encryption`, also the repository's passphrase. */
export const CIPHER_SECRET = 'backup_cipher_pass' as const;

export const backupSecrets = (config: ParityConfig) => [...BACKUP_SECRETS, ...(config.backup.encryption ? [CIPHER_SECRET] : [])];

/** `/etc/pgbackrest/pgbackrest.conf` on every node (secrets come from files: the image's pgbackrest wrapper). */
/**
 * Where the repository is: the region's own S3 store, or with a DR region the DR region's store
 * (off-site), which the primary reaches through the link.
 */
export const repositoryEndpoint = (config: ParityConfig, region: Region) =>
  hasDr(config) && region === 'primary' ? { host: LINK, port: LINK_PORTS['dr-s3'] } : { host: 's3', port: S3_HTTPS_PORT };

export function pgbackrestConfig(config: ParityConfig, region: Region = 'primary'): string[] {
  const { backup } = config;
  const repo = repositoryEndpoint(config, region);
  return [
    '# pgBackRest: the repository is s3://backups/pgbackrest on the stack\'s S3 store, over HTTPS.',
    '# Keys and the cipher passphrase are read from /run/secrets by /usr/local/bin/pgbackrest.',
    '[global]',
    'repo1-type=s3',
    `repo1-s3-endpoint=${repo.host}`,
    `repo1-storage-port=${repo.port}`,
    `repo1-s3-bucket=${BACKUP_BUCKET}`,
    'repo1-s3-region=us-east-1',
    'repo1-s3-uri-style=path',
    'repo1-storage-ca-file=/run/secrets/ca_cert',
    `repo1-path=${REPO_PATH}`,
    `repo1-retention-full=${backup.retentionFull}`,
    `repo1-retention-diff=${backup.retentionDiff}`,
    ...(backup.encryption ? ['repo1-cipher-type=aes-256-cbc'] : []),
    `compress-type=${backup.compression}`,
    'compress-level=1',
    `process-max=${backup.processMax}`,
    // A backup starts with an immediate checkpoint instead of waiting for the next spread one.
    'start-fast=y',
    'archive-check=y',
    // Asynchronous archive-push: WAL goes to the repository in parallel; a segment is still
    // acknowledged to Postgres only once it is in the repository. archive-get stays synchronous
    // (the [global:archive-get] section below).
    'archive-async=y',
    'spool-path=/tmp/pgbackrest-spool',
    // Quiet archive-push/-get in Postgres's log; the agent and make backup ask for info.
    'log-level-console=warn',
    'log-level-file=off',
    'lock-path=/tmp/pgbackrest',
    // The restore_command pgBackRest writes names this wrapper (which loads the secrets), not /usr/bin/pgbackrest.
    'cmd=/usr/local/bin/pgbackrest',
    '',
    // Asynchronous archive-get (2.45) races at a timeline switch: two forked fetchers contend for
    // the lock, the loser dies, and Postgres's request waits out archive-timeout (60 s) and gets
    // "not found", which can end recovery early (fixed upstream in pgBackRest PR #2806, 2026).
    // Seen here: a restore across a switchover took 65.5 s instead of 6 s. Restores, the DR
    // region's standby and replicas behind the leader all replay through archive-get.
    '[global:archive-get]',
    'archive-async=n',
    '',
    `[${STANZA}]`,
    `pg1-path=${PG_DATA_DIR}`,
    'pg1-socket-path=/var/run/postgresql',
    `pg1-user=${DATABASE.user}`,
  ];
}

/** The Postgres settings that archive WAL (from the leader only: `archive_mode: on`). */
export function archiveParameters(config: ParityConfig): Record<string, string> {
  if (!config.backup.enabled) return {};
  return {
    archive_mode: 'on',
    archive_command: `pgbackrest --stanza=${STANZA} archive-push %p`,
    archive_timeout: `${config.backup.archiveTimeoutSeconds}s`,
    // The commit time of every transaction: a restore reports the last one it recovered (RPO).
    track_commit_timestamp: 'on',
  };
}

/** A replica that fell behind the leader's WAL fetches the missing segments from the archive. */
export const RESTORE_COMMAND = `pgbackrest --stanza=${STANZA} archive-get %f "%p"`;

/** The backup agent's settings (environment of each Patroni node). */
export function agentEnvironment(config: ParityConfig, region: Region = 'primary'): Record<string, string> {
  const { backup } = config;
  // With a DR region the primary copies its file buckets into the DR region's buckets of the same
  // names (the DR apps serve them); the DR region copies nothing until it is rebuilt as the primary.
  const toDr = hasDr(config);
  return {
    PARITY_BACKUP_AGENT: '1',
    PGBACKREST_STANZA: STANZA,
    PARITY_BACKUP_FULL_SECONDS: String(backup.fullIntervalSeconds),
    PARITY_BACKUP_DIFF_SECONDS: String(backup.diffIntervalSeconds),
    PARITY_FILES_SECONDS: String(backup.filesIntervalSeconds),
    PARITY_FILES_BUCKETS: toDr && region === 'dr' ? '' : FILE_BUCKETS.join(','),
    PARITY_FILES_TARGET: toDr ? '' : `${BACKUP_BUCKET}/${FILES_PREFIX}`,
    PARITY_S3_ENDPOINT: `https://s3:${S3_HTTPS_PORT}`,
    ...(toDr ? { PARITY_FILES_TARGET_ENDPOINT: `https://${LINK}:${LINK_PORTS['dr-s3']}` } : {}),
    PARITY_PG_USER: DATABASE.user,
    PARITY_BACKUP_METRICS_PORT: String(BACKUP_METRICS_PORT),
  };
}

export function backupFiles(config: ParityConfig, region: Region = 'primary'): FileSpec[] {
  if (!config.backup.enabled) return [];
  return [{ path: 'pgbackrest/pgbackrest.conf', format: 'config', value: pgbackrestConfig(config, region), source: 'services/topology/backup.ts' }];
}

/** The agents' /metrics on the Patroni nodes (`postgres-1` …). */
export const backupScrapeJob = (nodes: readonly string[]) => ({ name: 'backup', targets: nodes.map((node) => `${node}:${BACKUP_METRICS_PORT}`) });

/** Backup, WAL and file-copy age alerts, with budgets from `backup.alerts`; each with a promtool case that makes it fire. */
export function backupAlertRules(config: ParityConfig): AlertRule[] {
  if (!config.backup.enabled) return [];
  const { backupAgeSeconds, walAgeSeconds, filesAgeSeconds } = config.backup.alerts;
  // promtool cases: evaluated a few minutes past the budget, with input series (30 s steps) that last that long.
  const evalMinutes = (seconds: number) => Math.ceil(seconds / 60) + 5;
  const steps = (seconds: number) => evalMinutes(seconds) * 2 + 4;
  return [
    {
      alert: 'BackupTooOld',
      // Every node reports the repository's view; max() is the newest backup any of them sees. No backup at all counts as age ∞.
      expr: `(time() - max(pgbackrest_backup_last_completion_timestamp_seconds)) > ${backupAgeSeconds} or (absent(pgbackrest_backup_last_completion_timestamp_seconds) and on() max(pgbackrest_info_up) == 1)`,
      for: '1m',
      severity: 'high',
      summary: `The newest database backup is older than ${backupAgeSeconds} s (make backups; the backup agent's log: make logs SERVICE=postgres-1)`,
      test: { series: [{ series: 'pgbackrest_backup_last_completion_timestamp_seconds{job="backup",instance="postgres-1:9854",type="full"}', values: `0x${steps(backupAgeSeconds)}` }], evalTime: `${evalMinutes(backupAgeSeconds)}m`, labels: {} },
    },
    {
      alert: 'WalArchiveStalled',
      // WAL waits to be archived longer than the budget: the database RPO is growing. A failing archive_command shows here
      // too (its segments stay .ready); failures alone don't fire it (a new cluster fails a few before its stanza exists).
      expr: `max(pgbackrest_wal_oldest_pending_seconds) > ${walAgeSeconds}`,
      for: '30s',
      severity: 'critical',
      summary: `WAL has waited more than ${walAgeSeconds} s to be archived: point-in-time recovery is falling behind (archive_command failing?)`,
      test: { series: [{ series: 'pgbackrest_wal_oldest_pending_seconds{job="backup",instance="postgres-1:9854"}', values: `0+30x${steps(walAgeSeconds)}` }], evalTime: `${evalMinutes(walAgeSeconds)}m`, labels: {} },
    },
    {
      alert: 'FilesBackupTooOld',
      // Only the leader copies; max by bucket is the newest copy any node made (a former leader's figures stay behind).
      expr: `(time() - max by (bucket) (parity_files_copy_last_success_timestamp_seconds)) > ${filesAgeSeconds}`,
      for: '1m',
      severity: 'high',
      summary: `The {{ $labels.bucket }} bucket has not been copied to the backup bucket for more than ${filesAgeSeconds} s (files RPO)`,
      test: { series: [{ series: 'parity_files_copy_last_success_timestamp_seconds{job="backup",instance="postgres-1:9854",bucket="images"}', values: `0x${steps(filesAgeSeconds)}` }], evalTime: `${evalMinutes(filesAgeSeconds)}m`, labels: { bucket: 'images' } },
    },
  ];
}
