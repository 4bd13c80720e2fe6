/** `make rollback`: all traffic back to the other color at once (started first if it was stopped). */
import { otherColor } from '../../../services/deploy/policy.js';
import { DeployInputError } from '../../../services/errors.js';
import { colorWeights } from '../../../services/topology/traefik.js';
import { acquireDeployLock, currentDeployState, withDeployedImages } from '../stack/deploy-state.js';
import { pending, done, pollUntil } from '../core/poll.js';
import { createDeployClients, type DeployClients } from './clients.js';
import { discoverEndpoints } from './containers.js';
import { recoverInterrupted, type DeployOptions } from './deploy.js';
import { waitForColorHealthy } from './phases.js';
import { summarizeRollback, type RollbackReport } from './report.js';
import type { Color } from '../../../services/config/schema.js';
import { rollbackEntry } from '../../../services/audit/deploy.js';
import { appServices } from './traefik-api.js';

/** Unpinned requests in a row that only the restored color must answer before the rollback counts as in effect. */
const STREAK = 20;
/** How long Traefik may keep routing to the old color after the switch. */
const EFFECTIVE_WITHIN_MS = 30_000;

export async function rollback(given: DeployOptions): Promise<RollbackReport> {
  const options = { ...given, target: withDeployedImages(given.target) };
  const { target, config, progress } = options;
  const release = await acquireDeployLock(target.stateDir, 'rollback', (stale) => progress.info(`taking over a stale deploy lock (pid ${stale.pid}, "${stale.command}")`));
  try {
    const clients = options.clients ?? createDeployClients(target, await discoverEndpoints(target), config);
    let state = await currentDeployState(target.stateDir, config.activeColor);
    if (state.inProgress) state = await recoverInterrupted(state, clients.store, progress, clients.clock.now());
    const from = state.active;
    const to = otherColor(from);
    if (state.lastDeploy?.result === 'rolled-back' && state.lastDeploy.version === state.colors[to].version) {
      throw new DeployInputError([
        `${to} runs ${state.colors[to].version}, whose deploy was rolled back: there is no good previous version to return to (${from} ${state.colors[from].version} keeps serving)`,
      ]);
    }
    const startedAt = clients.clock.now();
    const startedColorMs = await ensureWarm(clients, to, options);
    const weights = colorWeights(to, 100);
    const switched = clients.clock.now();
    await clients.store.writeRoutes(weights, false);
    await clients.store.writeState({ ...state, active: to, weights, sticky: false, lastDeploy: { version: state.colors[to].version, result: 'promoted', at: new Date(switched).toISOString() } });
    const effectiveAt = await waitUntilOnlyColorAnswers(clients, to, from);
    const base = {
      kind: 'rollback' as const,
      from: { color: from, version: state.colors[from].version },
      to: { color: to, version: state.colors[to].version },
      effectiveAfterMs: effectiveAt - switched,
      ...(startedColorMs !== undefined ? { startedColorMs } : {}),
    };
    const sides = { from: base.from, to: base.to, services: appServices(to) };
    await clients.audit?.record(rollbackEntry(sides, clients.clock.now() - startedAt, false, { effectiveAfterMs: base.effectiveAfterMs }), (message) => progress.info(`warning: ${message}`));
    const file = await clients.store.saveReport('rollback', base);
    const report = { ...base, file };
    progress.done();
    process.stdout.write(`${summarizeRollback(report)}\n`);
    return report;
  } finally {
    await release();
  }
}

/** Start `color` when it isn't running warm; how long that took (undefined: it was warm). */
async function ensureWarm(clients: DeployClients, color: Color, options: DeployOptions): Promise<number | undefined> {
  if ((await clients.containers.unhealthy(color)).length === 0) return undefined;
  const started = clients.clock.now();
  options.progress.info(`${color} is not running warm: starting it first`);
  await clients.containers.start(color, false);
  await waitForColorHealthy(clients, color, options.progress);
  return clients.clock.now() - started;
}

/** In effect when only the restored color answers: `STREAK` unpinned requests in a row. Returns when the streak began. */
async function waitUntilOnlyColorAnswers(clients: DeployClients, to: Color, from: Color): Promise<number> {
  let streak = 0;
  let effectiveAt = 0;
  const result = await pollUntil(
    async () => {
      const color = await clients.answeringColor();
      if (color === to) {
        if (streak === 0) effectiveAt = clients.clock.now();
        streak += 1;
      } else {
        streak = 0;
      }
      return streak >= STREAK ? done(effectiveAt) : pending(`${color ?? 'no color'} answered (Traefik still routes to ${from}?)`);
    },
    { subject: `rollback to ${to}`, expectation: `only ${to} to answer ${STREAK} unpinned requests in a row`, timeoutMs: EFFECTIVE_WITHIN_MS, intervalMs: 0, clock: clients.clock },
  );
  return result.value;
}
