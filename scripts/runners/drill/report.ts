/**
 * Writing a drill's report: `.parity/drills/<time>-<drill>-<scenario>/` with the human summary,
 * the JSON, JUnit XML and the SVG timeline. One place, so every drill leaves the same four files.
 */
import { join } from 'node:path';
import { buildDrillReport, type DrillFindings, type DrillReport } from '../../../services/drills/model.js';
import { renderDrillJunit, renderDrillSummary, renderDrillTimelineSvg } from '../../../services/render/drill-report.js';
import { writeFileAtomic } from '../core/state.js';
import { DrillBudgetError, DrillError, formatDuration, ParityError } from '../../../services/errors.js';
import type { DrillRun } from './lifecycle.js';

export interface SavedReport {
  readonly dir: string;
  readonly summary: string;
}

/** What a drill that kept its budgets resolves with: its report, and the folder it was saved in. */
export interface ConcludedDrill {
  readonly report: DrillReport;
  readonly dir: string;
}

export async function saveDrillReport(stateDir: string, report: DrillReport): Promise<SavedReport> {
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const dir = join(stateDir, 'drills', `${stamp}-${report.drill}-${report.scenario}`);
  const summary = renderDrillSummary(report, { dir });
  await writeFileAtomic(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFileAtomic(join(dir, 'junit.xml'), renderDrillJunit(report));
  await writeFileAtomic(join(dir, 'timeline.svg'), renderDrillTimelineSvg(report));
  await writeFileAtomic(join(dir, 'summary.txt'), `${summary}\n`);
  return { dir, summary };
}

/**
 * Every drill ends the same way: its report built (the run's record around the drill's findings,
 * which may depend on how long the drill took), saved and its summary printed, then the outcome
 * as an exit code: the drill's own error (a ParityError keeps its code; anything else is a
 * DrillError naming the report), a DrillBudgetError listing each exceeded budget, or the report.
 */
export async function concludeDrill(run: DrillRun, failure: Error | undefined, findings: (durationMs: number) => DrillFindings): Promise<ConcludedDrill> {
  const durationMs = run.now();
  const record = { startedAt: run.startedAt, durationMs, phases: run.recorder.phases, markers: run.markers, samples: run.samples, restored: run.restored, notes: run.notes };
  const report = buildDrillReport(failure ? { ...record, error: failure.message } : record, findings(durationMs));
  const elapsedMs = run.now();
  const saved = await saveDrillReport(run.options.target.stateDir, report);
  run.options.progress.done();
  process.stdout.write(`${saved.summary}\n`);
  if (failure) throw failure instanceof ParityError ? failure : new DrillError(`${failure.message} (after ${formatDuration(elapsedMs)}; report: ${saved.dir})`);
  if (report.result === 'fail') throw new DrillBudgetError(report.figures.filter((f) => !f.pass).map((f) => f.reason), saved.dir);
  return { report, dir: saved.dir };
}
