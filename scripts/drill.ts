#!/usr/bin/env -S npx tsx
/** `make drill-failover [SCENARIO=…]`, `make drill-restore [TARGET=…]`, `make drill-region`, `make drill-node`: drills against the running stack. */
import { FAILOVER_SCENARIOS } from '../services/drills/failover.js';
import { UsageError } from '../services/errors.js';
import { abortOnSignals, parseCli, runMain } from './runners/core/cli.js';
import { runFailoverDrill, validateScenario } from './runners/drill/failover/failover.js';
import { parseDrillTarget, runRestoreDrill } from './runners/drill/restore/restore.js';
import { runRegionDrill } from './runners/drill/region/region.js';
import { runNodeDrill, validateNodeScenario } from './runners/drill/node/node.js';
import { NODE_SCENARIOS } from '../services/drills/node.js';
import { runEach } from './runners/drill/run-each.js';
import { loadConfig } from './runners/gen/gen.js';
import { createProgress } from './runners/core/progress.js';
import { defaultTarget } from './runners/stack/stack.js';

const HELP = `
Usage: node --import tsx scripts/drill.ts failover [--scenario NAME]     (make drill-failover [SCENARIO=NAME])
       node --import tsx scripts/drill.ts restore [--target TARGET]      (make drill-restore [TARGET=…])
       node --import tsx scripts/drill.ts region [--no-failback]         (make drill-region)
       node --import tsx scripts/drill.ts node [--scenario NAME] [--node ZONE]  (make drill-node [SCENARIO=…] [NODE=zone-c])

node: (on the cluster: make cluster-up) users read and write through the front (30 reads/s on /,
/api/events and /api/articles, 5 event writes/s, 250 client addresses); one node is lost or
drained; the drill marks when the front and Swarm notice and when every service that may move
runs its desired replicas on the nodes left, then brings the node back (docker start / active,
back in the front) and waits for its pinned tasks; every acknowledged write is looked up.
Scenarios (all, in order, without --scenario): ${NODE_SCENARIOS.join(', ')}. NODE: the zone whose
node goes (default: the last node's). Figures: users' requests failed, front noticed, node down,
replicas back, longest write gap, acked writes lost, node back. Budgets: drills.node.*.

restore: writes sequence-numbered rows (20/s) on the live cluster for 3 s before and 3 s after the
target, archives the WAL, restores the backups with pgBackRest into a fresh container on a network
and volume of its own (the live cluster is never touched; the S3 store joins that network for the
drill), waits for WAL replay and promotion, then checks which rows came back and compares the
platform's table checksums. TARGET: mid (default: a moment between the drill's own writes),
latest (every acknowledged write), a backup set label (make backups), or an ISO-8601 time with a
zone (2026-11-28T16:30:00Z). Figures: RTO, RPO, acked writes missing, writes past the target.
A corrupt backup fails with pgBackRest's own error (exit 1); a missing set is bad input (exit 2).
Budgets: drills.restore.* in parity.yaml.

region: (dr.enabled) users read and write through the edge (10 reads/s, 5 sequence-numbered
event writes/s); every container of the primary region is killed; the drill detects the loss,
promotes the DR standby cluster, waits for the DR apps, repoints the edge (the local stand-in for
DNS) and validates; then fails back: the primary's database is rebuilt from DR as a standby
cluster, DR is demoted, the primary promoted, users moved back, and every acknowledged write is
looked up. Per-phase times, RTO, writes lost (asynchronous between regions), files RPO.
Budgets: drills.region.* in parity.yaml. --no-failback stops with DR serving (make failback later).

failover:
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
  const { values, positionals } = parseCli(process.argv.slice(2), { scenario: { type: 'string' }, target: { type: 'string' }, node: { type: 'string' }, 'no-failback': { type: 'boolean' } }, HELP);
  const [family, ...rest] = positionals;
  if (family !== 'failover' && family !== 'restore' && family !== 'region' && family !== 'node') throw new UsageError(`expected a drill: failover, restore, region or node (got ${family ? `"${family}"` : 'none'}); see --help`);
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')} (see --help)`);
  if (family === 'node') {
    const scenarios = values.scenario ? [validateNodeScenario(values.scenario)] : [...NODE_SCENARIOS];
    const config = await loadConfig();
    const progress = createProgress('[drill]');
    const signal = abortOnSignals(progress, 'stopping the drill and bringing the node back');
    await runEach(scenarios, signal, (scenario) => runNodeDrill({ target: defaultTarget(), config, scenario: validateNodeScenario(scenario), progress, signal, ...(values.node ? { zone: values.node } : {}) }));
    return;
  }
  if (family === 'region') {
    const config = await loadConfig();
    const progress = createProgress('[drill]');
    const signal = abortOnSignals(progress, 'stopping the drill at a consistent state');
    await runRegionDrill({ target: defaultTarget(), config, progress, signal, failback: !values['no-failback'] });
    return;
  }
  if (family === 'restore') {
    const restoreTarget = values.target ?? 'mid';
    parseDrillTarget(restoreTarget);
    const config = await loadConfig();
    const progress = createProgress('[drill]');
    const signal = abortOnSignals(progress, 'stopping the drill and removing the isolated cluster');
    await runRestoreDrill({ target: defaultTarget(), config, restoreTarget, progress, signal });
    return;
  }
  const scenarios = values.scenario ? [validateScenario(values.scenario)] : [...FAILOVER_SCENARIOS];
  const config = await loadConfig();
  const progress = createProgress('[drill]');
  const signal = abortOnSignals(progress, 'stopping the drill and putting back what it changed');
  // Bad input (stack not up, no Patroni) is the same for every scenario: runEach stops at once.
  await runEach(scenarios, signal, (scenario) => runFailoverDrill({ target: defaultTarget(), config, scenario, progress, signal }));
});
