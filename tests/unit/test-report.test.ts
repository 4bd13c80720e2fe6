import { describe, expect, it } from 'vitest';
import { formatSuiteTable, suiteRows, totals, type VitestJson } from '../../services/ci/test-report.js';

const report: VitestJson = {
  startTime: -5_000,
  numPassedTests: 3,
  numFailedTests: 1,
  numPendingTests: 1,
  numTodoTests: 0,
  testResults: [
    { name: '/repo/tests/integration/stack.test.ts', startTime: 0, endTime: 42_400, status: 'passed', assertionResults: [{ status: 'passed' }, { status: 'passed' }] },
    { name: '/repo/tests/integration/failover.test.ts', startTime: 50_000, endTime: 173_000, status: 'failed', assertionResults: [{ status: 'passed' }, { status: 'failed' }, { status: 'skipped' }] },
    // A hook that failed (a teardown): no test failed, the file did.
    { name: '/repo/tests/integration/backup.test.ts', startTime: 200_000, endTime: 210_000, status: 'failed', assertionResults: [] },
  ],
};

describe("make test's closing lines", () => {
  it('one row per suite, slowest first, named as SUITE= takes it; a failed hook counts as a failure', () => {
    // Each suite from the end of the previous one (its setup before its first test counts), the first from the run's start.
    expect(suiteRows(report)).toEqual([
      { suite: 'failover', passed: 1, failed: 1, seconds: 130.6 },
      { suite: 'stack', passed: 2, failed: 0, seconds: 47.4 },
      { suite: 'backup', passed: 0, failed: 1, seconds: 37 },
    ]);
  });

  it('the table ends with the total wall time', () => {
    expect(formatSuiteTable(suiteRows(report)).split('\n')).toEqual([
      '  suite        time  tests',
      '  failover    2m11s  1 passed, 1 FAILED',
      '  stack       0m47s  2 passed',
      '  backup      0m37s  0 passed, 1 FAILED',
      '  total       3m35s  3 passed',
    ]);
  });

  it('the closing line sums every report', () => {
    expect(totals([report, report])).toEqual({ passed: 6, failed: 2, skipped: 2 });
  });
});
