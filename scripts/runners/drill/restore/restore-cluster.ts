/**
 * The restore drill's isolated cluster: a fresh container of the Patroni image (Postgres and
 * pgBackRest, no Patroni) on a network of its own, with a volume of its own. The only live
 * container it reaches is the S3 store, which joins the drill's network for the drill (the
 * repository is where the backups are); the live database is never on that network.
 */
import { join } from 'node:path';
import { DrillError, formatDuration } from '../../../../services/errors.js';
import { backupSecrets, PG_DATA_DIR, STANZA } from '../../../../services/topology/backup.js';
import type { ParityConfig } from '../../../../services/config/schema.js';
import { DATABASE } from '../../../../services/topology/common.js';
import { imagesFor } from '../../../../services/topology/index.js';
import { BackupError } from '../../../../services/errors.js';
import { pgbackrestError } from '../../dr/backup.js';
import { psql } from '../../clients/postgres.js';
import type { ComposeTarget } from '../../clients/engine.js';
import { execIn } from '../../clients/compose.js';
import { stepSucceeded } from '../lifecycle.js';
import { connectNetwork, createNetwork, createVolume, disconnectNetwork, removeContainer, removeNetwork, removeVolume, runDetached } from '../../clients/docker-host.js';
import { POSTGRES_UID, secretCopyPath } from '../../../../services/topology/hardening.js';

export const RESTORE_LABEL = 'dev.parity.drill=restore';

export interface IsolatedCluster {
  readonly name: string;
  /** What was created, in order, for the report ("restored" lists what was removed). */
  readonly created: string[];
}


/** Network, volume and an idle container (`sleep infinity`); the S3 store joins the network as `s3`. */
export async function createIsolatedCluster(target: ComposeTarget, config: ParityConfig, name: string, s3Container: string): Promise<IsolatedCluster> {
  const cluster: IsolatedCluster = { name, created: [] };
  await stepSucceeded(createNetwork(name, RESTORE_LABEL), 'creating the drill\'s network');
  cluster.created.push(`network ${name}`);
  await stepSucceeded(connectNetwork(name, s3Container, 's3'), 'connecting the S3 store to the drill\'s network');
  cluster.created.push(`s3 on network ${name}`);
  await stepSucceeded(createVolume(name, RESTORE_LABEL), 'creating the drill\'s volume');
  cluster.created.push(`volume ${name}`);
  // pgBackRest runs as postgres: the copies owned by its uid, as the Patroni nodes mount them.
  const secrets = backupSecrets(config).map((secret) => `${join(target.stateDir, secretCopyPath(secret, POSTGRES_UID))}:/run/secrets/${secret}:ro`);
  await stepSucceeded(
    runDetached({
      name, label: RESTORE_LABEL, network: name, hostname: name,
      mounts: [`${name}:/var/lib/postgresql/data`, `${join(target.composeDir, 'pgbackrest')}:/etc/pgbackrest:ro`, ...secrets],
      env: { PGBACKREST_STANZA: STANZA }, entrypoint: 'sleep', image: imagesFor(config).patroni, command: ['infinity'],
    }),
    'starting the restore container',
  );
  cluster.created.push(`container ${name}`);
  // A fresh volume is root's; Postgres and pgBackRest run as postgres.
  await stepSucceeded(execIn(name, ['bash', '-c', 'chown postgres:postgres /var/lib/postgresql/data && mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql']), 'preparing the data volume');
  return cluster;
}

/** Remove what `createIsolatedCluster` made, newest first; returns what was done (or could not be). */
export async function removeIsolatedCluster(cluster: IsolatedCluster, s3Container: string): Promise<string[]> {
  const done: string[] = [];
  for (const item of [...cluster.created].reverse()) {
    const [kind] = item.split(' ');
    const result =
      kind === 'container' ? await removeContainer(cluster.name)
      : kind === 's3' ? await disconnectNetwork(cluster.name, s3Container, { force: true })
      : kind === 'volume' ? await removeVolume(cluster.name)
      : await removeNetwork(cluster.name);
    done.push(result.code === 0 ? `removed ${item}` : `WARNING: could not remove ${item}: ${result.stderr.trim().split('\n').at(-1)}`);
  }
  return done;
}

