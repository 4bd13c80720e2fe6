/**
 * The deploy's phases, each a named function over one explicit `DeployRun` (state, recorder,
 * clients, budgets). `deploy.ts` runs them in order; a phase that fails throws (a `GateFailure`
 * names the gate), and the run is rolled back there.
 */
import type { Color, DeployConfig } from '../../../services/config/schema.js';
import { counterResets, figures, figuresBetween, judgeCanary, type ColorCounters, type ColorFigures, type DeployRequest, type DeployState } from '../../../services/deploy/policy.js';
import { formatDuration, InterruptedError, TimeoutError } from '../../../services/errors.js';
import { colorWeights } from '../../../services/topology/traefik.js';
import type { PhaseRecorder } from '../core/phases.js';
import { done, pending, pollUntil } from '../core/poll.js';
import type { Progress } from '../core/progress.js';
import type { DeployClients } from './clients.js';
import { GateFailure, interrupted } from './gate.js';
import { describeFigures, type TrafficEntry } from './report.js';
import { appServices } from './traefik-api.js';

/** One deploy in flight: what was asked, who does the work, and what has happened so far. */
export interface DeployRun {
  readonly request: DeployRequest;
  readonly active: Color;
  readonly idle: Color;
  readonly budgets: DeployConfig;
  readonly clients: DeployClients;
  readonly recorder: PhaseRecorder;
  readonly progress: Progress;
  /** Aborting (SIGINT/SIGTERM) rolls back like a failed gate. */
  readonly signal?: AbortSignal;
  /** Called once Traefik serves each canary step's weights (drills and tests look at the split). */
  readonly onShift?: (weights: Record<Color, number>, sticky: boolean) => Promise<void>;
  readonly startedAt: number;
  /** The state of record, as last written. */
  state: DeployState;
  readonly traffic: TrafficEntry[];
  /** Both colors' counters when the deploy began (for the report's requests per color). */
  baseline: Record<Color, ColorCounters>;
  healthyAt?: number;
  healthyToFullMs?: number;
}

/** How long a recreated color may take to turn healthy in Docker. */
const COLOR_HEALTHY_MS = 180_000;
/** How long Traefik may take to load written weights, and to see recreated servers UP. */
const WEIGHTS_LOADED_MS = 15_000;
const TRAEFIK_UP_MS = 30_000;

export async function setState(run: DeployRun, next: DeployState): Promise<void> {
  run.state = next;
  await run.clients.store.writeState(next);
}

export const markStep = (run: DeployRun, step: string): Promise<void> => setState(run, { ...run.state, inProgress: { ...run.state.inProgress!, step } });

export function recordShift(run: DeployRun, weights: Record<Color, number>, why: string): void {
  run.traffic.push({ at: new Date(run.clients.clock.now()).toISOString(), weights: { ...weights }, why });
}

/** Throws the gate's interruption when SIGINT/SIGTERM arrived. */
export function checkAbort(run: DeployRun, gate: string): void {
  if (run.signal?.aborted) throw interrupted(gate);
}

/** Wait until Traefik serves the weights we wrote (its API shows the loaded config). */
export async function waitForWeights(clients: DeployClients, weights: Record<Color, number>): Promise<number> {
  const waited = await pollUntil(
    async () => {
      try {
        const loaded = await clients.traefik.loadedWeights();
        if (loaded.blue === weights.blue && loaded.green === weights.green) return done(true);
        return pending(`Traefik serves blue ${loaded.blue ?? '?'}/green ${loaded.green ?? '?'}`);
      } catch (error) {
        return pending(`Traefik's API between reloads: ${(error as Error).message}`); // ask again
      }
    },
    { subject: `traefik weights blue ${weights.blue}/green ${weights.green}`, expectation: "Traefik's API to show the weights written", timeoutMs: WEIGHTS_LOADED_MS, intervalMs: 200, clock: clients.clock },
  );
  return waited.elapsedMs;
}

/** Write the routes and the state, and wait until Traefik serves them. */
async function shift(run: DeployRun, weights: Record<Color, number>, why: string, sticky: boolean): Promise<number> {
  await run.clients.store.writeRoutes(weights, sticky);
  await setState(run, { ...run.state, weights, sticky });
  recordShift(run, weights, why);
  const loadedMs = await waitForWeights(run.clients, weights);
  await run.onShift?.(weights, sticky);
  return loadedMs;
}

