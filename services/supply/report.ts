/** What each supply-chain check found, and how it prints: pure shapes and formatting. */
import type { Outcome } from './policy.js';

export type CheckName = 'audit' | 'licences' | 'labels';

/** One thing a check has to say about one subject (an advisory, a package, an image label). */
export interface Finding {
  readonly outcome: Outcome;
  /** What it is about: `npm:ws`, `image traefik`, `GHSA-…`. */
  readonly subject: string;
  /** Why, in a sentence: the rule applied and the fact that met it. */
  readonly message: string;
}

/** One check's answer: counts for its table and its findings. */
export interface CheckReport {
  readonly check: CheckName;
  /** Rows of the check's table, in order: what was counted and how many. */
  readonly counts: readonly (readonly [string, number | string])[];
  readonly findings: readonly Finding[];
  /** Set by the runner. */
  readonly elapsedMs?: number;
}

/** Exit code of the whole run: 1 when any finding fails, else 0. */
export const exitCodeOf = (reports: readonly CheckReport[]): number => (reports.some((report) => report.findings.some((f) => f.outcome === 'fail')) ? 1 : 0);

const MARK: Record<Outcome, string> = { fail: '✖', warn: '!', report: '·' };

/** A check's short table: its counts, then its findings, failures first. */
export function formatCheck(report: CheckReport, title: string): string {
  const width = Math.max(...report.counts.map(([label]) => label.length), 10);
  const failures = report.findings.filter((f) => f.outcome === 'fail').length;
  const warnings = report.findings.filter((f) => f.outcome === 'warn').length;
  const verdict = failures > 0 ? `FAIL (${failures})` : warnings > 0 ? `ok, ${warnings} warning${warnings === 1 ? '' : 's'}` : 'ok';
  const time = report.elapsedMs === undefined ? '' : ` in ${(report.elapsedMs / 1000).toFixed(1)} s`;
  const lines = [`${title}: ${verdict}${time}`, ...report.counts.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)];
  const order: Outcome[] = ['fail', 'warn', 'report'];
  for (const outcome of order) {
    for (const finding of report.findings.filter((f) => f.outcome === outcome)) lines.push(`  ${MARK[outcome]} ${finding.subject}: ${finding.message}`);
  }
  return lines.join('\n');
}
