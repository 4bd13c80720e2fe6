/**
 * `make deploy VERSION=x`: the idle color with the new version, the gates (L1–L3 health of
 * every service, L4 smoke journeys pinned to the idle color), the canary 5 % → 25 % → 100 %
 * judged by Prometheus on Traefik's metrics, the drain, the report. Any failed gate (or an
 * abort) sends all traffic back to the old color and stops the new one.
 */
import type { Color, ParityConfig } from '../../../services/config/schema.js';
import { profileServices } from '../../../services/config/profiles.js';
import { CANARY_STEPS, figuresBetween, otherColor, validateDeployRequest, type ColorState, type DeployRequest, type DeployState } from '../../../services/deploy/policy.js';
import type { AppService } from '../../../services/config/schema.js';
import { DeployInputError, DeployRolledBackError } from '../../../services/errors.js';
import { catalogRef } from '../../../services/images/catalog.js';
import { colorWeights } from '../../../services/topology/traefik.js';
import { acquireDeployLock, currentDeployState, withDeployedImages } from '../stack/deploy-state.js';
import { createPhaseRecorder } from '../core/phases.js';
import type { Progress } from '../core/progress.js';
import type { ComposeTarget } from '../clients/engine.js';
import { createDeployClients, type DeployClients, type DeployStore } from './clients.js';
import { discoverEndpoints } from './containers.js';
import { imageInEngine } from '../engine/images.js';
import { GateFailure } from './gate.js';
import { canaryStep, drainOld, gateHealth, gateSmoke, recordShift, setState, startIdle, switchToFull, waitForWeights, type DeployRun } from './phases.js';
import { summarize, type DeployReport } from './report.js';
import { appServices } from './traefik-api.js';
import { deployFinishEntry, deployStartEntry, rollbackEntry, type DeployEntry, type DeploySides } from '../../../services/audit/deploy.js';

export interface DeployOptions {
  readonly target: ComposeTarget;
  readonly config: ParityConfig;
  readonly progress: Progress;
  /** Aborting (SIGINT/SIGTERM) rolls back like a failed gate. */
  readonly signal?: AbortSignal;
  /** Called once Traefik serves each canary step's weights (drills and tests look at the split). */
  readonly onShift?: (weights: Record<Color, number>, sticky: boolean) => Promise<void>;
  /** The world the deploy acts on; the stack's own when absent (unit tests pass fakes). */
  readonly clients?: DeployClients;
  /**
   * The platform contract as a gate for a per-service deploy's own images, before anything
   * changes (`make deploy` passes dev/contract-gate.ts: refuses one that fails, runs the contract
   * for one never checked). Stub images and whole-color deploys (`IMAGE=` alone) are not gated.
   */
  readonly contractGate?: (candidates: readonly { readonly service: AppService; readonly image: string }[]) => Promise<void>;
}

/** Check the request before anything changes. */
async function validateRequest(request: DeployRequest, config: ParityConfig, imageExists: (ref: string) => Promise<boolean>): Promise<void> {
  const problems = validateDeployRequest(request);
  if (!profileServices(config).has('prometheus')) problems.push('profile: the canary is judged with Prometheus, which runs in the full profile (profile: full in parity.yaml)');
  if (problems.length === 0) {
    // A per-service deploy needs only its own images; the stubs' image is checked when the whole color changes.
    if (!request.images || request.image) {
      const image = request.image ?? catalogRef('stubs');
      if (!(await imageExists(image))) problems.push(`IMAGE: "${image}" is not in the engine (build it: make images IMAGES=stubs, or docker load it)`);
    }
    for (const [service, ref] of Object.entries(request.images ?? {})) {
      if (!(await imageExists(ref!))) problems.push(`IMAGES: ${service}=${ref} is not in the engine (docker build -t ${ref} …, or docker load it); Parity reaches no registry for your images`);
    }
  }
  if (problems.length) throw new DeployInputError(problems);
}

/**
 * What the idle color will run: the version, and images — a per-service deploy's for the services
 * it names, the active color's for the others (they keep theirs), with the engine's image IDs.
 */
export function nextColorState(request: DeployRequest, active: ColorState, at: string, digests: Readonly<Partial<Record<AppService, string>>>): ColorState {
  const perService = request.images !== undefined;
  const image = request.image ?? (perService ? active.image : undefined);
  const images = { ...active.images, ...request.images };
  const kept = { ...active.digests, ...digests };
  return {
    version: request.version,
    ...(image ? { image } : {}),
    ...(Object.keys(images).length ? { images } : {}),
    ...(Object.keys(kept).length ? { digests: kept } : {}),
    ...(request.fault ? { fault: request.fault } : {}),
    deployedAt: at,
  };
}

