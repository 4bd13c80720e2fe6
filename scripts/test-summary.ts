#!/usr/bin/env -S npx tsx
/**
 * Sum vitest JSON reports into one closing line: `tests: N passed, N failed, N skipped`; with
 * `--suites REPORT.json`, first each suite's wall time from that report (the integration suites).
 */
import { readFile } from 'node:fs/promises';
import { parseCli, runMain } from './runners/core/cli.js';
import { UsageError } from '../services/errors.js';
import { formatSuiteTable, suiteRows, totals, type VitestJson } from '../services/ci/test-report.js';

const HELP = `Usage: npx tsx scripts/test-summary.ts [--suites REPORT.json] [REPORT.json ...]

  --suites FILE  print each suite's wall time from this report (slowest first), with the total
  REPORT.json    vitest JSON reports to sum into the closing line (exit 1 if any test failed)
`;

const read = async (file: string): Promise<VitestJson> => JSON.parse(await readFile(file, 'utf8')) as VitestJson;

await runMain(async () => {
  const { values, positionals } = parseCli(process.argv.slice(2), { suites: { type: 'string' } }, HELP);
  if (!values.suites && positionals.length === 0) throw new UsageError(`expected --suites REPORT.json and/or reports to sum; see --help`);
  if (values.suites) process.stdout.write(`\nintegration suites (wall time, one at a time):\n${formatSuiteTable(suiteRows(await read(values.suites)))}\n`);
  if (positionals.length === 0) return;
  const { passed, failed, skipped } = totals(await Promise.all(positionals.map(read)));
  process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  if (failed > 0) process.exitCode = 1;
});