/** Until Docker sees every service of `color` healthy. */
export async function waitForColorHealthy(clients: DeployClients, color: Color, progress: Progress): Promise<void> {
  await pollUntil(
    async () => {
      const unhealthy = await clients.containers.unhealthy(color);
      if (unhealthy.length === 0) return done(true);
      progress.step(`${color}: waiting for its health checks`, unhealthy.map((entry) => entry.split(':')[0]).join(', '));
      return pending(unhealthy.join(', '));
    },
    { subject: `the ${color} services`, expectation: 'all healthy in Docker', timeoutMs: COLOR_HEALTHY_MS, intervalMs: 1000, clock: clients.clock },
  );
}

/**
 * 1. The idle color with the new version (its env file is what compose reads). It is
 * recreated, so Traefik must send it nothing first: a killed deploy may have left a split.
 */
export async function startIdle(run: DeployRun): Promise<void> {
  await run.recorder.phase(`start ${run.idle} with ${run.request.version}`, async () => {
    const idleOff = colorWeights(run.active, 100);
    await run.clients.store.writeRoutes(idleOff, false);
    await setState(run, { ...run.state, weights: idleOff, sticky: false });
    await waitForWeights(run.clients, idleOff);
    await run.clients.store.writeColorEnv(run.idle, run.state.colors[run.idle]);
    await run.clients.containers.start(run.idle, true);
    try {
      await waitForColorHealthy(run.clients, run.idle, run.progress);
    } finally {
      // Healthy (or given up on): either way it may serve later, so it gets its full CPU weight.
      await run.clients.containers.fullCpuWeight?.(run.idle);
    }
    run.healthyAt = run.clients.clock.now();
  });
  checkAbort(run, 'start');
}

/** 2. Gates L1–L3: every service's own /health, with its JSON kept for the report. */
export async function gateHealth(run: DeployRun): Promise<void> {
  await markStep(run, 'gates L1-L3');
  await run.recorder.phase(
    'gate L1–L3 (/health of every service)',
    async () => {
      const results = Object.fromEntries(await Promise.all(appServices(run.idle).map(async (service) => [service, await run.clients.containers.health(service)] as const)));
      const failing = Object.entries(results).filter(([, health]) => health.status !== 'pass' && health.status !== 'warn');
      if (failing.length) throw new GateFailure('L1–L3', failing.map(([service, health]) => `${service}: /health ${health.status} ${JSON.stringify(health.checks ?? {})}`));
      return results;
    },
    (results) => Object.fromEntries(Object.entries(results).map(([service, health]) => [service, health.status])),
  );
  checkAbort(run, 'L1–L3');
}

/**
 * Until Traefik's own health checks see every service of `color` UP. Docker's health can
 * turn green before Traefik's next check of a recreated server; until then Traefik answers
 * "no available server" for it.
 */
async function waitForTraefikUp(clients: DeployClients, color: Color): Promise<number> {
  let down: string[] = [];
  try {
    const waited = await pollUntil(
      async () => {
        down = await clients.traefik.downServices(color);
        return down.length === 0 ? done(true) : pending(down.join(', '));
      },
      { subject: `Traefik's view of ${color}`, expectation: 'every server UP', timeoutMs: TRAEFIK_UP_MS, clock: clients.clock },
    );
    return waited.elapsedMs;
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    throw new GateFailure('L4', [`Traefik still sees ${down.join(', ')} as down ${formatDuration(TRAEFIK_UP_MS)} after they became healthy`]);
  }
}

/** 3. Gate L4: user journeys through Traefik, pinned to the idle color. */
export async function gateSmoke(run: DeployRun): Promise<void> {
  await markStep(run, 'gate L4');
  await run.recorder.phase(
    'gate L4 (smoke journeys through Traefik)',
    async () => ({ traefikSawUpAfterMs: await waitForTraefikUp(run.clients, run.idle), journeys: await run.clients.smoke(run.idle, run.request.version) }),
    (result) => result,
  );
  checkAbort(run, 'L4');
}

/** Figures of both colors over a step, and how the canary judged them. */
interface StepWatch {
  readonly candidate: ColorFigures;
  readonly active: ColorFigures;
  readonly resets: number;
}

/**
 * Watch a canary step for `stepSeconds`, reading Prometheus every 5 s; fail fast once there is
 * enough traffic to trust the figures. Returns the last figures.
 */
