/**
 * `make drill-failover`: a fault on the Patroni cluster while users keep working. Named phases over
 * one run object: preflight → load → baseline → fault → failover → API healthy → restore and rejoin
 * → verify → report. The same runner serves the make target, `make bench-failover` and the
 * integration test.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParityConfig } from '../../../services/config/schema.js';
import { bucketize, drillResult, judgeFigures, type DrillReport, type Marker, type Sample } from '../../../services/drills/model.js';
import { FAILOVER_SCENARIOS, failoverFigures, SCENARIOS, type FailoverScenario } from '../../../services/drills/failover.js';
import { DrillBudgetError, DrillError, DrillInputError, formatDuration } from '../../../services/errors.js';
import { ADMIN_EMAIL } from '../../../services/topology/apps.js';
import { DATABASE } from '../../../services/topology/common.js';
import { patroniNodes } from '../../../services/topology/patroni.js';
import type { Progress } from '../progress.js';
import { compose, httpsEndpoint, patroniRest, type ComposeTarget } from '../stack.js';
import { startApiLoad, type StartedApiLoad } from './api-load.js';
import { injectFault, type InjectedFault, type Undo } from './faults.js';
import { createClient } from '../http.js';
import { clusterHealthy, isReplicating, readCluster, type ClusterView, type RestEndpoints } from '../patroni.js';
import { containerOf, localWritable } from './docker.js';
import { saveDrillReport } from './report.js';
import { ensureWriterTable, findLostWrites, removeWriterRows, startWriter, type StartedWriter, type WriterTarget } from './writer.js';
import { watchCluster, type ClusterWatch } from './watch.js';

export interface FailoverOptions {
  readonly target: ComposeTarget;
  readonly config: ParityConfig;
  readonly scenario: string;
  readonly progress: Progress;
  /** Ctrl-C / SIGTERM: the drill stops, puts back what it changed, and reports. */
  readonly signal?: AbortSignal;
  /** Writes per second through postgres-writer. @default 20 */
  readonly writesPerSecond?: number;
  /** API reads and writes per second through Traefik. @default 10 and 2 */
  readonly apiReadsPerSecond?: number;
  readonly apiWritesPerSecond?: number;
}

export interface FailoverResult {
  readonly report: DrillReport;
  readonly dir: string;
}

/** Everything one drill run knows; each phase reads and fills it. */
interface Run {
  readonly options: FailoverOptions;
  readonly scenario: FailoverScenario;
  readonly startedAt: Date;
  readonly now: () => number;
  readonly samples: Sample[];
  readonly apiWriteTimes: Set<number>;
  readonly markers: Marker[];
  readonly undo: Undo[];
  readonly restored: string[];
  readonly notes: string[];
  readonly tag: string;
  nodes: string[];
  rest: RestEndpoints;
  writerTarget?: WriterTarget;
  before?: ClusterView;
  watch?: ClusterWatch;
  writer?: StartedWriter;
  api?: StartedApiLoad;
  fault?: InjectedFault & { readonly atMs: number };
  electedAtMs?: number;
  rejoinMs?: number;
  overlapMs?: number;
  ackedWritesLost: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** Poll `probe` every `intervalMs` until it returns true; false after `timeoutMs` or on abort. */
async function waitUntil(probe: () => Promise<boolean> | boolean, timeoutMs: number, signal?: AbortSignal, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal?.aborted) {
    if (await probe()) return true;
    await sleep(intervalMs, signal);
  }
  return false;
}

const mark = (run: Run, name: string, atMs?: number, detail?: string) => {
  run.markers.push({ name, ...(atMs !== undefined ? { atMs } : {}), ...(detail ? { detail } : {}) });
  run.options.progress.info(`${atMs === undefined ? '   never' : `+${(atMs / 1000).toFixed(2)}s`.padStart(8)}  ${name}${detail ? ` (${detail})` : ''}`);
};

function checkAborted(run: Run, phase: string): void {
  if (run.options.signal?.aborted) throw new DrillError(`interrupted (SIGINT/SIGTERM) during "${phase}"`);
}

