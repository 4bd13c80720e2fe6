#!/usr/bin/env -S npx tsx
/** `make chaos [SCENARIO=…]`, `make chaos-reset`: declared faults (Toxiproxy) on the running stack. */
import { describeToxic } from '../services/drills/chaos.js';
import { DrillInputError, UsageError } from '../services/errors.js';
import { abortOnSignals, parseCli, runMain } from './runners/core/cli.js';
import { runChaosDrill, toxiproxyApi, validateChaosScenario } from './runners/drill/chaos/chaos.js';
import { runEach } from './runners/drill/run-each.js';
import { loadConfig } from './runners/gen/gen.js';
import { createProgress } from './runners/core/progress.js';
import { defaultTarget } from './runners/stack/stack.js';
import { faultyProxies, listProxies, resetToxics } from './runners/clients/toxiproxy.js';

const HELP = `
Usage: node --import tsx scripts/chaos.ts run [--scenario NAME] [--load N]   (make chaos [SCENARIO=NAME] [LOAD=N])
       node --import tsx scripts/chaos.ts reset                   (make chaos-reset)
       node --import tsx scripts/chaos.ts list

run    A declared fault (chaos.scenarios in parity.yaml; the built-in ones are listed by "list")
       on the running stack (make up, chaos.enabled) while users keep reading through the front
       (the users' https port) from 250 client addresses.
       It injects the toxic with Toxiproxy, watches the breakers open (the stubs' /metrics; the
       edge's from what users get), holds the fault, removes it, waits for every breaker to close,
       and judges the scenario's promise: which breakers open, which fallbacks users see, users'
       p95 while open, failures after open, recovery with no manual step.
       Report: .parity/drills/<time>-chaos-<scenario>/ — summary.txt, report.json, junit.xml,
       timeline.svg (requests OK / fallback / failed per second, breaker states drawn over them).
       Budgets: chaos.scenarios.<name>.expect and drills.chaos.* in parity.yaml.
reset  Remove every toxic and enable every proxy (what a drill killed with SIGKILL may leave).
list   The declared scenarios.

Exit: 0 promise kept; 1 a budget exceeded or the drill broke; 2 bad input (unknown scenario, chaos
disabled, stack not up, faults left from an earlier run) with nothing changed; 130 interrupted:
Ctrl-C or SIGTERM removes the drill's toxics and still writes the report. (make itself exits 2 for
any failure: run the node command to get these codes.)

Options:
  --scenario NAME   one scenario (default: all, in order)
  --load N          other users meanwhile: N GET/s on /, /api/events, /api/articles through the
                    front from 250 more addresses (default: none)
  -h, --help        show this help
`;

await runMain(async () => {
  const { values, positionals } = parseCli(process.argv.slice(2), { scenario: { type: 'string' }, load: { type: 'string' } }, HELP);
  const load = values.load === undefined ? 0 : Number(values.load);
  if (!Number.isInteger(load) || load < 0 || load > 1000) throw new UsageError(`--load: expected whole requests per second from 0 to 1000, got "${values.load}"`);
  const [command = 'run', ...rest] = positionals;
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')} (see --help)`);
  const config = await loadConfig();
  const target = defaultTarget();
  switch (command) {
    case 'list':
      for (const [name, scenario] of Object.entries(config.chaos.scenarios)) {
        process.stdout.write(`${name.padEnd(28)} ${scenario.target.padEnd(16)} ${describeToxic(scenario.toxic)}, ${scenario.durationSeconds} s — ${scenario.description}\n`);
      }
      return;
    case 'reset': {
      const api = await toxiproxyApi(target, config);
      const before = await listProxies(api).catch((error: Error) => {
        throw new DrillInputError(`Toxiproxy of project ${target.project} does not answer (${error.message}): is the stack up? (make up)`);
      });
      const dirty = faultyProxies(before);
      await resetToxics(api);
      process.stdout.write(
        dirty.length
          ? `removed: ${dirty.map((p) => `${p.name}${p.enabled ? '' : ' (was disabled)'}${p.toxics.length ? ` [${p.toxics.join(', ')}]` : ''}`).join('; ')}\n`
          : `nothing to remove: ${before.length} proxies, no toxic, all enabled\n`,
      );
      return;
    }
    case 'run': {
      const scenarios = values.scenario ? [values.scenario] : Object.keys(config.chaos.scenarios);
      for (const name of scenarios) validateChaosScenario(config, name);
      const progress = createProgress('[chaos]');
      const signal = abortOnSignals(progress, 'stopping the drill and removing its toxics');
      await runEach(scenarios, signal, (scenario) => runChaosDrill({ target, config, scenario, progress, signal, ...(load ? { background: { rate: load } } : {}) }));
      return;
    }
    default:
      throw new UsageError(`expected a command: run, reset or list (got "${command}"); see --help`);
  }
});