async function watchStep(run: DeployRun, gate: string, baseline: Record<Color, ColorCounters>): Promise<StepWatch> {
  const { budgets, clients, idle, active } = run;
  const stepMs = budgets.stepSeconds * 1000;
  let last: StepWatch = { candidate: figures(0, 0, NaN), active: figures(0, 0, NaN), resets: 0 };
  const probe = async (elapsed: number) => {
    const now = await clients.prometheus.counters();
    const resets = counterResets(baseline[idle], now[idle]).length + counterResets(baseline[active], now[active]).length;
    last = { candidate: figuresBetween(baseline[idle], now[idle]), active: figuresBetween(baseline[active], now[active]), resets };
    const judged = judgeCanary(last.candidate, last.active, budgets);
    run.progress.step(gate, `${describeFigures(last.candidate)} (active ${describeFigures(last.active)}), ${formatDuration(elapsed)} of ${budgets.stepSeconds}s`);
    if (!judged.pass && last.candidate.requests >= Math.max(1, budgets.minRequests)) throw new GateFailure(gate, judged.failures);
    return elapsed >= stepMs ? done(last) : pending(describeFigures(last.candidate));
  };
  try {
    // The deadline only guards against a Prometheus that stops answering; the step ends itself.
    return (await pollUntil(probe, { subject: gate, expectation: `${budgets.stepSeconds}s of figures from Prometheus`, timeoutMs: stepMs + 60_000, intervalMs: 5000, signal: run.signal, clock: clients.clock })).value;
  } catch (error) {
    if (error instanceof InterruptedError) throw interrupted(gate);
    throw error;
  }
}

/** 4. One canary step: the new color gets `percent` %, judged by Prometheus on Traefik's metrics. */
export async function canaryStep(run: DeployRun, percent: number): Promise<void> {
  const gate = `canary ${percent} %`;
  await markStep(run, gate);
  await run.recorder.phase(
    gate,
    async () => {
      const loadMs = await shift(run, colorWeights(run.idle, percent), gate, run.budgets.stickySessions);
      const watched = await watchStep(run, gate, await run.clients.prometheus.counters());
      const judged = judgeCanary(watched.candidate, watched.active, run.budgets);
      for (const warning of judged.warnings) run.recorder.warn(`${gate}: ${warning}`);
      if (watched.resets > 0) run.recorder.warn(`${gate}: ${watched.resets} counter series went down during the step (a restarted Traefik): counted from their reset, like increase()`);
      if (!judged.pass) throw new GateFailure(gate, judged.failures);
      run.progress.info(`${gate}: ${describeFigures(watched.candidate)} within budgets (error rate ≤ ${run.budgets.errorRatePercent} %, p95 ≤ ${run.budgets.p95Ms} ms); active ${describeFigures(watched.active)}`);
      return { loadMs, candidate: watched.candidate, active: watched.active };
    },
    (result) => result,
  );
}

/** 4'. The last step: all traffic to the new color, which becomes the active one. */
export async function switchToFull(run: DeployRun): Promise<void> {
  await markStep(run, 'canary 100 %');
  await run.recorder.phase('switch to 100 %', async () => shift(run, colorWeights(run.idle, 100), `canary passed: ${run.request.version} takes all traffic`, false));
  run.healthyToFullMs = run.clients.clock.now() - (run.healthyAt ?? run.startedAt);
  await setState(run, { ...run.state, active: run.idle });
}

/**
 * 5. Drain the old color (its in-flight requests, twice zero in a row), then stop it or keep
 * it warm. Promoted by now: a problem here is a warning; rolling back onto a drained color
 * would be an outage.
 */
export async function drainOld(run: DeployRun): Promise<void> {
  const { active, budgets, clients, recorder } = run;
  await markStep(run, 'drain');
  await recorder
    .phase(
      `drain ${active}`,
      async () => {
        let zeroes = 0;
        let remaining = 0;
        const drained = await pollUntil(
          async () => {
            remaining = await clients.containers.inFlight(active);
            zeroes = remaining === 0 ? zeroes + 1 : 0;
            return zeroes >= 2 ? done(true) : pending(`${remaining} requests in flight`);
          },
          { subject: `drain ${active}`, expectation: 'no request in flight twice in a row', timeoutMs: budgets.drainSeconds * 1000, clock: clients.clock },
        ).catch((error: unknown) => {
          if (!(error instanceof TimeoutError)) throw error;
          recorder.warn(`drain timed out after ${budgets.drainSeconds}s with ${remaining} requests in flight on ${active}`);
          return undefined;
        });
        if (!budgets.keepWarm) await clients.containers.stop(active).catch((error: Error) => recorder.warn(`stopping ${active}: ${error.message}`));
        return { inFlightAtEnd: drained ? 0 : remaining, keptWarm: budgets.keepWarm };
      },
      (result) => result,
    )
    .catch((error: Error) => recorder.warn(`drain: ${error.message}`));
}
