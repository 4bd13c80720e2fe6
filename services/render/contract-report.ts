/** A contract run's report: the table people read, and JUnit XML for CI (services/contracts/platform-contract.ts judges). */
import { clauseHolds, type ClauseResult } from '../contracts/platform-contract.js';
import { escapeXml, junitDocument } from './drill-report.js';

export interface ContractReport {
  readonly service: string;
  readonly image: string;
  /** The engine's image ID, when known. */
  readonly imageId?: string;
  /** The service's settings from parity.yaml the run used, hashed (the gate matches on it). */
  readonly settingsKey?: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly clauses: readonly ClauseResult[];
  /** Why the run stopped early, when it did. */
  readonly error?: string;
}

export const contractPassed = (report: ContractReport): boolean => !report.error && report.clauses.every((clause) => clauseHolds(clause.verdict));

export function renderContractSummary(report: ContractReport, dir: string): string {
  const mark = { pass: 'ok  ', fail: 'FAIL', 'not measured': 'n/a ', 'not applicable': '--  ' } as const;
  const failed = report.clauses.filter((clause) => !clauseHolds(clause.verdict));
  return [
    `contract ${report.service} (${report.image}${report.imageId ? `, ${report.imageId.slice(0, 19)}` : ''}): ${contractPassed(report) ? 'PASSED' : `FAILED (${failed.length} of ${report.clauses.length} clauses)`} in ${(report.durationMs / 1000).toFixed(1)} s`,
    ...report.clauses.map((clause) => `  ${mark[clause.verdict]} ${clause.id.padEnd(29)} ${clause.evidence}`),
    ...failed.filter((clause) => clause.verdict === 'fail').map((clause) => `  breaks (${clause.id}): ${clause.breaks}`),
    ...(report.error ? [`  error: ${report.error}`] : []),
    `  report: ${dir}/ (report.json, junit.xml)`,
  ].join('\n');
}

export function renderContractJunit(report: ContractReport): string {
  const name = `contract.${report.service}`;
  const cases = report.clauses.map((clause) => {
    const body =
      clause.verdict === 'pass'
        ? ''
        : clause.verdict === 'not applicable'
          ? `\n      <skipped message="${escapeXml(clause.evidence)}"/>\n    `
          : `\n      <failure message="${escapeXml(`${clause.evidence} — ${clause.breaks}`)}" type="${clause.verdict === 'fail' ? 'ClauseFailed' : 'NotMeasured'}"/>\n    `;
    return `    <testcase classname="${escapeXml(name)}" name="${escapeXml(`${clause.id}: ${clause.title}`)}" time="0">${body}</testcase>`;
  });
  const failures = report.clauses.filter((clause) => !clauseHolds(clause.verdict)).length;
  return junitDocument('parity-contract', name, cases, failures, report.error ? 1 : 0, report.durationMs, report.startedAt);
}

/** The audit row of a run (`make audit ACTION=contract.run`): who checked which image, and what failed. */
export function contractAuditEntry(report: ContractReport, dir: string): { readonly action: 'contract.run'; readonly subject: string; readonly outcome: 'ok' | 'failed'; readonly detail: Readonly<Record<string, unknown>> } {
  return {
    action: 'contract.run',
    subject: `${report.service} ${report.image}`,
    outcome: contractPassed(report) ? 'ok' : 'failed',
    detail: {
      ...(report.imageId ? { imageId: report.imageId } : {}),
      failed: report.clauses.filter((clause) => !clauseHolds(clause.verdict)).map((clause) => clause.id),
      durationMs: report.durationMs,
      report: dir,
      ...(report.error ? { error: report.error } : {}),
    },
  };
}
