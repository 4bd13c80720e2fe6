/**
 * `make drill-failover`: a fault on the Patroni cluster while users keep working. Named phases over
 * one run object (failover-run.ts): preflight → load and baseline → fault → failover → API healthy
 * → restore and rejoin → verify → report. Whatever happens (a budget, an error, Ctrl-C), what the
 * fault changed is put back and the cluster waited for. The same runner serves the make target,
 * `make bench-failover` and the integration test.
 */
import type { DrillFindings } from '../../../../services/drills/model.js';
import { FAILOVER_SCENARIOS, failoverFigures, SCENARIOS, type FailoverScenario } from '../../../../services/drills/failover.js';
import { DrillInputError } from '../../../../services/errors.js';
import { clusterHealthy, readCluster } from '../../clients/patroni.js';
import { engineOf } from '../../clients/engine-of.js';
import { ETCD_MEMBERS } from '../../../../services/topology/patroni.js';
import { systemClock } from '../../core/poll.js';
import { awaitApiHealthy, awaitFailover, fault, restoreAndRejoin } from './failover-phases.js';
import { preflight, startLoads, waitUntil, type FailoverOptions, type Run } from './failover-run.js';
import { checkAborted, startDrillRun, undoAll } from '../lifecycle.js';
import { concludeDrill, type ConcludedDrill } from '../report.js';
import { findLostWrites, removeDrillEvents, removeWriterRows } from '../writer.js';

export type { FailoverOptions } from './failover-run.js';

async function stopLoads(run: Run): Promise<void> {
  await Promise.all([run.writer?.stop(), run.api?.stop(), run.watch?.stop()]);
  if (run.api) run.loadEndMs = run.now();
}

async function verify(run: Run): Promise<void> {
  if (!run.writer || !run.writerTarget) return;
  const lost = await findLostWrites(run.writerTarget, run.tag, run.writer.acked);
  run.ackedWritesLost = lost.length;
  if (lost.length) run.notes.push(`acknowledged writes missing afterwards: ${lost.slice(0, 20).join(', ')}${lost.length > 20 ? ' …' : ''}`);
}

/** The drill's own rows (the writer's, and the events its users created) go, whatever happened. */
async function cleanUp(run: Run): Promise<void> {
  if (!run.writerTarget) return;
  await removeWriterRows(run.writerTarget, run.tag).catch((error: Error) => run.notes.push(`could not remove the writer's rows (${run.tag}): ${error.message}`));
  await removeDrillEvents(run.writerTarget, run.tag).catch((error: Error) => run.notes.push(`could not remove the drill's events (${run.tag} #…): ${error.message}`));
}

/** What the failover drill says in its report; the envelope (concludeDrill) adds the rest. */
function findings(run: Run): DrillFindings {
  const { config } = run.options;
  return {
    drill: 'failover',
    scenario: run.scenario,
    description: SCENARIOS[run.scenario].description,
    figures: run.fault
      ? failoverFigures(
          {
            scenario: run.scenario,
            faultAtMs: run.fault.atMs,
            samples: run.samples,
            apiWriteTimes: run.apiWriteTimes,
            leaderChanges: run.watch?.elections() ?? [],
            ackedWritesLost: run.ackedWritesLost,
            ...(run.loadEndMs !== undefined ? { loadEndMs: run.loadEndMs } : {}),
            ...(run.rejoinMs !== undefined ? { rejoinMs: run.rejoinMs } : {}),
            ...(run.overlapMs !== undefined ? { overlapMs: run.overlapMs } : {}),
          },
          config.drills.failover,
        )
      : [],
    bands: run.electedAtMs !== undefined && run.fault ? [{ lane: 'write', label: 'no leader', fromMs: run.fault.atMs, toMs: run.electedAtMs, tone: 'bad' }] : [],
    notes: [`timings: ttl ${config.postgres.patroni.ttl} s, loop_wait ${config.postgres.patroni.loopWait} s, retry_timeout ${config.postgres.patroni.retryTimeout} s; synchronous_mode ${config.postgres.synchronous}`],
  };
}

/** Put the cluster back (whatever happened) and wait, bounded, until it is healthy again. */
async function leaveHealthy(run: Run): Promise<void> {
  await undoAll(run);
  if (!run.before) return;
  // Not abortable: a second Ctrl-C quits at once (the CLI), the first one waits for this.
  const calm: Run = { ...run, options: { ...run.options, signal: undefined } };
  // Patroni's view, and etcd's quorum back to all three members (a lost member is not Patroni's concern).
  const etcdHealthy = async () => (await engineOf(run.options.target).listContainers()).filter((c) => ETCD_MEMBERS.includes(c.service as (typeof ETCD_MEMBERS)[number])).every((c) => c.health === 'healthy');
  const healthy = await waitUntil(calm, 'the cluster healthy again', async () => clusterHealthy(await readCluster(run.rest), run.nodes) && (await etcdHealthy()), 90_000, 500);
  run.restored.push(healthy ? 'cluster healthy: one leader, every replica replicating, every etcd member healthy' : 'WARNING: the cluster was not healthy 90 s after the drill; see make status');
}

export function validateScenario(scenario: string): FailoverScenario {
  if ((FAILOVER_SCENARIOS as readonly string[]).includes(scenario)) return scenario as FailoverScenario;
  throw new DrillInputError(`unknown failover scenario "${scenario}"; expected one of: ${FAILOVER_SCENARIOS.join(', ')}`);
}

/** Run one failover drill; resolves with the report, throws `DrillBudgetError` (exit 1) when a budget is exceeded. */
export async function runFailoverDrill(options: FailoverOptions): Promise<ConcludedDrill> {
  const scenario = validateScenario(options.scenario);
  // The failover drill's rows have always been tagged `drill-<time>-<scenario>`.
  const run: Run = {
    ...startDrillRun(options, { name: `failover drill ${scenario}`, tag: 'drill', scenario }),
    scenario,
    apiWriteTimes: new Set(),
    nodes: [],
    rest: {},
    ackedWritesLost: null,
  };
  options.progress.info(`${run.name}: ${SCENARIOS[scenario].description}`);
  const { phase } = run.recorder;
  await phase('preflight (Patroni cluster healthy, endpoints)', () => preflight(run));
  let failure: Error | undefined;
  try {
    await phase('load and a 3 s baseline', async () => {
      await startLoads(run);
      await systemClock.sleep(3000, options.signal);
    });
    checkAborted(run, 'baseline');
    await phase('fault', () => fault(run));
    await phase(SCENARIOS[scenario].leaderChanges ? 'failover' : 'no failover expected: watch', () => awaitFailover(run));
    checkAborted(run, 'failover');
    await phase('API reads and writes healthy', () => awaitApiHealthy(run));
    checkAborted(run, 'API healthy');
    await phase('restore and rejoin', () => restoreAndRejoin(run));
    checkAborted(run, 'rejoin');
    await systemClock.sleep(2000, options.signal);
    checkAborted(run, 'the last 2 s of load');
  } catch (error) {
    failure = error as Error;
  } finally {
    await stopLoads(run);
    await leaveHealthy(run);
  }
  if (!failure) await verify(run).catch((error: Error) => run.notes.push(`could not verify the writes: ${error.message}`));
  await cleanUp(run);
  return concludeDrill(run, failure, () => findings(run));
}
