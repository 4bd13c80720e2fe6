/**
 * Backups and restores on a real Patroni cluster (3 etcd, 3 nodes, synchronous) with pgBackRest
 * writing to the real S3 store over HTTPS. Every restore case runs the drill runner itself
 * (`runRestoreDrill`): its writer, its isolated cluster and its figures, not a second
 * implementation. Figures are printed; the issue's requirements are asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../services/config/validate.js';
import { BackupError, BackupInputError } from '../../services/errors.js';
import type { DrillReport } from '../../services/drills/model.js';
import { BACKUP_METRICS_PORT, REPO_PATH, STANZA } from '../../services/topology/backup.js';
import { patroniNodes } from '../../services/topology/patroni.js';
import { readRepository, takeBackup } from '../../scripts/runners/dr/backup.js';
import { leaderNode } from '../../scripts/runners/clients/postgres.js';
import { runRestoreDrill } from '../../scripts/runners/drill/restore/restore.js';
import { RESTORE_LABEL } from '../../scripts/runners/drill/restore/restore-cluster.js';
import { tryRun } from '../../scripts/runners/core/exec.js';
import { clusterHealthy, readCluster, switchover, patroniRest } from '../../scripts/runners/clients/patroni.js';
import { engineOf } from '../../scripts/runners/clients/engine-of.js';
import { eventually, figureOf, recordingProgress, startGeneratedStack, type GeneratedStack } from './helpers.js';

const project = `parity-backup-${process.pid}`;
const CONFIG_YAML = 'profile: minimal\npostgres:\n  ha: patroni\n  synchronous: true\nbackup:\n  enabled: true\n';
const config = parseConfig(CONFIG_YAML);
let stack: GeneratedStack;
const log: string[] = [];
const progress = recordingProgress(log);
const figure = figureOf;
const printed = (report: DrillReport) => `FIGURES restore ${report.scenario}: ${report.figures.map((f) => `${f.name}=${f.value ?? 'n/a'}${f.unit === 'ms' ? 'ms' : ''}`).join(', ')}`;

/** Containers, networks and volumes a restore drill made: none may be left. */
async function drillLeftovers(): Promise<string[]> {
  const kinds = [['ps', '-aq'], ['network', 'ls', '-q'], ['volume', 'ls', '-q']];
  // This stack's drills only (`<project>-restore-<pid>`): another checkout's leftovers on the same engine are not ours.
  const found = await Promise.all(kinds.map(async (args) => (await tryRun(['docker', ...args, '--filter', `label=${RESTORE_LABEL}`, '--filter', `name=${project}-restore-`])).stdout.trim()));
  return found.filter(Boolean);
}

async function restore(restoreTarget: string): Promise<DrillReport> {
  const { report } = await runRestoreDrill({ target: stack.target, config, restoreTarget, progress });
  log.push(printed(report));
  expect(await drillLeftovers()).toEqual([]);
  return report;
}

const exec = (container: string, command: string) => tryRun(['docker', 'exec', container, 'bash', '-c', command]);

beforeAll(async () => {
  stack = await startGeneratedStack('backup', project, CONFIG_YAML);
}, 600_000);

afterAll(async () => {
  await stack?.down();
  process.stdout.write(`\nbackups and restores:\n${log.filter((line) => line.startsWith('FIGURES')).join('\n')}\n`);
}, 120_000);

describe('continuous backup to the S3 store (pgBackRest over HTTPS)', () => {
  it('the leader\'s agent creates the stanza and takes a full backup on its own; every node serves the backup and WAL ages', async () => {
    const repository = await eventually(async () => {
      const repo = await readRepository(stack.target, config);
      if (!repo.backups.some((set) => set.type === 'full')) throw new Error('no full backup yet');
      return repo;
    }, 120_000, 2000, 'the first scheduled full backup');
    expect(repository.status.message).toBe('ok');
    expect(repository.cipher).toBe('aes-256-cbc');
    const leader = await engineOf(stack.target).containerOf(await leaderNode(stack.target, config));
    const metrics = (await exec(leader, `curl -fsS localhost:${BACKUP_METRICS_PORT}/metrics`)).stdout;
    expect(metrics).toMatch(/^pgbackrest_backup_last_completion_timestamp_seconds\{type="full"\} \d{10}/m);
    expect(metrics).toMatch(/^pgbackrest_wal_last_archived_timestamp_seconds \d{10}/m);
    expect(metrics).toMatch(/^parity_backup_agent_leader 1$/m);
    log.push(`FIGURES first full backup: ${repository.backups[0]!.databaseBytes} B database, ${repository.backups[0]!.repoBytes} B in the repository, ${repository.backups[0]!.stoppedAt - repository.backups[0]!.startedAt} s`);
  });

  it('make backup takes a differential backup now, on the leader', async () => {
    const set = await takeBackup(stack.target, config, 'diff');
    expect(set.type).toBe('diff');
    expect((await readRepository(stack.target, config)).backups.map((s) => s.label)).toContain(set.label);
  });
});

