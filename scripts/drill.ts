#!/usr/bin/env -S npx tsx
/** `make drill-failover [SCENARIO=…]`: failure drills against the running stack. */
import { FAILOVER_SCENARIOS } from '../services/drills/failover.js';
import { UsageError } from '../services/errors.js';
import { abortOnSignals, parseCli, runMain } from './runners/cli.js';
import { runFailoverDrill, validateScenario } from './runners/drill/failover.js';
import { runEach } from './runners/drill/run-each.js';
import { loadConfig } from './runners/gen.js';
import { createProgress } from './runners/progress.js';
import { defaultTarget } from './runners/stack.js';

const HELP = `
Usage: node --import tsx scripts/drill.ts failover [--scenario NAME]     (make drill-failover [SCENARIO=NAME])

Runs a failure drill against the running stack (make up) while users keep working: a writer does
sequence-numbered INSERTs through postgres-writer (20/s) and users read and write through Traefik
(GET and POST /api/events). It injects the fault, watches Patroni elect a new leader, puts back
what it changed, waits for the old node to rejoin, then checks every acknowledged write is there.

Scenarios (all of them, in order, without --scenario):
  ${FAILOVER_SCENARIOS.join(', ')}

Report: .parity/drills/<time>-failover-<scenario>/ — summary.txt, report.json, junit.xml and
timeline.svg (requests OK / fallback / failed per second, phases marked).
Budgets: drills.failover.* in parity.yaml.
Exit: 0 within budgets; 1 a budget exceeded or the drill broke; 2 bad input (unknown scenario,
stack not up, postgres.ha not patroni) with nothing changed; 130 interrupted: Ctrl-C or SIGTERM
stops the drill, puts back what it changed, and still writes the report. (make itself exits 2 for any failure:
run the npx command to get these codes.)

Options:
  --scenario NAME   one scenario (default: all)
  -h, --help        show this help
`;

await runMain(async () => {
  const { values, positionals } = parseCli(process.argv.slice(2), { scenario: { type: 'string' } }, HELP);
  const [family, ...rest] = positionals;
  if (family !== 'failover') throw new UsageError(`expected a drill: failover (got ${family ? `"${family}"` : 'none'}); see --help`);
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')} (see --help)`);
  const scenarios = values.scenario ? [validateScenario(values.scenario)] : [...FAILOVER_SCENARIOS];
  const config = await loadConfig();
  const progress = createProgress('[drill]');
  const signal = abortOnSignals(progress, 'stopping the drill and putting back what it changed');
  // Bad input (stack not up, no Patroni) is the same for every scenario: runEach stops at once.
  await runEach(scenarios, signal, (scenario) => runFailoverDrill({ target: defaultTarget(), config, scenario, progress, signal }));
});
