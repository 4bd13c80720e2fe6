/**
 * Blue/green deploys and rollbacks on a running stack. A deploy starts the idle color with the
 * new version, passes the gates (L1–L3 health of every service, L4 smoke journeys through
 * Traefik pinned to the idle color), then moves traffic 5 % → 25 % → 100 % while Prometheus
 * (Traefik's service metrics) judges the new color, drains the old one, and writes a report.
 * Any failed gate sends all traffic back to the old color and stops the new one.
 */
import { request as httpsRequest, Agent } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { APP_SERVICES } from '../../services/config/profiles.js';
import type { Color, ParityConfig } from '../../services/config/schema.js';
import {
  CANARY_STEPS,
  colorCounterQueries,
  figures,
  figuresBetween,
  judgeCanary,
  otherColor,
  validateDeployRequest,
  type ColorCounters,
  type ColorFigures,
  type DeployRequest,
  type DeployState,
} from '../../services/deploy/policy.js';
import { DeployInputError, DeployRolledBackError, formatDuration } from '../../services/errors.js';
import { catalogRef } from '../../services/images/catalog.js';
import { COLOR_HEADER } from '../../services/contracts/index.js';
import { profileServices } from '../../services/config/profiles.js';
import { acquireDeployLock, currentDeployState, writeColorEnv, writeDeployState, writeRoutes } from './deploy-state.js';
import { tryRun } from './exec.js';
import type { Progress } from './progress.js';
import { compose, listContainers, tryCompose, type ComposeTarget } from './stack.js';
import { writeFileAtomic } from './state.js';

/** Where the stack answers on this host (published ports, discovered from compose). */
export interface Endpoints {
  readonly https: string;
  readonly traefikApi: string;
  readonly prometheus: string;
}

export interface DeployOptions {
  readonly target: ComposeTarget;
  readonly config: ParityConfig;
  readonly progress: Progress;
  /** Aborting (SIGINT/SIGTERM) rolls back like a failed gate. */
  readonly signal?: AbortSignal;
  /** Called once Traefik serves each canary step's weights (drills and tests look at the split). */
  readonly onShift?: (weights: Record<Color, number>, sticky: boolean) => Promise<void>;
}

interface Phase {
  name: string;
  startedAt: string;
  ms: number;
  ok: boolean;
  details?: unknown;
}

export interface DeployReport {
  readonly kind: 'deploy';
  readonly version: string;
  readonly from: { readonly color: Color; readonly version: string };
  readonly to: { readonly color: Color; readonly version: string };
  readonly result: 'promoted' | 'rolled-back';
  readonly failedGate?: string;
  readonly reasons?: readonly string[];
  readonly startedAt: string;
  readonly totalMs: number;
  /** From the new color being healthy to it having 100 % of the traffic. */
  readonly healthyToFullMs?: number;
  readonly phases: readonly Phase[];
  /** Traffic share of each color over time. */
  readonly traffic: readonly { readonly at: string; readonly weights: Record<Color, number>; readonly why: string }[];
  /** Requests and 5xx per color during the deploy (Traefik, via Prometheus). */
  readonly perColor: Record<Color, { requests: number; errors: number }>;
  readonly warnings: readonly string[];
  readonly file: string;
}