async function preflight(run: Run): Promise<void> {
  const { target, config } = run.options;
  if (config.postgres.ha !== 'patroni') {
    throw new DrillInputError(`the failover drill needs the Patroni cluster (postgres.ha: patroni in parity.yaml; profile "${config.profile}" runs postgres.ha: ${config.postgres.ha})`);
  }
  run.nodes = patroniNodes(config);
  run.rest = await patroniRest(target, config);
  const view = Object.keys(run.rest).length ? await readCluster(run.rest, 2000) : undefined;
  if (!clusterHealthy(view, run.nodes)) {
    throw new DrillInputError(
      `the Patroni cluster of project ${target.project} is not up and healthy (${view ? `members: ${view.members.map((m) => `${m.name} ${m.role} ${m.state}`).join(', ')}` : 'no node answered'}); start it with make up and wait for make status to show one leader and replicating replicas`,
    );
  }
  run.before = view;
  const port = (await compose(target, ['port', 'postgres-writer', '5432'])).trim().split(':').at(-1);
  const password = (await readFile(join(target.stateDir, 'secrets', 'postgres_password'), 'utf8')).trim();
  run.writerTarget = { host: '127.0.0.1', port: Number(port), user: DATABASE.user, password, database: DATABASE.name };
}

async function startLoads(run: Run): Promise<void> {
  const { target, progress } = run.options;
  await ensureWriterTable(run.writerTarget!);
  const https = await httpsEndpoint(target);
  const http = createClient(join(target.stateDir, 'ca', 'parity-ca.pem'));
  const adminPassword = (await readFile(join(target.stateDir, 'secrets', 'admin_password'), 'utf8')).trim();
  const login = await http(`${https}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ADMIN_EMAIL, password: adminPassword }) });
  const token = login.status === 200 ? (JSON.parse(login.body) as { accessToken: string }).accessToken : undefined;
  if (!token) run.notes.push(`no API writes: logging in as ${ADMIN_EMAIL} answered HTTP ${login.status}`);
  run.watch = watchCluster(run.rest, run.before!, run.now);
  run.writer = startWriter({ target: run.writerTarget!, ratePerSecond: run.options.writesPerSecond ?? 20, run: run.tag, now: run.now, onSample: (s) => run.samples.push(s) });
  run.api = startApiLoad({
    http,
    base: https,
    readsPerSecond: run.options.apiReadsPerSecond ?? 10,
    writesPerSecond: run.options.apiWritesPerSecond ?? 2,
    ...(token ? { token } : {}),
    writeTag: run.tag,
    now: run.now,
    onSample: ({ kind, ...sample }) => {
      run.samples.push(sample);
      if (kind === 'write') run.apiWriteTimes.add(sample.atMs);
    },
  });
  progress.info(`load: ${run.options.writesPerSecond ?? 20} writes/s through postgres-writer, API ${run.options.apiReadsPerSecond ?? 10} reads/s + ${token ? (run.options.apiWritesPerSecond ?? 2) : 0} writes/s through Traefik`);
}

async function fault(run: Run): Promise<void> {
  const { target } = run.options;
  const atMs = run.now();
  const injected = await injectFault(run.scenario, target, run.watch!.latest() ?? run.before!, run.nodes, run.rest);
  run.fault = { ...injected, atMs };
  if (injected.undo) run.undo.push(injected.undo);
  mark(run, 'fault injected', atMs, `${run.scenario} on ${injected.victim}`);
}

/** Until the scenario's expected state: a new leader that takes writes, or (no failover expected) a quiet observation window. */
async function awaitFailover(run: Run): Promise<void> {
  const { config, signal, target } = run.options;
  const spec = SCENARIOS[run.scenario];
  const { ttl, loopWait } = config.postgres.patroni;
  const faultAt = run.fault!.atMs;
  if (spec.leaderChanges === 0) {
    // Long enough for a wrongly expired lease to show: two ttls and a loop.
    await sleep((2 * ttl + loopWait + 2) * 1000, signal);
    return;
  }
  let partitionWatch: Promise<void> | undefined;
  let readOnlyAt: number | undefined;
  if (run.scenario === 'partition-primary') {
    const id = await containerOf(target, run.fault!.victim);
    partitionWatch = waitUntil(async () => (await localWritable(id, DATABASE.user, DATABASE.name)) === false, 60_000, signal, 100).then((ok) => {
      if (ok) readOnlyAt = run.now();
    });
  }
  const timeoutMs = Math.max(60_000, (ttl * 3 + loopWait * 2) * 1000);
  const lost = await waitUntil(() => run.watch!.changes.length > 0, timeoutMs, signal, 100);
  mark(run, 'leader lost detected', lost ? run.watch!.changes[0]!.atMs : undefined);
  const elected = await waitUntil(() => run.watch!.elections().length > 0, timeoutMs, signal, 100);
  const election = run.watch!.elections()[0];
  run.electedAtMs = election?.atMs;
  mark(run, 'new leader elected', elected ? election!.atMs : undefined, election?.to);
  await waitUntil(() => run.samples.some((s) => s.lane === 'write' && s.outcome === 'ok' && s.atMs > faultAt && s.atMs >= (lastFailure(run.samples, 'write', faultAt) ?? 0)), timeoutMs, signal, 100);
  const first = run.samples.filter((s) => s.lane === 'write' && s.outcome === 'ok' && s.atMs >= (lastFailure(run.samples, 'write', faultAt) ?? faultAt)).sort((a, b) => a.atMs - b.atMs)[0];
  mark(run, 'first acked write', first ? first.atMs + first.latencyMs : undefined);
  if (partitionWatch) {
    await partitionWatch;
    mark(run, 'cut-off leader is read-only', readOnlyAt);
    run.overlapMs = readOnlyAt === undefined ? undefined : Math.max(0, readOnlyAt - (run.electedAtMs ?? Number.POSITIVE_INFINITY));
    if (readOnlyAt === undefined) run.notes.push('the cut-off leader never became read-only within 60 s');
  }
}

const lastFailure = (samples: readonly Sample[], lane: Sample['lane'], after: number): number | undefined =>
  samples.filter((s) => s.lane === lane && s.outcome === 'failed' && s.atMs >= after).reduce<number | undefined>((latest, s) => Math.max(latest ?? 0, s.atMs), undefined);

async function awaitApiHealthy(run: Run): Promise<void> {
  const { config, signal } = run.options;
  const faultAt = run.fault!.atMs;
  // Healthy: 3 s without a failed API answer, with at least one API write (when writes run) in it.
  const healthy = await waitUntil(() => {
    const now = run.now();
    const recent = run.samples.filter((s) => s.lane === 'api' && s.atMs >= now - 3000 && s.atMs >= faultAt);
    const writes = run.apiWriteTimes.size === 0 || recent.some((s) => run.apiWriteTimes.has(s.atMs) && s.outcome === 'ok');
    return now - faultAt >= 3000 && recent.length > 0 && recent.every((s) => s.outcome !== 'failed') && writes;
  }, config.drills.failover.apiRecoverySeconds * 2000 + 10_000, signal);
  const apiFailure = lastFailure(run.samples, 'api', faultAt);
  mark(run, 'API reads and writes healthy', healthy ? Math.max(faultAt, apiFailure ?? faultAt) : undefined);
}

/** Put back what the fault changed (the undo stack), then wait until the victim is back in the cluster. */
async function restoreAndRejoin(run: Run): Promise<void> {
  const { config } = run.options;
  const victim = run.fault!.victim;
  const restartedAt = run.now();
  await undoAll(run);
  if (run.restored.length) mark(run, 'fault removed', restartedAt, run.restored.join('; '));
  if (!run.nodes.includes(victim)) return;
  const rejoined = await waitUntil(() => isReplicating(run.watch!.latest()?.members.find((m) => m.name === victim)), config.drills.failover.rejoinSeconds * 2000 + 30_000, run.options.signal, 250);
  const at = rejoined ? run.now() : undefined;
  if (at !== undefined) run.rejoinMs = at - (run.scenario === 'switchover' ? run.fault!.atMs : restartedAt);
  mark(run, `${victim} rejoined as replica`, at);
}

async function undoAll(run: Run): Promise<void> {
  while (run.undo.length) {
    const step = run.undo.pop()!;
    try {
      await step.run();
      run.restored.push(step.what);
    } catch (error) {
      run.restored.push(`FAILED to put back: ${step.what}: ${(error as Error).message}`);
    }
  }
}

async function stopLoads(run: Run): Promise<void> {
  await Promise.all([run.writer?.stop(), run.api?.stop(), run.watch?.stop()]);
}

async function verify(run: Run): Promise<void> {
  if (!run.writer || !run.writerTarget) return;
  const lost = await findLostWrites(run.writerTarget, run.tag, run.writer.acked);
  run.ackedWritesLost = lost.length;
  if (lost.length) run.notes.push(`acknowledged writes missing afterwards: ${lost.slice(0, 20).join(', ')}${lost.length > 20 ? ' …' : ''}`);
  await removeWriterRows(run.writerTarget, run.tag);
}

function buildReport(run: Run, error?: Error): DrillReport {
  const durationMs = run.now();
  const figures = judgeFigures(
    run.fault
      ? failoverFigures(
          {
            scenario: run.scenario,
            faultAtMs: run.fault.atMs,
            samples: run.samples,
            apiWriteTimes: run.apiWriteTimes,
            leaderChanges: run.watch?.elections() ?? [],
            ackedWritesLost: run.ackedWritesLost,
            ...(run.rejoinMs !== undefined ? { rejoinMs: run.rejoinMs } : {}),
            ...(run.overlapMs !== undefined ? { overlapMs: run.overlapMs } : {}),
          },
          run.options.config.drills.failover,
        )
      : [],
  );
  return {
    kind: 'drill',
    drill: 'failover',
    scenario: run.scenario,
    description: SCENARIOS[run.scenario].description,
    startedAt: run.startedAt.toISOString(),
    durationMs,
    markers: run.markers,
    bands: run.electedAtMs !== undefined && run.fault ? [{ lane: 'write', label: 'no leader', fromMs: run.fault.atMs, toMs: run.electedAtMs, tone: 'bad' }] : [],
    figures,
    timeline: { api: bucketize(run.samples, 'api', durationMs), write: bucketize(run.samples, 'write', durationMs) },
    restored: run.restored,
    result: drillResult(figures, error?.message),
    ...(error ? { error: error.message } : {}),
    notes: [
      `timings: ttl ${run.options.config.postgres.patroni.ttl} s, loop_wait ${run.options.config.postgres.patroni.loopWait} s, retry_timeout ${run.options.config.postgres.patroni.retryTimeout} s; synchronous_mode ${run.options.config.postgres.synchronous}`,
      ...run.notes,
    ],
  };
}

/** Put the cluster back (whatever happened) and wait, bounded, until it is healthy again. */
async function leaveHealthy(run: Run): Promise<void> {
  await undoAll(run);
  if (!run.before) return;
  const healthy = await waitUntil(async () => clusterHealthy(await readCluster(run.rest), run.nodes), 90_000, undefined, 500);
  run.restored.push(healthy ? 'cluster healthy: one leader, every replica replicating' : 'WARNING: the cluster was not healthy 90 s after the drill; see make status');
}

export function validateScenario(scenario: string): FailoverScenario {
  if ((FAILOVER_SCENARIOS as readonly string[]).includes(scenario)) return scenario as FailoverScenario;
  throw new DrillInputError(`unknown failover scenario "${scenario}"; expected one of: ${FAILOVER_SCENARIOS.join(', ')}`);
}

/** Run one failover drill; resolves with the report, throws `DrillBudgetError` (exit 1) when a budget is exceeded. */
export async function runFailoverDrill(options: FailoverOptions): Promise<FailoverResult> {
  const scenario = validateScenario(options.scenario);
  const startedAt = new Date();
  const origin = performance.now();
  const run: Run = {
    options,
    scenario,
    startedAt,
    now: () => performance.now() - origin,
    samples: [],
    apiWriteTimes: new Set(),
    markers: [],
    undo: [],
    restored: [],
    notes: [],
    tag: `drill-${startedAt.toISOString()}-${scenario}`,
    nodes: [],
    rest: {},
    ackedWritesLost: 0,
  };
  options.progress.info(`failover drill ${scenario}: ${SCENARIOS[scenario].description}`);
  await preflight(run);
  let failure: Error | undefined;
  try {
    await startLoads(run);
    await sleep(3000, options.signal);
    checkAborted(run, 'baseline');
    await fault(run);
    await awaitFailover(run);
    checkAborted(run, 'failover');
    await awaitApiHealthy(run);
    checkAborted(run, 'API healthy');
    await restoreAndRejoin(run);
    checkAborted(run, 'rejoin');
    await sleep(2000, options.signal);
  } catch (error) {
    failure = error as Error;
  } finally {
    await stopLoads(run);
    await leaveHealthy(run);
  }
  if (!failure) await verify(run).catch((error: Error) => run.notes.push(`could not verify the writes: ${error.message}`));
  const report = buildReport(run, failure);
  const saved = await saveDrillReport(options.target.stateDir, report);
  options.progress.done();
  process.stdout.write(`${saved.summary}\n`);
  if (failure) throw failure instanceof DrillError || failure instanceof DrillInputError ? failure : new DrillError(`${failure.message} (after ${formatDuration(run.now())}; report: ${saved.dir})`);
  if (report.result === 'fail') throw new DrillBudgetError(report.figures.filter((f) => !f.pass).map((f) => f.reason), saved.dir);
  return { report, dir: saved.dir };
}
