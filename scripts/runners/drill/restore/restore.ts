/**
 * `make drill-restore [TARGET=mid|latest|<set>|<time>]`: restore the backups into a fresh,
 * isolated cluster and prove what it holds. Phases: preflight (backups on, cluster healthy, the
 * target resolvable — bad input changes nothing) → writes before the target → the target →
 * writes after it → WAL archived → restore (files, replay, promotion) → verify (sequence-numbered
 * rows, table checksums, RPO) → report. Whatever happens (a corrupt backup, Ctrl-C), the isolated
 * cluster, its network and volume go, the S3 store leaves the drill's network, and the drill's rows
 * leave the live database. The same runner serves the make target, bench-dr and the tests.
 */
import { BackupInputError, DrillError, DrillInputError } from '../../../../services/errors.js';
import { baseSetFor, parseRestoreTarget, type Repository } from '../../../../services/backup/catalog.js';
import type { DrillFindings } from '../../../../services/drills/model.js';
import { describeTarget, restoreFigures, type DrillRestoreTarget } from '../../../../services/drills/restore.js';
import { DRILL_TABLE, ensureWriterTable, removeWriterRows, startWriter } from '../writer.js';
import { readRepository, requireBackups } from '../../dr/backup.js';
import { queryPg, type PgLogin } from '../../clients/postgres.js';
import { engineOf } from '../../clients/engine-of.js';
import { systemClock } from '../../core/poll.js';
import { preflightCluster, type LiveIdentity } from './restore-live.js';
import { createIsolatedCluster, removeIsolatedCluster, restoredQuery, restoredLogNotes, restoreFiles, startRestored, type IsolatedCluster } from './restore-cluster.js';
import { concludeDrill, type ConcludedDrill } from '../report.js';
import { checkAborted, startDrillRun, type DrillOptions, type DrillRun } from '../lifecycle.js';
import { hasDr } from '../../../../services/topology/region.js';
import { regionTargets } from '../../stack/regions.js';

export interface RestoreOptions extends DrillOptions {
  /** `mid` (default), `latest`, a backup label, or an ISO-8601 time with a zone. */
  readonly restoreTarget: string;
  /** Seconds of writes before and after the target. @default 3 */
  readonly writeSeconds?: number;
}

interface Run extends DrillRun<RestoreOptions> {
  readonly target: DrillRestoreTarget;
  writer?: PgLogin;
  live?: LiveIdentity;
  repository?: Repository;
  s3?: string;
  cluster?: IsolatedCluster;
  targetAt?: Date;
  written: { seq: number; committedAtMs: number }[];
  restoredSeqs: Set<number> | null;
  lastRecoveredCommitMs?: number;
  rtoMs: number | null;
  filesMs?: number;
  checksums?: { compared: number; mismatched: string[] };
  liveChecksums?: Map<string, string>;
}

/** `mid` or what parseRestoreTarget accepts; bad input names every form. */
export function parseDrillTarget(text: string): DrillRestoreTarget {
  if (text.trim() === 'mid' || text.trim() === '') return { kind: 'mid' };
  try {
    return parseRestoreTarget(text);
  } catch (error) {
    throw new DrillInputError(`${(error as Error).message.replace('expected latest,', 'expected mid (a moment between the drill\'s own writes, the default), latest,')}`);
  }
}

/** Checksums of the platform's tables (every schema but the system's and the drill's). */
const CHECKSUMS_SQL = `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
  WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'parity_drill') ORDER BY 1`;
async function liveChecksums(target: PgLogin): Promise<Map<string, string>> {
  const tables = (await queryPg<{ name: string }>(target, CHECKSUMS_SQL)).map((row) => row.name);
  const sums = new Map<string, string>();
  for (const table of tables) {
    const [row] = await queryPg<{ sum: string }>(target, `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum FROM ${table} t`);
    sums.set(table, row!.sum);
  }
  return sums;
}

/** Switch to a new WAL segment and wait until the archive has it (the writes are then restorable). */
async function archiveNow(run: Run): Promise<void> {
  const [switched] = await queryPg<{ wal: string }>(run.writer!, 'SELECT pg_walfile_name(pg_switch_wal()) AS wal');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [status] = await queryPg<{ wal: string | null }>(run.writer!, 'SELECT last_archived_wal AS wal FROM pg_stat_archiver');
    if (status?.wal && status.wal.slice(8) >= switched!.wal.slice(8)) return;
    await systemClock.sleep(200, run.options.signal);
  }
  throw new DrillError(`WAL segment ${switched!.wal} was not archived within 60 s (make logs SERVICE=postgres-1 shows archive-push errors)`);
}

