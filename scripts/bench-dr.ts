#!/usr/bin/env -S npx tsx
/**
 * `make bench-dr`: what backups and restores really cost, measured with the real tools and the
 * restore drill's own runner on a stack of its own (project parity-bench-dr, removed afterwards).
 * Prints figures; asserts nothing.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../services/config/validate.js';
import type { DrillReport } from '../services/drills/model.js';
import { DrillBudgetError } from '../services/errors.js';
import { STANZA } from '../services/topology/backup.js';
import { pgbackrest, takeBackup } from './runners/dr/backup.js';
import { psqlArgv, writerContainer } from './runners/clients/postgres.js';
import { abortOnSignals, parseCli, runMain } from './runners/core/cli.js';
import { runRestoreDrill } from './runners/drill/restore/restore.js';
import { runRegionDrill } from './runners/drill/region/region.js';
import { downRegions, startLink, upDrRegion } from './runners/stack/regions.js';
import { ensureWriterTable, startWriter } from './runners/drill/writer.js';
import { preflightCluster } from './runners/drill/restore/restore-live.js';
import { run } from './runners/core/exec.js';
import { systemClock } from './runners/core/poll.js';
import { createProgress, type Progress } from './runners/core/progress.js';
import { downStack, upStack } from './runners/stack/stack.js';
import type { ComposeTarget } from './runners/clients/engine.js';
import { engineOf } from './runners/clients/engine-of.js';
import { statePath, writeFileAtomic } from './runners/core/state.js';

const HELP = `
Usage: npx tsx scripts/bench-dr.ts [--scale N] [--steady-seconds S]     (make bench-dr [SCALE=N])

On a stack of its own (minimal profile, 2-node Patroni clusters, backups on, a DR region: the
repository lives in the DR region's store, reached through the link):
  - a database of about 1 GB (pgbench -i -s N, default 70): full backup time and repository size;
  - a restore of it with the restore drill (TARGET=latest): files restored, RTO to a promoted,
    answering cluster;
  - PITR: the restore drill with TARGET=mid, 3 times: RPO (target − last recovered commit);
  - backup storage per day of a steady write load (20 inserts/s for S seconds, default 120, plus a
    differential backup), from the repository's own listing, extrapolated to a day;
  - the region drill twice: per-phase times, RTO, user writes failed, writes lost, files RPO,
    the failback's stall.
Figures go to stdout and .parity/bench/dr.json. Takes about 15 minutes.
`;

const figure = (report: DrillReport, prefix: string) => report.figures.find((f) => f.name.startsWith(prefix))?.value ?? null;

async function drill(target: ComposeTarget, config: ReturnType<typeof parseConfig>, restoreTarget: string, progress: Progress, signal: AbortSignal): Promise<DrillReport> {
  const quiet: Progress = { info: () => {}, step: (m) => progress.step(m), done: () => {} };
  try {
    return (await runRestoreDrill({ target, config, restoreTarget, progress: quiet, signal })).report;
  } catch (error) {
    if (error instanceof DrillBudgetError) return JSON.parse(await readFile(join(error.reportDir, 'report.json'), 'utf8')) as DrillReport;
    throw error;
  }
}

async function regionDrill(target: ComposeTarget, config: ReturnType<typeof parseConfig>, progress: Progress, signal: AbortSignal): Promise<DrillReport> {
  const quiet: Progress = { info: () => {}, step: (m) => progress.step(m), done: () => {} };
  try {
    return (await runRegionDrill({ target, config, progress: quiet, signal })).report;
  } catch (error) {
    if (error instanceof DrillBudgetError) return JSON.parse(await readFile(join(error.reportDir, 'report.json'), 'utf8')) as DrillReport;
    throw error;
  }
}

/** Bytes under a path of the repository (pgBackRest's own listing). */
async function repoBytes(container: string): Promise<number> {
  const json = await pgbackrest(container, ['repo-ls', '--recurse', '--output=json']);
  return Object.values(JSON.parse(json) as Record<string, { type: string; size?: number }>).reduce((sum, entry) => sum + (entry.size ?? 0), 0);
}