describe('restore drills into an isolated cluster', () => {
  it('a point-in-time restore recovers exactly the writes committed by the target, none after it, within the RPO budget', async () => {
    const report = await restore('mid');
    expect(report.result).toBe('pass');
    expect(figure(report, 'acked writes missing').value).toBe(0);
    expect(figure(report, 'writes past the target').value).toBe(0);
    expect(figure(report, 'RPO').value).toBeLessThanOrEqual(config.drills.restore.rpoMs);
    expect(report.notes.some((note) => note.startsWith('live cluster untouched'))).toBe(true);
  });

  it('latest recovers every acknowledged write', async () => {
    const report = await restore('latest');
    expect(report.result).toBe('pass');
    expect(figure(report, 'acked writes missing').value).toBe(0);
    expect(figure(report, 'RPO').value).toBe(0);
  });

  it('after a switchover the new leader archives, and a restore across the timeline switch recovers everything', async () => {
    const rest = await patroniRest(stack.target, config);
    const before = await readCluster(rest, 2000);
    // Synchronous mode: Patroni switches over only to the synchronous standby.
    const candidate = before!.members.find((m) => m.role === 'sync_standby')?.name ?? patroniNodes(config).find((node) => node !== before!.leader)!;
    await switchover(rest, before!.leader!, candidate);
    await eventually(async () => {
      const view = await readCluster(rest, 2000);
      if (view?.leader !== candidate || !clusterHealthy(view, patroniNodes(config))) throw new Error('switchover not finished');
    }, 60_000, 500, 'the switchover');
    const report = await restore('latest');
    expect(report.result).toBe('pass');
    expect(figure(report, 'acked writes missing').value).toBe(0);
    const archived = await exec(await engineOf(stack.target).containerOf(candidate), `psql -h /var/run/postgresql -U parity -d postgres -XAtc "SELECT last_archived_wal FROM pg_stat_archiver"`);
    // Timeline 2 (or later): the new leader archives its own WAL.
    expect(archived.stdout.trim()).toMatch(/^0000000[2-9]/);
    log.push(`FIGURES after the switchover: ${candidate} archived ${archived.stdout.trim()}`);
  });

  it('a missing backup set is bad input: nothing created, the live cluster untouched', async () => {
    const error = await runRestoreDrill({ target: stack.target, config, restoreTarget: '20200101-000000F', progress }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupInputError);
    expect((error as Error).message).toMatch(/^no backup set named 20200101-000000F: the repository holds \d{8}-\d{6}F/);
    expect(await drillLeftovers()).toEqual([]);
  });

  it('a corrupted backup fails with pgBackRest\'s own error, and the live cluster is untouched', async () => {
    const set = await takeBackup(stack.target, config, 'full');
    const rest = await patroniRest(stack.target, config);
    const before = await readCluster(rest, 2000);
    // Overwrite one file of the set in the bucket (S3 PUT, signed with the stack's keys) with garbage.
    const node = await engineOf(stack.target).containerOf(patroniNodes(config)[0]!);
    const object = `https://s3:8443/backups${REPO_PATH}/backup/${STANZA}/${set.label}/pg_data/PG_VERSION.lz4`;
    const put = await exec(node, `head -c 4096 /dev/urandom > /tmp/garbage && curl -fsS --cacert /run/secrets/ca_cert --aws-sigv4 aws:amz:us-east-1:s3 --user "$(cat /run/secrets/s3_access_key):$(cat /run/secrets/s3_secret_key)" -T /tmp/garbage ${object}`);
    expect(put.code, put.stderr).toBe(0);
    const error = await runRestoreDrill({ target: stack.target, config, restoreTarget: set.label, progress }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupError);
    expect((error as Error).message).toMatch(/^pgbackrest restore --set=\S+ --type=immediate --target-action=promote failed after .* \(exit \d+\): ERROR: \[\d+\]/);
    log.push(`FIGURES corrupt backup: ${(error as Error).message.slice(0, 200)}`);
    expect(await drillLeftovers()).toEqual([]);
    const after = await readCluster(rest, 2000);
    expect(after?.leader).toBe(before?.leader);
    expect(clusterHealthy(after, patroniNodes(config))).toBe(true);
  });
});
