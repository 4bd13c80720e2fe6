/**
 * `make chaos`: a declared fault (Toxiproxy) while users keep working, judged against what the
 * scenario promises. Phases: preflight (nothing changes if it fails) → fixtures → load and a 3 s
 * baseline → fault → breakers open → hold → fault removed → breakers closed → 3 s of load → report.
 * Whatever happens (a budget, an error, Ctrl-C or SIGTERM), every toxic the drill added is removed
 * and every proxy it disabled is enabled again, and the report says so. The same runner serves
 * `make chaos`, `make bench-chaos` and the integration tests.
 */
import { allClosedAt, allOpenAt, breakerBands, chaosFigures, describeToxic, edgeTransitions, toxicsFor, transitionPath, type Transition } from '../../../../services/drills/chaos.js';
import type { DrillFindings, Sample } from '../../../../services/drills/model.js';
import { APP_ROUTES, EDGE_APIS } from '../../../../services/topology/traefik.js';
import { systemClock } from '../../core/poll.js';
import { addToxic, faultyProxies, listProxies, removeToxic, setProxyEnabled } from '../../clients/toxiproxy.js';
import { checkAborted, startDrillRun, undoAll } from '../lifecycle.js';
import { mark, waitUntil } from '../moments.js';
import { concludeDrill, type ConcludedDrill } from '../report.js';
import { removeChaosArticles } from '../writer.js';

import { validateChaosScenario, preflight, createFixtures, startLoad, stopBackground, type ChaosOptions, type ChaosRun as Run } from './chaos-run.js';

export { BACKGROUND_PATHS, toxiproxyApi, validateChaosScenario, type ChaosOptions } from './chaos-run.js';

/** How long every breaker must have stayed closed before the drill calls it recovered. */
const STABLE_CLOSED_MS = 2000;

/** The timeline's row for the fault itself, above the breakers' rows. */
const FAULT_ROW = 'strip:fault (Toxiproxy)';

async function applyFault(run: Run, label: string): Promise<void> {
  const api = run.toxiproxy;
  for (const proxy of run.proxies) {
    if (run.scenario.toxic.type === 'down') {
      run.undo.push({ what: `proxy ${proxy} enabled again`, run: () => setProxyEnabled(api, proxy, true) });
      await setProxyEnabled(api, proxy, false);
      continue;
    }
    for (const toxic of toxicsFor(run.scenario.toxic, `chaos-${label}`)) {
      run.undo.push({ what: `toxic ${toxic.name} removed from ${proxy}`, run: () => removeToxic(api, proxy, toxic.name) });
      await addToxic(api, proxy, toxic);
    }
  }
}

/** Undo everything registered, newest first (quiet: a flap's off-phase); what could not be undone is said, and the rest still runs. */
const removeFault = (run: Run, quiet = false): Promise<void> =>
  undoAll(run, {
    quiet,
    // A toxic that is already gone (a flap's off-phase) is fine; anything else is reported.
    failed: (what, error) => (/HTTP 404/.test(error.message) ? undefined : `WARNING: could not undo "${what}": ${error.message} (make chaos-reset removes every fault)`),
  });

const transitionsOf = (run: Run): Transition[] =>
  [...(run.watch?.transitions() ?? []), ...edgeTransitions(run.samples, Object.fromEntries(EDGE_APIS.map((api) => [api, APP_ROUTES[api]])))].sort((a, b) => a.atMs - b.atMs);