function restoreArgs(run: Run): string[] {
  const stamp = (at: Date) => at.toISOString().replace('T', ' ').replace('Z', '+00');
  switch (run.target.kind) {
    case 'latest':
      return [];
    case 'set':
      return [`--set=${run.target.label}`, '--type=immediate', '--target-action=promote'];
    default:
      return ['--type=time', `--target=${stamp(run.targetAt!)}`, '--target-action=promote'];
  }
}

async function restoreAndVerify(run: Run): Promise<void> {
  const { target, config, progress } = run.options;
  const phase = run.recorder.phase;
  // The repository's store: the region's own, or with a DR region the DR region's (off-site), read with the DR region's pgBackRest config.
  const repository = hasDr(config) ? regionTargets(target).dr : target;
  run.s3 = await engineOf(repository).containerOf('s3');
  const started = performance.now();
  run.markers.push({ name: 'restore started', atMs: run.now() });
  run.cluster = await phase('isolated cluster (own network and volume)', () => createIsolatedCluster(repository, config, `${target.project}-restore-${process.pid}`, run.s3!));
  run.filesMs = await phase('pgbackrest restore (files)', () => restoreFiles(run.cluster!, restoreArgs(run), (line) => /INFO: (restore backup set|restore size|restore command end)/.test(line) && progress.info(`  ${line.replace(/^.*INFO: /, '')}`)));
  await phase('WAL replay and promotion', () => startRestored(run.cluster!, config.drills.restore.rtoSeconds * 1000 + 120_000, run.options.signal));
  run.rtoMs = Math.round(performance.now() - started);
  run.markers.push({ name: 'restored cluster answers', atMs: run.now() });
  for (const line of await restoredLogNotes(run.cluster)) run.notes.push(`restored cluster's log: ${line}`);
  await phase('verify rows, checksums, RPO', async () => {
    const last = await restoredQuery(run.cluster!, "SELECT coalesce(extract(epoch FROM (pg_last_committed_xact()).timestamp) * 1000, 0)");
    if (Number(last) > 0) run.lastRecoveredCommitMs = Number(last);
    const exists = await restoredQuery(run.cluster!, `SELECT to_regclass('${DRILL_TABLE}') IS NOT NULL`);
    run.restoredSeqs = new Set(exists === 't' ? (await restoredQuery(run.cluster!, `SELECT seq FROM ${DRILL_TABLE} WHERE run = '${run.tag}'`)).split('\n').filter(Boolean).map(Number) : []);
    if (run.liveChecksums && run.target.kind !== 'set' && run.target.kind !== 'time') {
      const mismatched: string[] = [];
      for (const [table, sum] of run.liveChecksums) {
        const got = await restoredQuery(run.cluster!, `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM ${table} t`).catch(() => 'missing');
        if (got !== sum) mismatched.push(table);
      }
      run.checksums = { compared: run.liveChecksums.size, mismatched };
    }
  });
}

/** What the restore drill says in its report; the envelope (concludeDrill) adds the rest. */
function findings(run: Run): DrillFindings {
  return {
    drill: 'restore',
    scenario: run.target.kind,
    description: describeTarget(run.target, run.targetAt),
    figures: restoreFigures(
      {
        target: run.target,
        ...(run.targetAt ? { targetAt: run.targetAt } : {}),
        written: run.written,
        restoredSeqs: run.restoredSeqs,
        ...(run.lastRecoveredCommitMs !== undefined ? { lastRecoveredCommitMs: run.lastRecoveredCommitMs } : {}),
        rtoMs: run.rtoMs,
        ...(run.filesMs !== undefined ? { filesMs: Math.round(run.filesMs) } : {}),
        ...(run.checksums ? { checksums: run.checksums } : {}),
      },
      run.options.config.drills.restore,
    ),
  };
}

