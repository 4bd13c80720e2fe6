#!/usr/bin/env -S npx tsx
/** Sum vitest JSON reports into one closing line: `tests: N passed, N failed, N skipped`. */
import { readFile } from 'node:fs/promises';
import { runMain } from './runners/cli.js';
import { UsageError } from '../services/errors.js';

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
}

await runMain(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new UsageError('usage: test-summary.ts REPORT.json ...');
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const file of files) {
    const report = JSON.parse(await readFile(file, 'utf8')) as VitestJson;
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
  }
  process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  if (failed > 0) process.exitCode = 1;
});