/** The fault for the scenario's duration: once, or on/off cycles for a flapping one. */
async function holdFault(run: Run): Promise<void> {
  const { scenario, options } = run;
  const endAt = run.now() + scenario.durationSeconds * 1000;
  run.faultAtMs = run.now();
  await applyFault(run, run.options.scenario);
  mark(run, 'fault injected', run.faultAtMs, `${describeToxic(scenario.toxic)} on ${run.proxies.join(', ')}`);
  // Watched beside the fault, never holding it up: the fault lasts its duration, open or not.
  let holding = true;
  const openAt = () => allOpenAt({ scenario, transitions: transitionsOf(run), faultAtMs: run.faultAtMs! });
  const openedIn = waitUntil(run, 'the expected breakers open', () => openAt() !== undefined || !holding, scenario.durationSeconds * 1000 + 1000, 100).then(() => {
    if (scenario.expect.breakers.length) mark(run, 'expected breakers OPEN', openAt(), scenario.expect.breakers.join(', '));
  }, () => undefined); // interrupted: the fault's own wait says so
  if (scenario.flap) {
    let on = true;
    let phaseStart = run.faultAtMs;
    while (run.now() < endAt) {
      const phaseEnd = Math.min(endAt, phaseStart + (on ? scenario.flap.downSeconds : scenario.flap.upSeconds) * 1000);
      await systemClock.sleep(Math.max(0, phaseEnd - run.now()), options.signal);
      // Timers wake a little early or late: never start a new on-phase in the last moment.
      if (run.now() >= endAt - 100) break;
      if (on) {
        run.bands.push({ lane: FAULT_ROW, label: 'fault on', fromMs: phaseStart, toMs: run.now(), tone: 'info' });
        await removeFault(run, true);
      } else await applyFault(run, run.options.scenario);
      on = !on;
      phaseStart = run.now();
    }
    if (on) run.bands.push({ lane: FAULT_ROW, label: 'fault on', fromMs: phaseStart, toMs: run.now(), tone: 'info' });
  } else {
    await systemClock.sleep(Math.max(0, endAt - run.now()), options.signal);
    run.bands.push({ lane: FAULT_ROW, label: 'fault', fromMs: run.faultAtMs, toMs: run.now(), tone: 'info' });
  }
  holding = false;
  await openedIn;
}

async function recover(run: Run): Promise<void> {
  await removeFault(run);
  run.removedAtMs = run.now();
  mark(run, 'fault removed', run.removedAtMs);
  const budgetMs = run.options.config.drills.chaos.recoverSeconds * 1000;
  // Closed and staying closed for 2 s: the edge's state is read from answers, and a breaker that is
  // still recovering lets some through before it trips again.
  const closedFor = (ms: number) => {
    const at = allClosedAt({ transitions: transitionsOf(run), removedAtMs: run.removedAtMs });
    return at !== undefined && run.now() - at >= ms;
  };
  const closed = await waitUntil(run, 'every breaker closed again', () => closedFor(STABLE_CLOSED_MS), budgetMs + 5000, 100);
  mark(run, 'every breaker CLOSED', closed ? allClosedAt({ transitions: transitionsOf(run), removedAtMs: run.removedAtMs }) : undefined);
}

/** What the chaos drill says in its report (its users load the API lane only); the envelope (concludeDrill) adds the rest. */
function findings(run: Run, durationMs: number): DrillFindings {
  const { scenario, options } = run;
  const { breakers } = options.config;
  const transitions = transitionsOf(run);
  return {
    drill: 'chaos',
    scenario: options.scenario,
    description: scenario.description || `${describeToxic(scenario.toxic)} on ${scenario.target}`,
    figures:
      run.faultAtMs === undefined
        ? []
        : chaosFigures({ scenario, samples: run.samples, transitions, faultAtMs: run.faultAtMs, ...(run.removedAtMs !== undefined ? { removedAtMs: run.removedAtMs } : {}), endMs: durationMs }, options.config.drills.chaos),
    bands: [...run.bands, ...breakerBands(transitions, durationMs)],
    lanes: ['api'],
    notes: [
      `fault: ${describeToxic(scenario.toxic)} on ${run.proxies.join(', ')} for ${scenario.durationSeconds} s${scenario.flap ? ` (down ${scenario.flap.downSeconds} s / up ${scenario.flap.upSeconds} s)` : ''}; active color ${run.color}`,
      `breakers: app reset ${breakers.app.resetSeconds} s; edge ${breakers.edge.enabled ? `"${breakers.edge.expression}", open ${breakers.edge.fallbackSeconds} s + recovery ${breakers.edge.recoverySeconds} s` : 'off'}`,
      ...[...new Set(transitions.map((t) => t.breaker))].map((breaker) => `transitions ${breaker}: ${transitionPath(transitions, breaker)}`),
      ...answerSummary(run.samples),
      ...failureSummary(run.samples),
    ],
  };
}

