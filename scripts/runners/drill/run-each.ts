/**
 * Several scenarios of a drill in a row (`make drill-failover`, `make chaos` without SCENARIO):
 * each one's failure is collected and the rest still run, but bad input (the same for every
 * scenario) and Ctrl-C stop at once. Exit code 1 when any failed.
 */
import { DrillInputError, InterruptedError } from '../../../services/errors.js';

export async function runEach(scenarios: readonly string[], signal: AbortSignal, run: (scenario: string) => Promise<unknown>): Promise<void> {
  const failed: string[] = [];
  for (const scenario of scenarios) {
    if (signal.aborted) break;
    try {
      await run(scenario);
    } catch (error) {
      if (scenarios.length === 1 || error instanceof DrillInputError || error instanceof InterruptedError) throw error;
      failed.push(`${scenario}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  if (failed.length) {
    process.stderr.write(`\n${failed.length} of ${scenarios.length} scenarios failed:\n${failed.map((line) => `  ${line}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}