/** If the last deploy was killed, put all traffic back on the color that was active before it. */
export async function recoverInterrupted(state: DeployState, store: DeployStore, progress: Progress, now: number): Promise<DeployState> {
  if (!state.inProgress) return state;
  const interrupted = state.inProgress;
  progress.info(
    `a deploy of ${interrupted.version} to ${interrupted.color} (pid ${interrupted.pid}, started ${interrupted.startedAt}) was interrupted at "${interrupted.step}"; traffic was ${JSON.stringify(state.weights)}. Restoring 100 % to ${state.active}.`,
  );
  const recovered: DeployState = {
    ...state,
    weights: colorWeights(state.active, 100),
    sticky: false,
    inProgress: undefined,
    lastDeploy: { version: interrupted.version, result: 'interrupted', at: new Date(now).toISOString() },
  };
  await store.writeRoutes(recovered.weights, recovered.sticky);
  await store.writeState(recovered);
  return recovered;
}

/** Resolves with the report when the new version has all the traffic; a failed gate rejects with `DeployRolledBackError`. */
export async function deploy(request: DeployRequest, given: DeployOptions): Promise<DeployReport> {
  // The colors' images come from the deploy state at each compose call (a new color's image is written before it starts).
  const options = { ...given, target: withDeployedImages(given.target) };
  const { target, config, progress } = options;
  await validateRequest(request, config, options.clients?.containers.imageExists ?? imageInEngine);
  const own = Object.entries(request.images ?? {}).flatMap(([service, image]) => (image && image !== catalogRef('stubs') ? [{ service: service as AppService, image }] : []));
  if (own.length) await given.contractGate?.(own);
  const release = await acquireDeployLock(target.stateDir, `deploy ${request.version}`, (stale) =>
    progress.info(`taking over a stale deploy lock: "${stale.command}" (pid ${stale.pid}, started ${stale.startedAt}) is no longer running`),
  );
  try {
    const clients = options.clients ?? createDeployClients(target, await discoverEndpoints(target), config, undefined, (message) => progress.info(message));
    return await runDeploy(await openRun(request, options, clients));
  } finally {
    await release();
  }
}

/** The run object: the state (after recovering a killed deploy), the colors, the baseline. */
async function openRun(request: DeployRequest, options: DeployOptions, clients: DeployClients): Promise<DeployRun> {
  const { target, config, progress } = options;
  const startedAt = clients.clock.now();
  const state = await recoverInterrupted(await currentDeployState(target.stateDir, config.activeColor), clients.store, progress, startedAt);
  return {
    request,
    active: state.active,
    idle: otherColor(state.active),
    budgets: config.deploy,
    clients,
    recorder: createPhaseRecorder(progress, clients.clock),
    progress,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onShift ? { onShift: options.onShift } : {}),
    startedAt,
    state,
    traffic: [],
    baseline: await clients.prometheus.counters(),
  };
}

/** Append to the audit log; a problem there is one warning in the report, never the deploy's end. */
const audit = (run: DeployRun, entry: DeployEntry): Promise<void> => run.clients.audit?.record(entry, (message) => run.recorder.warn(message)) ?? Promise.resolve();

/** The deploy's two sides as the audit entries name them (from the active color to the idle one). */
const sidesOf = (run: DeployRun): DeploySides => ({
  from: { color: run.active, version: run.state.colors[run.active].version },
  to: { color: run.idle, version: run.request.version },
  services: appServices(run.idle),
});

/** A per-service deploy's images for the report: every service the new color runs on its own image. */
function imagesOf(request: DeployRequest, color: ColorState): NonNullable<DeployReport['images']> {
  return Object.fromEntries(
    Object.entries(color.images ?? {}).map(([service, ref]) => [service, { ref: ref!, ...(color.digests?.[service as AppService] ? { id: color.digests[service as AppService]! } : {}), changed: request.images?.[service as AppService] !== undefined }]),
  );
}