/** `pgbackrest restore ARGS` in the container; a corrupt or missing backup fails with pgBackRest's own error line. */
export async function restoreFiles(cluster: IsolatedCluster, args: readonly string[], onLine?: (line: string) => void): Promise<number> {
  const started = performance.now();
  const argv = ['pgbackrest', `--stanza=${STANZA}`, 'restore', '--archive-mode=off', '--log-level-console=info', ...args];
  const result = await execIn(cluster.name, argv, { user: 'postgres', ...(onLine ? { onLine } : {}), timeoutMs: 30 * 60_000 });
  if (result.code !== 0) {
    throw new BackupError(`pgbackrest restore ${args.join(' ')} failed after ${formatDuration(result.elapsedMs)} (exit ${result.code}): ${pgbackrestError(`${result.stdout}\n${result.stderr}`)}`);
  }
  return performance.now() - started;
}

/** What the restored Postgres's log says about where its start went (each line keeps its timestamp). */
const RECOVERY_MILESTONES = /syncing data directory|starting point-in-time recovery|starting archive recovery|redo starts at|redo done at|selected new timeline|archive recovery complete|checkpoint (starting|complete): end-of-recovery|database system is ready/;

/**
 * Why a replay took the time it did: the restored Postgres's recovery milestones (timestamped) and
 * pgBackRest's warnings and errors (archive-get runs as its restore_command), at most 12 lines.
 */
export async function restoredLogNotes(cluster: IsolatedCluster): Promise<string[]> {
  const log = await execIn(cluster.name, ['cat', '/tmp/restored.log']);
  const lines = log.stdout.split('\n').map((line) => line.trim());
  const milestones = lines.filter((line) => RECOVERY_MILESTONES.test(line)).map((line) => line.replace(/^(\S+ \S+) UTC \[\d+\] /, '$1 '));
  const pgbackrest = lines.filter((line) => /P\d+ +(WARN|ERROR): /.test(line) || /^(WARN|ERROR): /.test(line)).slice(-4);
  return [...milestones.slice(0, 8), ...pgbackrest];
}

/** SQL on the restored cluster (its unix socket, trusted); trimmed output. */
export async function restoredQuery(cluster: IsolatedCluster, sql: string, database: string = DATABASE.name): Promise<string> {
  return stepSucceeded(psql({ container: cluster.name, user: 'postgres', database }, sql), 'querying the restored cluster');
}

/**
 * Start Postgres on the restored files: it replays WAL from the archive up to the target and
 * promotes. Nothing it does reaches the repository (archive_mode off) or waits for a standby.
 * Resolves when it answers out of recovery; a server that stops or stalls fails with its log.
 */
export async function startRestored(cluster: IsolatedCluster, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  await stepSucceeded(
    execIn(cluster.name, [
      'bash', '-c',
      `exec postgres -D ${PG_DATA_DIR} -c archive_mode=off -c synchronous_standby_names= -c listen_addresses=localhost -c unix_socket_directories=/var/run/postgresql -c logging_collector=off > /tmp/restored.log 2>&1`,
    ], { user: 'postgres', detach: true }),
    'starting Postgres on the restored files',
  );
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal?.aborted) {
    const answer = await psql({ container: cluster.name, user: 'postgres', database: 'postgres' }, 'SELECT pg_is_in_recovery()');
    if (answer.code === 0 && answer.stdout.trim() === 'f') return;
    const running = await execIn(cluster.name, ['pgrep', '-x', 'postgres']);
    if (running.code !== 0 && answer.code !== 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const log = await execIn(cluster.name, ['tail', '-n', '15', '/tmp/restored.log']);
  throw new DrillError(
    `the restored cluster did not come out of recovery${signal?.aborted ? ' (interrupted)' : ` within ${formatDuration(timeoutMs)}`}; its last log lines:\n${log.stdout.trim().split('\n').map((line) => `  ${line}`).join('\n')}`,
  );
}