await runMain(async () => {
  const { values } = parseCli(process.argv.slice(2), { scale: { type: 'string' }, 'steady-seconds': { type: 'string' } }, HELP);
  const scale = Number(values.scale ?? 70);
  const steadySeconds = Number(values['steady-seconds'] ?? 120);
  const progress = createProgress('[bench-dr]');
  const signal = abortOnSignals(progress, 'stopping the benchmark and removing its stack');
  const config = parseConfig('profile: minimal\ndemo: false\npostgres:\n  ha: patroni\n  nodes: 2\n  synchronous: true\nbackup:\n  enabled: true\ndr:\n  enabled: true\n  edgePort: 28444\n');
  const stateDir = statePath('bench-dr');
  const target: ComposeTarget = { project: 'parity-bench-dr', composeDir: join(stateDir, 'compose'), stateDir };
  const results: Record<string, unknown> = {};
  const say = (line: string) => progress.info(line);
  try {
    await upStack(config, target, progress, 400_000, { beforeUp: () => startLink(target, progress) });
    await upDrRegion(config, target, progress, 400_000);
    const { service: leaderService, container: leader } = await writerContainer(target, config);
    await takeBackup(target, config, 'full');
    const started = performance.now();
    await engineOf(target).exec(leaderService, ['bash', '-c', `createdb -h /var/run/postgresql -U parity parity_bench && pgbench -h /var/run/postgresql -U parity -i -s ${scale} -I dtGp -q parity_bench`], { timeoutMs: 30 * 60_000 });
    const size = Number(await run(psqlArgv({ container: leader, database: 'postgres' }, 'SELECT sum(pg_database_size(datname)) FROM pg_database')));
    say(`database: ${(size / 2 ** 30).toFixed(2)} GiB in all (pgbench scale ${scale}, loaded in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    const backupStarted = performance.now();
    const full = await takeBackup(target, config, 'full');
    const backupMs = performance.now() - backupStarted;
    say(`full backup: ${(backupMs / 1000).toFixed(1)} s (make backup, TYPE=full), ${(full.databaseBytes / 2 ** 20).toFixed(0)} MiB → ${(full.repoBytes / 2 ** 20).toFixed(0)} MiB in the repository (lz4, AES-256)`);
    const latest = await drill(target, config, 'latest', progress, signal);
    say(`restore of it (drill TARGET=latest): files ${((figure(latest, 'files restored') ?? NaN) / 1000).toFixed(1)} s, RTO ${((figure(latest, 'RTO') ?? NaN) / 1000).toFixed(1)} s (to a promoted cluster that answers), result ${latest.result}`);
    results.gigabyte = { databaseBytes: size, backupMs: Math.round(backupMs), repoBytes: full.repoBytes, filesMs: figure(latest, 'files restored'), rtoMs: figure(latest, 'RTO') };
    await engineOf(target).exec(leaderService, ['dropdb', '-h', '/var/run/postgresql', '-U', 'parity', 'parity_bench']);
    await takeBackup(target, config, 'full');
    await pgbackrest(leader, ['expire', `--set=${full.label}`]).catch(() => undefined);
    const rpos: (number | null)[] = [];
    for (let index = 0; index < 3; index += 1) rpos.push(figure(await drill(target, config, 'mid', progress, signal), 'RPO'));
    say(`PITR RPO (drill TARGET=mid, 3 runs): ${rpos.map((ms) => `${ms} ms`).join(', ')}`);
    results.pitrRpoMs = rpos;
    const repoBefore = await repoBytes(leader);
    const { writer } = await preflightCluster(target, config);
    await ensureWriterTable(writer);
    const load = startWriter({ target: writer, ratePerSecond: 20, run: 'bench-dr-steady', now: () => 0, onSample: () => {} });
    await systemClock.sleep(steadySeconds * 1000, signal).catch(() => undefined);
    await load.stop();
    await takeBackup(target, config, 'diff');
    const grown = (await repoBytes(leader)) - repoBefore;
    const perDay = (grown * 86_400) / steadySeconds;
    say(`storage: ${(grown / 2 ** 20).toFixed(1)} MiB for ${steadySeconds} s of 20 inserts/s and one diff backup → ${(perDay / 2 ** 30).toFixed(2)} GiB per day at that rate (WAL archived, a segment at least every ${config.backup.archiveTimeoutSeconds} s with archive_timeout, plus the diff)`);
    results.storage = { steadySeconds, grownBytes: grown, perDayBytes: Math.round(perDay), stanza: STANZA };
    const regions: DrillReport[] = [];
    for (let index = 0; index < 2; index += 1) regions.push(await regionDrill(target, config, progress, signal));
    for (const [index, report] of regions.entries()) {
      say(`region drill ${index + 1}: ${['detection', 'promotion', 'apps ready', 'traffic switched', 'validated', 'RTO', 'user writes failed', 'RPO: acked writes lost', 'files RPO', 'failback write stall', 'failback: acked writes lost'].map((name) => `${name} ${figure(report, name) ?? 'n/a'}`).join(', ')} (result ${report.result})`);
    }
    results.region = regions.map((report) => Object.fromEntries(report.figures.map((f) => [f.name, f.value])));
    await writeFileAtomic(join(statePath('bench'), 'dr.json'), `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    progress.done();
    await downRegions(target, true).catch(() => undefined);
    await downStack(target, true).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  }
});