export interface RollbackReport {
  readonly kind: 'rollback';
  readonly from: { readonly color: Color; readonly version: string };
  readonly to: { readonly color: Color; readonly version: string };
  /** From writing the routes to the first moment only the restored color answered. */
  readonly effectiveAfterMs: number;
  readonly startedColorMs?: number;
  readonly file: string;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

const appServices = (color: Color) => APP_SERVICES.map((app) => `${app}-${color}`);

/** Published host ports of Traefik and Prometheus, as compose maps them. */
export async function discoverEndpoints(target: ComposeTarget): Promise<Endpoints> {
  const port = async (service: string, containerPort: number) => {
    const out = (await compose(target, ['port', service, String(containerPort)])).trim().split('\n')[0] ?? '';
    const hostPort = out.split(':').at(-1);
    if (!hostPort) throw new DeployInputError([`${service}: no published port for ${containerPort} (is the stack up? make up)`]);
    return Number(hostPort);
  };
  return {
    https: `https://localhost:${await port('traefik', 443)}`,
    traefikApi: `http://127.0.0.1:${await port('traefik', 8080)}`,
    prometheus: `http://127.0.0.1:${await port('prometheus', 9090)}`,
  };
}

interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A small HTTPS/HTTP client: the stack's own CA, no connection reuse (each request is routed afresh). */
export function createClient(caFile: string) {
  let agent: Agent | undefined;
  return async (url: string, options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<HttpResult> => {
    agent ??= new Agent({ ca: await readFile(caFile), keepAlive: false });
    const secure = url.startsWith('https:');
    return new Promise((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(
        url,
        { method: options.method ?? 'GET', headers: options.headers ?? {}, ...(secure ? { agent } : {}), timeout: options.timeoutMs ?? 10_000 },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
        },
      );
      request.on('timeout', () => request.destroy(new Error(`${url}: no answer in ${options.timeoutMs ?? 10_000} ms`)));
      request.on('error', reject);
      request.end(options.body);
    });
  };
}

/** An instant vector, keyed by one label (`code`, `le`). */
async function queryByLabel(endpoints: Endpoints, query: string, label: string, atMs?: number): Promise<Record<string, number>> {
  const time = atMs === undefined ? '' : `&time=${(atMs / 1000).toFixed(3)}`;
  const response = await fetch(`${endpoints.prometheus}/api/v1/query?query=${encodeURIComponent(query)}${time}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`Prometheus query failed (${body.error ?? response.status}): ${query}`);
  return Object.fromEntries((body.data?.result ?? []).map((entry) => [entry.metric[label] ?? '', Number(entry.value[1])]));
}

/** A color's counters as Prometheus last scraped them (or as of `atMs`). */
async function colorCounters(endpoints: Endpoints, color: Color, atMs?: number): Promise<ColorCounters> {
  const q = colorCounterQueries(color);
  const [byCode, byBucket] = await Promise.all([queryByLabel(endpoints, q.byCode, 'code', atMs), queryByLabel(endpoints, q.byBucket, 'le', atMs)]);
  return { byCode, byBucket };
}

/** Both colors' counters now, for a baseline. */
async function bothCounters(endpoints: Endpoints): Promise<Record<Color, ColorCounters>> {
  const [blue, green] = await Promise.all([colorCounters(endpoints, 'blue'), colorCounters(endpoints, 'green')]);
  return { blue, green };
}

/** Wait until Traefik serves the weights we wrote (its API shows the loaded config). */
async function waitForWeights(endpoints: Endpoints, weights: Record<Color, number>, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      const response = await fetch(`${endpoints.traefikApi}/api/http/services/frontend@file`);
      const service = (await response.json()) as { weighted?: { services?: { name: string; weight: number }[] } };
      const loaded = Object.fromEntries((service.weighted?.services ?? []).map((entry) => [entry.name.replace(/^frontend-|@file$/g, ''), entry.weight]));
      if (loaded.blue === weights.blue && loaded.green === weights.green) return Date.now() - started;
    } catch {
      // Traefik's API between reloads; ask again.
    }
    if (Date.now() - started > timeoutMs) throw new Error(`Traefik did not load weights ${JSON.stringify(weights)} within ${formatDuration(timeoutMs)}`);
    await sleep(200);
  }
}

/**
 * Wait until Traefik's own health checks see every service of `color` UP. Docker's health can
 * turn green before Traefik's next check of a recreated server; until then Traefik answers
 * "no available server" for it.
 */
async function waitForTraefikUp(endpoints: Endpoints, color: Color, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const down: string[] = [];
    for (const service of appServices(color)) {
      try {
        const response = await fetch(`${endpoints.traefikApi}/api/http/services/${service}@file`);
        const info = (await response.json()) as { serverStatus?: Record<string, string> };
        const statuses = Object.values(info.serverStatus ?? {});
        if (statuses.length === 0 || statuses.some((status) => status !== 'UP')) down.push(service);
      } catch {
        down.push(service);
      }
    }
    if (down.length === 0) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new GateFailure('L4', [`Traefik still sees ${down.join(', ')} as down ${formatDuration(timeoutMs)} after they became healthy`]);
    await sleep(500);
  }
}

async function waitForColorHealthy(target: ComposeTarget, color: Color, timeoutMs: number, progress: Progress): Promise<void> {
  const wanted = appServices(color);
  const started = Date.now();
  for (;;) {
    const containers = await listContainers(target);
    const states = wanted.map((name) => containers.find((c) => c.service === name));
    const unhealthy = wanted.filter((_, index) => states[index]?.health !== 'healthy');
    if (unhealthy.length === 0) return;
    progress.step(`${color}: waiting for ${unhealthy.join(', ')} (${formatDuration(Date.now() - started)})`);
    if (Date.now() - started > timeoutMs) throw new Error(`${unhealthy.join(', ')} not healthy after ${formatDuration(timeoutMs)} (${unhealthy.map((name) => `${name}: ${states[wanted.indexOf(name)]?.health ?? 'absent'}`).join(', ')})`);
    await sleep(1000);
  }
}

/** GET a path of a stub from inside its container (its port isn't published). */
function fetchInside(target: ComposeTarget, service: string, path: string) {
  return tryCompose(target, ['exec', '-T', service, 'node', '-e', `fetch('http://127.0.0.1:3000${path}').then(r => r.text()).then(t => process.stdout.write(t))`]);
}

/** `/health` of a container, from inside it (the L1–L3 JSON, for the gate and the report). */
async function containerHealth(target: ComposeTarget, service: string): Promise<{ status: string; checks?: unknown }> {
  const result = await fetchInside(target, service, '/health');
  try {
    return JSON.parse(result.stdout) as { status: string; checks?: unknown };
  } catch {
    return { status: `unreadable (${result.stderr.trim() || result.stdout.trim() || `exit ${result.code}`})` };
  }
}

/** Requests being served by a color right now (each container's in-flight gauge). */
async function inFlight(target: ComposeTarget, color: Color): Promise<number> {
  const counts = await Promise.all(
    appServices(color).map(async (service) => {
      const match = /^http_requests_in_flight(?:\{[^}]*\})? (\d+)/m.exec((await fetchInside(target, service, '/metrics')).stdout);
      return match ? Number(match[1]) : 0;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Check the request before anything changes. */
async function validateRequest(request: DeployRequest, config: ParityConfig): Promise<void> {
  const problems = validateDeployRequest(request);
  if (!profileServices(config).has('prometheus')) problems.push('profile: the canary is judged with Prometheus, which runs in the full profile (profile: full in parity.yaml)');
  const image = request.image ?? catalogRef('stubs');
  if (problems.length === 0) {
    const inspect = await tryRun(['docker', 'image', 'inspect', '--format', '{{.Id}}', image]);
    if (inspect.code !== 0) problems.push(`IMAGE: "${image}" is not in the engine (build it: make images IMAGES=stubs, or docker load it)`);
  }
  if (problems.length) throw new DeployInputError(problems);
}

function createRecorder(progress: Progress) {
  const phases: Phase[] = [];
  const traffic: DeployReport['traffic'][number][] = [];
  const warnings: string[] = [];
  return {
    phases,
    traffic,
    warnings,
    async phase<T>(name: string, work: () => Promise<T>, details?: (result: T) => unknown): Promise<T> {
      const started = Date.now();
      progress.step(name);
      try {
        const result = await work();
        phases.push({ name, startedAt: new Date(started).toISOString(), ms: Date.now() - started, ok: true, ...(details ? { details: details(result) } : {}) });
        progress.info(`${name}: ok (${formatDuration(Date.now() - started)})`);
        return result;
      } catch (error) {
        phases.push({ name, startedAt: new Date(started).toISOString(), ms: Date.now() - started, ok: false, details: (error as Error).message });
        throw error;
      }
    },
    shift(weights: Record<Color, number>, why: string) {
      traffic.push({ at: new Date().toISOString(), weights: { ...weights }, why });
    },
    warn(message: string) {
      warnings.push(message);
      progress.info(`warning: ${message}`);
    },
  };
}

/** A gate that failed: carries its name and the figures that failed it. */
class GateFailure extends Error {
  constructor(
    readonly gate: string,
    readonly reasons: readonly string[],
  ) {
    super(`${gate}: ${reasons.join('; ')}`);
  }
}

async function saveReport(target: ComposeTarget, name: string, report: object): Promise<string> {
  const file = join(target.stateDir, 'deploy', 'reports', `${new Date().toISOString().replace(/[:.]/g, '-')}-${name}.json`);
  await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/** If the last deploy was killed, put all traffic back on the color that was active before it. */
async function recoverInterrupted(state: DeployState, options: DeployOptions): Promise<DeployState> {
  if (!state.inProgress) return state;
  const { target, progress } = options;
  const interrupted = state.inProgress;
  progress.info(
    `a deploy of ${interrupted.version} to ${interrupted.color} (pid ${interrupted.pid}, started ${interrupted.startedAt}) was interrupted at "${interrupted.step}"; traffic was ${JSON.stringify(state.weights)}. Restoring 100 % to ${state.active}.`,
  );
  const recovered: DeployState = {
    ...state,
    weights: { [state.active]: 100, [otherColor(state.active)]: 0 } as Record<Color, number>,
    sticky: false,
    inProgress: undefined,
    lastDeploy: { version: interrupted.version, result: 'interrupted', at: new Date().toISOString() },
  };
  await writeRoutes(target.stateDir, recovered);
  await writeDeployState(target.stateDir, recovered);
  return recovered;
}

/** `make deploy VERSION=x`. Resolves with the report when the new version has all the traffic. */
export async function deploy(request: DeployRequest, options: DeployOptions): Promise<DeployReport> {
  const { target, config, progress } = options;
  await validateRequest(request, config);
  const release = await acquireDeployLock(target.stateDir, `deploy ${request.version}`, (stale) =>
    progress.info(`taking over a stale deploy lock: "${stale.command}" (pid ${stale.pid}, started ${stale.startedAt}) is no longer running`),
  );
  try {
    return await runDeploy(request, options);
  } finally {
    await release();
  }
}

async function runDeploy(request: DeployRequest, options: DeployOptions): Promise<DeployReport> {
  const { target, config, progress, signal } = options;
  const startedAt = new Date();
  const recorder = createRecorder(progress);
  let state = await recoverInterrupted(await currentDeployState(target.stateDir, config.activeColor), options);
  const active = state.active;
  const idle = otherColor(active);
  const budgets = config.deploy;
  const endpoints = await discoverEndpoints(target);
  const http = createClient(join(target.stateDir, 'ca', 'parity-ca.pem'));
  const deployBaseline = await bothCounters(endpoints);
  let healthyAt = 0;
  let healthyToFullMs: number | undefined;
  const setState = async (next: DeployState) => {
    state = next;
    await writeDeployState(target.stateDir, state);
  };
  const shift = async (weights: Record<Color, number>, why: string, sticky: boolean) => {
    await writeRoutes(target.stateDir, { weights, sticky });
    await setState({ ...state, weights, sticky });
    recorder.shift(weights, why);
    const loadedMs = await waitForWeights(endpoints, weights);
    await options.onShift?.(weights, sticky);
    return loadedMs;
  };
  const checkAbort = (gate: string) => {
    if (signal?.aborted) throw new GateFailure(gate, ['interrupted (SIGINT/SIGTERM): rolling back']);
  };

  let promoted = false;
  progress.info(`deploying ${request.version} to ${idle} (active: ${active} ${state.colors[active].version})`);
  try {
    await setState({
      ...state,
      colors: { ...state.colors, [idle]: { version: request.version, ...(request.image ? { image: request.image } : {}), ...(request.fault ? { fault: request.fault } : {}), deployedAt: startedAt.toISOString() } },
      inProgress: { version: request.version, color: idle, pid: process.pid, step: 'start', startedAt: startedAt.toISOString() },
    });
    const markStep = (step: string) => setState({ ...state, inProgress: { ...state.inProgress!, step } });

    // 1. The idle color with the new version (its env file is what compose reads). It is
    // recreated, so Traefik must send it nothing first: a killed deploy may have left a split.
    await recorder.phase(`start ${idle} with ${request.version}`, async () => {
      const idleOff = { [active]: 100, [idle]: 0 } as Record<Color, number>;
      await writeRoutes(target.stateDir, { weights: idleOff, sticky: false });
      await setState({ ...state, weights: idleOff, sticky: false });
      await waitForWeights(endpoints, idleOff);
      await writeColorEnv(target.stateDir, idle, state.colors[idle]);
      await compose(target, ['up', '-d', '--no-deps', '--force-recreate', ...appServices(idle)]);
      await waitForColorHealthy(target, idle, 180_000, progress);
      healthyAt = Date.now();
    });
    checkAbort('start');

    // 2. Gates L1–L3: every service's own /health, with its JSON kept for the report.
    await markStep('gates L1-L3');
    await recorder.phase('gate L1–L3 (/health of every service)', async () => {
      const results = Object.fromEntries(await Promise.all(appServices(idle).map(async (service) => [service, await containerHealth(target, service)] as const)));
      const failing = Object.entries(results).filter(([, health]) => health.status !== 'pass' && health.status !== 'warn');
      if (failing.length) throw new GateFailure('L1–L3', failing.map(([service, health]) => `${service}: /health ${health.status} ${JSON.stringify(health.checks ?? {})}`));
      return results;
    }, (results) => Object.fromEntries(Object.entries(results).map(([service, health]) => [service, health.status])));
    checkAbort('L1–L3');

    // 3. Gate L4: user journeys through Traefik, pinned to the idle color.
    await markStep('gate L4');
    await recorder.phase(
      'gate L4 (smoke journeys through Traefik)',
      async () => ({ traefikSawUpAfterMs: await waitForTraefikUp(endpoints, idle), journeys: await runSmoke(http, endpoints, idle, request.version) }),
      (result) => result,
    );
    checkAbort('L4');

    // 4. Canary: 5 % → 25 % → 100 %, judged by Prometheus on Traefik's metrics.
    for (const percent of CANARY_STEPS) {
      const weights = { [idle]: percent, [active]: 100 - percent } as Record<Color, number>;
      await markStep(`canary ${percent} %`);
      if (percent === 100) {
        await recorder.phase('switch to 100 %', async () => shift(weights, `canary passed: ${request.version} takes all traffic`, false));
        healthyToFullMs = Date.now() - healthyAt;
        await setState({ ...state, active: idle });
        promoted = true;
        break;
      }
      await recorder.phase(`canary ${percent} %`, async () => {
        const loadMs = await shift(weights, `canary ${percent} %`, budgets.stickySessions);
        const stepStart = Date.now();
        const baseline = await bothCounters(endpoints);
        let last = { candidate: figures(0, 0, NaN), active: figures(0, 0, NaN) };
        while (Date.now() - stepStart < budgets.stepSeconds * 1000) {
          await sleep(5000, signal);
          checkAbort(`canary ${percent} %`);
          const now = await bothCounters(endpoints);
          last = { candidate: figuresBetween(baseline[idle], now[idle]), active: figuresBetween(baseline[active], now[active]) };
          const judged = judgeCanary(last.candidate, last.active, budgets);
          progress.step(`canary ${percent} %: ${describe(last.candidate)} (active ${describe(last.active)}), ${formatDuration(Date.now() - stepStart)} of ${budgets.stepSeconds}s`);
          // Fail fast once there is enough traffic to trust the figures.
          if (!judged.pass && last.candidate.requests >= Math.max(1, budgets.minRequests)) throw new GateFailure(`canary ${percent} %`, judged.failures);
        }
        const judged = judgeCanary(last.candidate, last.active, budgets);
        for (const warning of judged.warnings) recorder.warn(`canary ${percent} %: ${warning}`);
        if (!judged.pass) throw new GateFailure(`canary ${percent} %`, judged.failures);
        progress.info(`canary ${percent} %: ${describe(last.candidate)} within budgets (error rate ≤ ${budgets.errorRatePercent} %, p95 ≤ ${budgets.p95Ms} ms); active ${describe(last.active)}`);
        return { loadMs, ...last };
      }, (result) => result);
    }

    // 5. Drain the old color, then stop it or keep it warm.
    await markStep('drain');
    // Promoted: from here on a problem is a warning; rolling back onto a drained color would be an outage.
    await recorder.phase(`drain ${active}`, async () => {
      const deadline = Date.now() + budgets.drainSeconds * 1000;
      let zeroes = 0;
      let remaining = 0;
      while (Date.now() < deadline && zeroes < 2) {
        remaining = await inFlight(target, active);
        zeroes = remaining === 0 ? zeroes + 1 : 0;
        if (zeroes < 2) await sleep(500);
      }
      if (zeroes < 2) recorder.warn(`drain timed out after ${budgets.drainSeconds}s with ${remaining} requests in flight on ${active}`);
      if (!budgets.keepWarm) await compose(target, ['stop', ...appServices(active)]).catch((error: Error) => recorder.warn(`stopping ${active}: ${error.message}`));
      return { inFlightAtEnd: zeroes >= 2 ? 0 : remaining, keptWarm: budgets.keepWarm };
    }, (result) => result).catch((error: Error) => recorder.warn(`drain: ${error.message}`));

    await setState({ ...state, inProgress: undefined, lastDeploy: { version: request.version, result: 'promoted', at: new Date().toISOString() } });
    const report = await finishReport('promoted');
    await setState({ ...state, lastDeploy: { ...state.lastDeploy!, report: report.file } });
    return report;
  } catch (error) {
    if (promoted) throw error;
    const failure = error instanceof GateFailure ? error : new GateFailure(recorder.phases.at(-1)?.name ?? 'start', [(error as Error).message]);
    progress.info(`gate failed: ${failure.gate}: ${failure.reasons.join('; ')}; rolling back to ${active}`);
    const back = { [active]: 100, [idle]: 0 } as Record<Color, number>;
    await writeRoutes(target.stateDir, { weights: back, sticky: false });
    recorder.shift(back, `rollback: ${failure.gate} failed`);
    await waitForWeights(endpoints, back).catch((waitError: Error) => recorder.warn(waitError.message));
    await compose(target, ['stop', ...appServices(idle)]).catch((stopError: Error) => recorder.warn(`stopping ${idle}: ${stopError.message}`));
    await setState({ ...state, active, weights: back, sticky: false, inProgress: undefined, lastDeploy: { version: request.version, result: 'rolled-back', at: new Date().toISOString() } });
    const report = await finishReport('rolled-back', failure);
    throw new DeployRolledBackError(failure.gate, failure.reasons, report.file);
  }

  async function finishReport(result: 'promoted' | 'rolled-back', failure?: GateFailure): Promise<DeployReport> {
    const perColor = {} as DeployReport['perColor'];
    // One more scrape, so the last seconds of the deploy are counted.
    await sleep(6000);
    const end = await bothCounters(endpoints).catch(() => deployBaseline);
    for (const color of ['blue', 'green'] as const) {
      const f = figuresBetween(deployBaseline[color], end[color]);
      perColor[color] = { requests: Math.round(f.requests), errors: f.errors };
    }
    const base = {
      kind: 'deploy' as const,
      version: request.version,
      from: { color: active, version: state.colors[active].version },
      to: { color: idle, version: request.version },
      result,
      ...(failure ? { failedGate: failure.gate, reasons: failure.reasons } : {}),
      startedAt: startedAt.toISOString(),
      totalMs: Date.now() - startedAt.getTime(),
      ...(healthyToFullMs !== undefined ? { healthyToFullMs } : {}),
      phases: recorder.phases,
      traffic: recorder.traffic,
      perColor,
      warnings: recorder.warnings,
    };
    const file = await saveReport(target, `deploy-${request.version}`, base);
    const report: DeployReport = { ...base, file };
    progress.done();
    process.stdout.write(`${summarize(report)}\n`);
    return report;
  }
}

const describe = (f: ColorFigures) =>
  f.requests > 0 ? `${(f.errorRate * 100).toFixed(2)} % errors, p95 ${Number.isNaN(f.p95Ms) ? 'n/a' : `${f.p95Ms.toFixed(0)} ms`} over ${Math.round(f.requests)} requests` : 'no requests yet';

export function summarize(report: DeployReport): string {
  const lines = [
    `deploy ${report.version}: ${report.result === 'promoted' ? `PROMOTED — ${report.to.color} serves 100 %` : `ROLLED BACK at ${report.failedGate} — ${report.from.color} serves 100 %`} (${formatDuration(report.totalMs)})`,
    ...(report.reasons ?? []).map((reason) => `  why: ${reason}`),
    '  phases:',
    ...report.phases.map((phase) => `    ${phase.ok ? 'ok  ' : 'FAIL'} ${phase.name.padEnd(42)} ${formatDuration(phase.ms)}`),
    '  traffic:',
    ...report.traffic.map((entry) => `    ${entry.at.slice(11, 19)}  blue ${String(entry.weights.blue).padStart(3)} %  green ${String(entry.weights.green).padStart(3)} %  (${entry.why})`),
    `  requests during the deploy (Traefik): ${(['blue', 'green'] as const).map((color) => `${color} ${report.perColor[color].requests} (${report.perColor[color].errors} 5xx)`).join(', ')}`,
    ...(report.healthyToFullMs !== undefined ? [`  healthy → 100 %: ${formatDuration(report.healthyToFullMs)}`] : []),
    ...report.warnings.map((warning) => `  warning: ${warning}`),
    `  report: ${report.file}`,
  ];
  return lines.join('\n');
}

/** Gate L4: register + log in, chat, list events, read an article, load the home page — pinned to `color`. */
async function runSmoke(http: ReturnType<typeof createClient>, endpoints: Endpoints, color: Color, version: string) {
  const journeys: Record<string, { status: number; attempts: number }> = {};
  const pinned = { [COLOR_HEADER]: color };
  const attempt = async (name: string, send: () => Promise<HttpResult>, expectPinned = true): Promise<HttpResult> => {
    let last: HttpResult | undefined;
    let lastError: unknown;
    // Up to 3 tries: the gate proves the journeys work; error rates are the canary's job.
    for (let tries = 1; tries <= 3; tries += 1) {
      if (tries > 1) await sleep(500 * tries);
      try {
        last = await send();
        const okStatus = last.status >= 200 && last.status < 300;
        const okColor = !expectPinned || (last.headers['x-parity-color'] === color && last.headers['x-parity-version'] === version);
        if (okStatus && okColor) {
          journeys[name] = { status: last.status, attempts: tries };
          return last;
        }
      } catch (error) {
        lastError = error;
      }
    }
    throw new GateFailure('L4', [`${name}: ${last ? `HTTP ${last.status}, color ${String(last.headers['x-parity-color'])}, version ${String(last.headers['x-parity-version'])}: ${last.body.slice(0, 200)}` : String(lastError)}`]);
  };
  const json = { 'content-type': 'application/json' };
  const email = `smoke-${Date.now()}@parity.localhost`;
  await attempt('register', () => http(`${endpoints.https}/auth/register`, { method: 'POST', headers: json, body: JSON.stringify({ email, password: 'smoke-test-password' }) }), false);
  const login = await attempt('log in', () => http(`${endpoints.https}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ email, password: 'smoke-test-password' }) }), false);
  const token = (JSON.parse(login.body) as { accessToken: string }).accessToken;
  const auth = { ...pinned, authorization: `Bearer ${token}` };
  await attempt('post a chat', () => http(`${endpoints.https}/api/chat`, { method: 'POST', headers: { ...json, ...auth }, body: JSON.stringify({ message: 'Where are the community events?' }) }));
  await attempt('list events', () => http(`${endpoints.https}/api/events`, { headers: pinned }));
  const articles = await attempt('list articles', () => http(`${endpoints.https}/api/articles`, { headers: pinned }));
  const first = (JSON.parse(articles.body) as { articles: { id: string }[] }).articles[0];
  if (first) await attempt('read an article', () => http(`${endpoints.https}/api/articles/${first.id}`, { headers: pinned }));
  await attempt('home page', () => http(`${endpoints.https}/`, { headers: pinned }));
  return journeys;
}