/** What users got per path while the drill ran: `answers /api/resources: 200 ×40, 503 edge-ivor ×160`. */
function answerSummary(samples: readonly Sample[]): string[] {
  const routes = new Map<string, Map<string, number>>();
  for (const sample of samples) {
    const kind = `${sample.status ?? 'no answer'}${sample.outcome === 'fallback' ? ` ${sample.detail}` : ''}`;
    const counts = routes.get(sample.route ?? '?') ?? routes.set(sample.route ?? '?', new Map()).get(sample.route ?? '?')!;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...routes].map(([route, counts]) => `answers ${route}: ${[...counts].map(([kind, count]) => `${kind} ×${count}`).join(', ')}`);
}

/** What the failed answers were, grouped: `failed: 24 × HTTP 502 on /api/resources (+4.1 s … +7.2 s)`. */
function failureSummary(samples: readonly Sample[]): string[] {
  const groups = new Map<string, Sample[]>();
  for (const sample of samples.filter((s) => s.outcome === 'failed')) {
    const key = `${sample.detail ?? 'failed'} on ${sample.route ?? '?'}`;
    groups.set(key, [...(groups.get(key) ?? []), sample]);
  }
  return [...groups].map(([key, group]) => `failed: ${group.length} × ${key} (+${(group[0]!.atMs / 1000).toFixed(1)} s … +${(group.at(-1)!.atMs / 1000).toFixed(1)} s)`);
}

/** Run one chaos scenario; resolves with the report, throws `DrillBudgetError` (exit 1) when the promise isn't kept. */
export async function runChaosDrill(options: ChaosOptions): Promise<ConcludedDrill> {
  const scenario = validateChaosScenario(options.config, options.scenario);
  const run: Run = {
    ...startDrillRun(options, { name: `chaos drill ${options.scenario}`, tag: 'chaos', scenario: options.scenario }),
    scenario,
    bands: [],
    toxiproxy: '',
    proxies: [],
    color: options.config.activeColor,
    loadPaths: [],
  };
  options.progress.info(`${run.name}: ${scenario.description}`);
  const { phase } = run.recorder;
  await phase('preflight (Toxiproxy clean, stack answering)', () => preflight(run));
  let failure: Error | undefined;
  try {
    await phase('fixtures', () => createFixtures(run));
    await phase('load and a 3 s baseline', async () => {
      await startLoad(run);
      await systemClock.sleep(3000, options.signal);
    });
    checkAborted(run, 'baseline');
    await phase(`fault for ${scenario.durationSeconds} s`, () => holdFault(run));
    checkAborted(run, 'fault');
    await phase('fault removed, breakers closing', () => recover(run));
    checkAborted(run, 'recovery');
    await systemClock.sleep(3000, options.signal);
    checkAborted(run, 'the last 3 s of load');
  } catch (error) {
    failure = error as Error;
  } finally {
    await removeFault(run);
    if (run.removedAtMs === undefined && run.faultAtMs !== undefined) run.removedAtMs = run.now();
    await Promise.all([run.api?.stop(), run.watch?.stop(), stopBackground(run)]);
    const left = await listProxies(run.toxiproxy).catch(() => undefined);
    const dirty = left ? faultyProxies(left) : [];
    run.restored.push(left === undefined ? 'WARNING: could not read Toxiproxy back; run make chaos-reset' : dirty.length ? `WARNING: faults still present on ${dirty.map((p) => p.name).join(', ')}; run make chaos-reset` : 'Toxiproxy clean: no toxic left, every proxy enabled');
  }
  if (run.articleSlug && run.writer) {
    await removeChaosArticles(run.writer, run.articleSlug).then(
      () => run.restored.push(`the drill's article ${run.articleSlug} removed`),
      (error: Error) => run.notes.push(`could not remove the drill's article ${run.articleSlug}: ${error.message}`),
    );
  }
  return concludeDrill(run, failure, (durationMs) => findings(run, durationMs));
}
