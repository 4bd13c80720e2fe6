/**
 * What a vitest JSON report says, for `make test`'s closing lines: the totals, and each suite's
 * (test file's) wall time, so the integration suites' share of the 30-minute budget is visible
 * after every run (pure: the report in, text out).
 */

/** The parts of vitest's JSON reporter output read here. */
export interface VitestJson {
  /** When the run started (ms since the epoch). */
  readonly startTime?: number;
  readonly numPassedTests: number;
  readonly numFailedTests: number;
  readonly numPendingTests: number;
  readonly numTodoTests: number;
  readonly testResults: ReadonlyArray<{
    readonly name: string;
    readonly startTime: number;
    readonly endTime: number;
    readonly status: string;
    readonly assertionResults: ReadonlyArray<{ readonly status: string }>;
  }>;
}

export interface SuiteRow {
  /** The file's name without `.test.ts` (what `make test-integration SUITE=` takes). */
  readonly suite: string;
  readonly passed: number;
  readonly failed: number;
  readonly seconds: number;
}

/**
 * One row per test file, slowest first. A file's `startTime`/`endTime` span its tests only, not
 * its `beforeAll` (where a suite starts its stack: half of some suites' time). The suites run one
 * at a time, so a suite's wall time is counted from the end of the previous one (the run's start
 * for the first): its import, its setup and its tests; only the last one's teardown is left out.
 */
export function suiteRows(report: VitestJson): SuiteRow[] {
  const inOrder = [...report.testResults].sort((a, b) => a.startTime - b.startTime);
  return inOrder
    .map((file, index) => {
      const from = index === 0 ? (report.startTime ?? file.startTime) : inOrder[index - 1]!.endTime;
      return {
        suite: (file.name.split('/').at(-1) ?? file.name).replace(/\.test\.ts$/, ''),
        passed: file.assertionResults.filter((test) => test.status === 'passed').length,
        failed: file.assertionResults.filter((test) => test.status === 'failed').length + (file.status === 'failed' && file.assertionResults.every((test) => test.status !== 'failed') ? 1 : 0),
        seconds: Math.max(0, (file.endTime - Math.min(from, file.startTime)) / 1000),
      };
    })
    .sort((a, b) => b.seconds - a.seconds || a.suite.localeCompare(b.suite));
}

const clock = (seconds: number): string => `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;

/** The per-suite wall-time table, with the sum (suites run one at a time, so the sum is the wall time). */
export function formatSuiteTable(rows: readonly SuiteRow[]): string {
  const width = Math.max('suite'.length, ...rows.map((row) => row.suite.length));
  const total = rows.reduce((sum, row) => sum + row.seconds, 0);
  const line = (suite: string, time: string, tests: string) => `  ${suite.padEnd(width)}  ${time.padStart(7)}  ${tests}`;
  return [
    line('suite', 'time', 'tests'),
    ...rows.map((row) => line(row.suite, clock(row.seconds), `${row.passed} passed${row.failed ? `, ${row.failed} FAILED` : ''}`)),
    line('total', clock(total), `${rows.reduce((sum, row) => sum + row.passed, 0)} passed`),
  ].join('\n');
}

/** The closing line over several reports: `tests: N passed, N failed, N skipped`. */
export function totals(reports: readonly VitestJson[]): { readonly passed: number; readonly failed: number; readonly skipped: number } {
  return reports.reduce(
    (sum, report) => ({ passed: sum.passed + report.numPassedTests, failed: sum.failed + report.numFailedTests, skipped: sum.skipped + report.numPendingTests + report.numTodoTests }),
    { passed: 0, failed: 0, skipped: 0 },
  );
}