/** `make rollback`: all traffic back to the other color at once (started first if it was stopped). */
export async function rollback(options: DeployOptions): Promise<RollbackReport> {
  const { target, config, progress } = options;
  const release = await acquireDeployLock(target.stateDir, 'rollback', (stale) => progress.info(`taking over a stale deploy lock (pid ${stale.pid}, "${stale.command}")`));
  try {
    let state = await currentDeployState(target.stateDir, config.activeColor);
    if (state.inProgress) state = await recoverInterrupted(state, options);
    const from = state.active;
    const to = otherColor(from);
    if (state.lastDeploy?.result === 'rolled-back' && state.lastDeploy.version === state.colors[to].version) {
      throw new DeployInputError([
        `${to} runs ${state.colors[to].version}, whose deploy was rolled back: there is no good previous version to return to (${from} ${state.colors[from].version} keeps serving)`,
      ]);
    }
    const endpoints = await discoverEndpoints(target);
    const http = createClient(join(target.stateDir, 'ca', 'parity-ca.pem'));
    let startedColorMs: number | undefined;
    const containers = await listContainers(target);
    if (appServices(to).some((name) => containers.find((c) => c.service === name)?.health !== 'healthy')) {
      const started = Date.now();
      progress.info(`${to} is not running warm: starting it first`);
      await compose(target, ['up', '-d', '--no-deps', ...appServices(to)]);
      await waitForColorHealthy(target, to, 180_000, progress);
      startedColorMs = Date.now() - started;
    }
    const weights = { [to]: 100, [from]: 0 } as Record<Color, number>;
    const switched = Date.now();
    await writeRoutes(target.stateDir, { weights, sticky: false });
    await writeDeployState(target.stateDir, { ...state, active: to, weights, sticky: false, lastDeploy: { version: state.colors[to].version, result: 'promoted', at: new Date().toISOString() } });
    // In effect when only the restored color answers: 20 unpinned requests in a row.
    let streak = 0;
    let effectiveAt = 0;
    while (streak < 20) {
      const response = await http(`${endpoints.https}/api/events`).catch(() => undefined);
      if (response?.headers['x-parity-color'] === to) {
        if (streak === 0) effectiveAt = Date.now();
        streak += 1;
      } else {
        streak = 0;
      }
      if (Date.now() - switched > 30_000) throw new Error(`rollback: Traefik still routes to ${from} 30 s after the switch`);
    }
    const base = {
      kind: 'rollback' as const,
      from: { color: from, version: state.colors[from].version },
      to: { color: to, version: state.colors[to].version },
      effectiveAfterMs: effectiveAt - switched,
      ...(startedColorMs !== undefined ? { startedColorMs } : {}),
    };
    const file = await saveReport(target, 'rollback', base);
    progress.done();
    process.stdout.write(
      `rollback: ${to} (${base.to.version}) serves 100 % again; only ${to} answered ${formatDuration(base.effectiveAfterMs)} after the switch` +
        `${startedColorMs !== undefined ? ` (starting ${to} took ${formatDuration(startedColorMs)} first)` : ''}\n  report: ${file}\n`,
    );
    return { ...base, file };
  } finally {
    await release();
  }
}

