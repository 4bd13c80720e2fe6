/**
 * Writing a drill's report: `.parity/drills/<time>-<drill>-<scenario>/` with the human summary,
 * the JSON, JUnit XML and the SVG timeline. One place, so every drill leaves the same four files.
 */
import { join } from 'node:path';
import type { DrillReport } from '../../../services/drills/model.js';
import { renderDrillJunit, renderDrillSummary, renderDrillTimelineSvg } from '../../../services/render/drill-report.js';
import { writeFileAtomic } from '../state.js';

export interface SavedReport {
  readonly dir: string;
  readonly summary: string;
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