/** The phases in order; a failure before the switch rolls back. */
async function runDeploy(run: DeployRun): Promise<DeployReport> {
  const { request, active, idle } = run;
  const at = new Date(run.startedAt).toISOString();
  run.progress.info(`deploying ${request.version} to ${idle} (active: ${active} ${run.state.colors[active].version})`);
  const digests = Object.fromEntries(
    await Promise.all(Object.entries(request.images ?? {}).map(async ([service, ref]) => [service, (await run.clients.containers.imageId?.(ref!)) ?? 'unknown'] as const)),
  );
  const next = nextColorState(request, run.state.colors[active], at, digests);
  if (request.images) run.progress.info(`images: ${Object.entries(next.images ?? {}).map(([service, ref]) => `${service}=${ref}${request.images![service as AppService] ? ` (${String(next.digests?.[service as AppService] ?? '').slice(7, 19)}, new)` : ' (kept)'}`).join(', ')}`);
  await audit(run, deployStartEntry(sidesOf(run), { ...(request.image ? { image: request.image } : {}), ...(request.images ? { images: request.images, digests } : {}), ...(request.fault ? { fault: request.fault } : {}) }));
  let promoted = false;
  try {
    await setState(run, {
      ...run.state,
      colors: { ...run.state.colors, [idle]: next },
      inProgress: { version: request.version, color: idle, pid: process.pid, step: 'start', startedAt: at },
    });
    await startIdle(run);
    await gateHealth(run);
    await gateSmoke(run);
    for (const percent of CANARY_STEPS.filter((step) => step < 100)) await canaryStep(run, percent);
    await switchToFull(run);
    promoted = true;
    await drainOld(run);
    await setState(run, { ...run.state, inProgress: undefined, lastDeploy: { version: request.version, result: 'promoted', at: new Date(run.clients.clock.now()).toISOString() } });
    const report = await finishReport(run, 'promoted');
    await setState(run, { ...run.state, lastDeploy: { ...run.state.lastDeploy!, report: report.file } });
    return report;
  } catch (error) {
    if (promoted) throw error;
    throw await rollBackRun(run, error);
  }
}

/** All traffic back to the old color, the new one stopped, the report; returns the error to throw. */
async function rollBackRun(run: DeployRun, error: unknown): Promise<DeployRolledBackError> {
  const { active, idle, clients, recorder } = run;
  const failure = error instanceof GateFailure ? error : new GateFailure(recorder.phases.at(-1)?.name ?? 'start', [(error as Error).message]);
  run.progress.info(`gate failed: ${failure.gate}: ${failure.reasons.join('; ')}; rolling back to ${active}`);
  const back = colorWeights(active, 100);
  await clients.store.writeRoutes(back, false);
  recordShift(run, back, `rollback: ${failure.gate} failed`);
  const { from, to, services } = sidesOf(run);
  await audit(run, rollbackEntry({ from: to, to: from, services }, clients.clock.now() - run.startedAt, true, { failedGate: failure.gate, reasons: failure.reasons }));
  await waitForWeights(clients, back).catch((waitError: Error) => recorder.warn(waitError.message));
  await clients.containers.stop(idle).catch((stopError: Error) => recorder.warn(`stopping ${idle}: ${stopError.message}`));
  await setState(run, { ...run.state, active, weights: back, sticky: false, inProgress: undefined, lastDeploy: { version: run.request.version, result: 'rolled-back', at: new Date(clients.clock.now()).toISOString() } });
  const report = await finishReport(run, 'rolled-back', failure);
  return new DeployRolledBackError(failure.gate, failure.reasons, report.file);
}

/** Requests per color over the whole deploy, the report file, and the summary on stdout. */
async function finishReport(run: DeployRun, result: DeployReport['result'], failure?: GateFailure): Promise<DeployReport> {
  const { clients, request, active, idle } = run;
  // One more scrape, so the last seconds of the deploy are counted.
  await clients.clock.sleep(6000);
  const end = await clients.prometheus.counters().catch(() => run.baseline);
  const perColor = {} as DeployReport['perColor'];
  for (const color of ['blue', 'green'] as const) {
    const f = figuresBetween(run.baseline[color], end[color]);
    perColor[color] = { requests: Math.round(f.requests), errors: f.errors };
  }
  const base = {
    kind: 'deploy' as const,
    version: request.version,
    from: { color: active, version: run.state.colors[active].version },
    to: { color: idle, version: request.version },
    ...(request.images ? { images: imagesOf(request, run.state.colors[idle]) } : {}),
    result,
    ...(failure ? { failedGate: failure.gate, reasons: failure.reasons } : {}),
    startedAt: new Date(run.startedAt).toISOString(),
    totalMs: clients.clock.now() - run.startedAt,
    ...(run.healthyToFullMs !== undefined ? { healthyToFullMs: run.healthyToFullMs } : {}),
    phases: run.recorder.phases,
    traffic: run.traffic,
    perColor,
    warnings: run.recorder.warnings,
  };
  // Before the report is saved: a warning from the audit log belongs in it.
  await audit(run, deployFinishEntry(sidesOf(run), result, base.totalMs, failure?.gate, failure?.reasons));
  const file = await clients.store.saveReport(`deploy-${request.version}`, base);
  const report: DeployReport = { ...base, file };
  run.progress.done();
  process.stdout.write(`${summarize(report)}\n`);
  return report;
}