async function prepare(run: Run): Promise<void> {
  const { target, config } = run.options;
  requireBackups(config);
  const found = await preflightCluster(target, config);
  run.writer = found.writer;
  run.live = found.live;
  run.repository = await readRepository(target, config);
  if (run.target.kind === 'time' && run.target.at.getTime() > Date.now()) throw new BackupInputError(`restore target ${run.target.at.toISOString()} is in the future`);
  // Bad input before anything changes: a set that doesn't exist, a time before every backup, an empty repository.
  const base = baseSetFor(run.repository, run.target.kind === 'mid' ? { kind: 'latest' } : run.target);
  run.notes.push(`base backup set: ${base.label} (${base.type}, finished ${new Date(base.stoppedAt * 1000).toISOString()})`);
  if (run.target.kind === 'time') run.targetAt = run.target.at;
}

async function cleanUp(run: Run): Promise<void> {
  if (run.cluster && run.s3) run.restored.push(...(await removeIsolatedCluster(run.cluster, run.s3)));
  if (run.writer && run.samples.length) {
    await removeWriterRows(run.writer, run.tag).then(
      () => run.restored.push(`removed the drill's ${run.written.length || 'written'} rows from the live ${DRILL_TABLE}`),
      (error: Error) => run.restored.push(`WARNING: could not remove the drill's rows (${run.tag}): ${error.message}`),
    );
  }
}

/** Run the restore drill; throws DrillBudgetError (exit 1) over budget, BackupError (exit 1) on a corrupt backup, bad input (exit 2). */
export async function runRestoreDrill(options: RestoreOptions): Promise<ConcludedDrill> {
  const target = parseDrillTarget(options.restoreTarget);
  const run: Run = { ...startDrillRun(options, { name: 'restore drill', tag: 'restore' }), target, written: [], restoredSeqs: null, rtoMs: null };
  const { phase } = run.recorder;
  options.progress.info(`${run.name}: ${describeTarget(run.target)}`);
  await phase('preflight (backups on, cluster healthy, target resolvable)', () => prepare(run));
  const seconds = options.writeSeconds ?? 3;
  let failure: Error | undefined;
  try {
    await ensureWriterTable(run.writer!);
    run.liveChecksums = await liveChecksums(run.writer!);
    // One writer throughout: its sequence numbers run on across the target.
    const writer = startWriter({ target: run.writer!, ratePerSecond: 20, run: run.tag, now: run.now, onSample: (s) => run.samples.push(s) });
    try {
      await phase(`writes before the target (${seconds} s at 20/s)`, () => systemClock.sleep(seconds * 1000, options.signal));
      if (run.target.kind === 'mid') {
        const [now] = await queryPg<{ at: Date }>(run.writer!, 'SELECT clock_timestamp() AS at');
        run.targetAt = now!.at;
        run.markers.push({ name: 'target', atMs: run.now(), detail: run.targetAt.toISOString() });
        await phase(`writes after the target (${seconds} s)`, () => systemClock.sleep(seconds * 1000, options.signal));
      }
    } finally {
      await writer.stop();
    }
    checkAborted(run, 'writes', 'removed');
    await phase('WAL archived (pg_switch_wal, wait for the archive)', () => archiveNow(run));
    run.written = (await queryPg<{ seq: number; ms: string }>(run.writer!, `SELECT seq, extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000 AS ms FROM ${DRILL_TABLE} WHERE run = $1`, [run.tag])).map((row) => ({ seq: row.seq, committedAtMs: Number(row.ms) }));
    const after = await liveChecksums(run.writer!);
    const changed = [...after].filter(([table, sum]) => run.liveChecksums!.get(table) !== sum).map(([table]) => table);
    if (changed.length) {
      run.notes.push(`table checksums not compared: the platform wrote to ${changed.join(', ')} during the drill`);
      run.liveChecksums = undefined;
    }
    checkAborted(run, 'archive', 'removed');
    await restoreAndVerify(run);
    const untouched = await preflightCluster(options.target, options.config).then((now) => now.live);
    run.notes.push(
      untouched.systemId === run.live!.systemId && untouched.timeline === run.live!.timeline
        ? `live cluster untouched: leader ${untouched.leader}, timeline ${untouched.timeline}, system id ${untouched.systemId}`
        : `WARNING: the live cluster changed during the drill: ${JSON.stringify(run.live)} → ${JSON.stringify(untouched)}`,
    );
  } catch (error) {
    failure = error as Error;
  } finally {
    await cleanUp(run);
  }
  return concludeDrill(run, failure, () => findings(run));
}
