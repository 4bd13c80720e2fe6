/**
 * The chaos drill, pure: how a declared scenario becomes Toxiproxy toxics, how breaker transitions
 * seen between two polls are put in order, and the figures (fault → OPEN, users' p95 while open,
 * failures after open, fallbacks seen, fault removed → CLOSED) judged against the scenario's
 * promise and `drills.chaos`.
 */
import type { ChaosScenario, DrillsConfig, ToxicConfig } from '../config/schema.js';
import type { Band, Figure, Sample } from './model.js';

/** A toxic as Toxiproxy's API takes it (`down` is not a toxic: the proxy is disabled instead). */
export interface ToxicSpec {
  readonly name: string;
  readonly type: string;
  readonly stream: 'upstream' | 'downstream';
  readonly toxicity: number;
  readonly attributes: Readonly<Record<string, number>>;
}

/** The toxics for a scenario's fault on one proxy; `[]` for `down` (disable the proxy). */
export function toxicsFor(toxic: ToxicConfig, name: string): ToxicSpec[] {
  const one = (type: string, stream: ToxicSpec['stream'], attributes: Record<string, number>): ToxicSpec => ({ name: `${name}-${type}-${stream}`, type, stream, toxicity: 1, attributes });
  switch (toxic.type) {
    case 'down':
      return [];
    case 'latency':
      return [one('latency', 'downstream', { latency: toxic.latencyMs ?? 0, jitter: toxic.jitterMs ?? 0 })];
    case 'timeout':
      // Both ways: nothing reaches the server and nothing comes back, like a dropped route.
      return [one('timeout', 'upstream', { timeout: toxic.timeoutMs ?? 0 }), one('timeout', 'downstream', { timeout: toxic.timeoutMs ?? 0 })];
    case 'bandwidth':
      return [one('bandwidth', 'downstream', { rate: toxic.rateKbps ?? 1 })];
    case 'slicer':
      return [one('slicer', 'downstream', { average_size: toxic.sliceBytes ?? 1, size_variation: Math.floor((toxic.sliceBytes ?? 1) / 2), delay: toxic.sliceDelayUs ?? 0 })];
    case 'reset_peer':
      return [one('reset_peer', 'downstream', { timeout: toxic.timeoutMs ?? 0 })];
  }
}

/** The fault in a few words, for the report (`latency 2000 ms`, `down`). */
export function describeToxic(toxic: ToxicConfig): string {
  switch (toxic.type) {
    case 'latency':
      return `latency ${toxic.latencyMs} ms${toxic.jitterMs ? ` ± ${toxic.jitterMs} ms` : ''}`;
    case 'timeout':
      return toxic.timeoutMs ? `timeout: connections closed after ${toxic.timeoutMs} ms` : 'timeout: connections hang (no data either way)';
    case 'bandwidth':
      return `bandwidth ${toxic.rateKbps} KB/s`;
    case 'slicer':
      return `slicer ${toxic.sliceBytes} B slices`;
    case 'reset_peer':
      return `reset_peer after ${toxic.timeoutMs ?? 0} ms`;
    case 'down':
      return 'down (proxy disabled: connections refused, open ones cut)';
  }
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** A breaker changing state, at the poll that saw it (ms since the drill started). */
export interface Transition {
  /** `<service>:<breaker>` or `edge:<api>`. */
  readonly breaker: string;
  readonly to: BreakerState;
  readonly atMs: number;
}

/** Events counted since the last poll (opossum's open / half-open / close, and the probe's close). */
export interface EventDeltas {
  readonly open: number;
  readonly halfOpen: number;
  readonly close: number;
}

/**
 * The transitions between two polls, in the only order a breaker can make them (closed → open →
 * half-open → open or closed), from the counts of each event: a HALF-OPEN that lasted a few
 * milliseconds is still seen.
 */
export function orderTransitions(from: BreakerState, deltas: EventDeltas): BreakerState[] {
  let { open, halfOpen, close } = deltas;
  const steps: BreakerState[] = [];
  let state = from;
  for (let guard = 0; guard < 1000 && open + halfOpen + close > 0; guard += 1) {
    if (state === 'closed' && open > 0) {
      state = 'open';
      open -= 1;
    } else if (state === 'open' && halfOpen > 0) {
      state = 'half-open';
      halfOpen -= 1;
    } else if (state === 'half-open' && open > 0) {
      // A failed trial before a good one: a breaker can only end closed by its last event.
      state = 'open';
      open -= 1;
    } else if (state !== 'closed' && close > 0) {
      state = 'closed';
      close -= 1;
    } else break;
    steps.push(state);
  }
  return steps;
}

/** `closed → open → half-open → closed` for one breaker. */
export function transitionPath(transitions: readonly Transition[], breaker: string): string {
  return ['closed', ...transitions.filter((t) => t.breaker === breaker).map((t) => t.to)].join(' → ');
}

/** Bands for the picture: each breaker's open and half-open spans. */
export function breakerBands(transitions: readonly Transition[], endMs: number): Band[] {
  const bands: Band[] = [];
  const breakers = [...new Set(transitions.map((t) => t.breaker))];
  for (const breaker of breakers) {
    const own = transitions.filter((t) => t.breaker === breaker);
    own.forEach((t, index) => {
      if (t.to === 'closed') return;
      const until = own[index + 1]?.atMs ?? endMs;
      bands.push({ lane: `strip:${breaker}`, label: t.to.toUpperCase(), fromMs: t.atMs, toMs: Math.max(until, t.atMs + 50), tone: t.to === 'open' ? 'bad' : 'warn' });
    });
  }
  return bands;
}

export interface ChaosObservations {
  readonly scenario: ChaosScenario;
  readonly samples: readonly Sample[];
  readonly transitions: readonly Transition[];
  readonly faultAtMs: number;
  /** When the fault was removed (undefined: the drill stopped before). */
  readonly removedAtMs?: number;
  /** Until when users were measured after recovery. */
  readonly endMs: number;
}

const percentile = (values: readonly number[], p: number): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

/** When every expected breaker had opened (undefined: one never did). */
export function allOpenAt(observed: Pick<ChaosObservations, 'scenario' | 'transitions' | 'faultAtMs'>): number | undefined {
  const times = observed.scenario.expect.breakers.map((breaker) => observed.transitions.find((t) => t.breaker === breaker && t.to === 'open' && t.atMs >= observed.faultAtMs)?.atMs);
  return times.some((time) => time === undefined) ? undefined : Math.max(observed.faultAtMs, ...(times as number[]));
}

/** When every breaker that opened was closed again after the fault's removal (undefined: one never closed). */
export function allClosedAt(observed: Pick<ChaosObservations, 'transitions' | 'removedAtMs'>): number | undefined {
  if (observed.removedAtMs === undefined) return undefined;
  let latest = observed.removedAtMs;
  for (const breaker of new Set(observed.transitions.map((t) => t.breaker))) {
    const last = observed.transitions.filter((t) => t.breaker === breaker).at(-1)!;
    if (last.to !== 'closed') return undefined;
    latest = Math.max(latest, last.atMs);
  }
  return latest;
}

/** The fallback markers users saw (a page can carry several: `events,ivor`). */
export function markersSeen(samples: readonly Sample[], fromMs: number, toMs: number): Set<string> {
  return new Set(samples.filter((s) => s.outcome === 'fallback' && s.atMs >= fromMs && s.atMs <= toMs).flatMap((s) => (s.detail ?? '').split(',').map((m) => m.trim()).filter(Boolean)));
}

/** The drill's figures with their budgets. */
export function chaosFigures(observed: ChaosObservations, budgets: DrillsConfig['chaos']): Figure[] {
  const { scenario, samples, faultAtMs, removedAtMs } = observed;
  const api = samples.filter((s) => s.lane === 'api');
  const openAt = allOpenAt(observed);
  const faultEnd = removedAtMs ?? observed.endMs;
  const whileOpen = openAt === undefined ? [] : api.filter((s) => s.atMs >= openAt && s.atMs < faultEnd);
  const closedAt = allClosedAt(observed);
  const seen = markersSeen(api, faultAtMs, faultEnd + 1000);
  const missing = scenario.expect.fallbacks.filter((marker) => !seen.has(marker));
  const afterRecovery = closedAt === undefined ? [] : api.filter((s) => s.atMs >= closedAt + 500);
  const expectsBreakers = scenario.expect.breakers.length > 0;
  const before = api.filter((s) => s.atMs < faultAtMs);
  return [
    { name: "users' p95 before the fault", value: percentile(before.map((s) => s.latencyMs), 95), unit: 'ms', how: `${before.length} requests of the baseline, for comparison` },
    { name: 'fault → breakers OPEN', value: openAt === undefined ? null : Math.round(openAt - faultAtMs), unit: 'ms', budget: budgets.openSeconds * 1000, required: expectsBreakers, how: scenario.expect.breakers.join(', ') || 'none expected' },
    { name: "users' p95 while OPEN", value: percentile(whileOpen.map((s) => s.latencyMs), 95), unit: 'ms', budget: scenario.expect.p95Ms, required: expectsBreakers, how: `${whileOpen.length} requests between all breakers open and the fault's removal` },
    { name: 'failed (no fallback) after OPEN', value: openAt === undefined ? null : whileOpen.filter((s) => s.outcome === 'failed').length, unit: 'count', budget: budgets.failedAfterOpen, required: expectsBreakers, how: 'non-2xx without X-Parity-Fallback, or no answer' },
    { name: 'failed before OPEN', value: api.filter((s) => s.outcome === 'failed' && s.atMs >= faultAtMs && (openAt === undefined || s.atMs < openAt)).length, unit: 'count', how: 'while the breakers were still deciding' },
    { name: 'expected fallbacks not seen', value: missing.length, unit: 'count', budget: 0, how: missing.length ? `never saw: ${missing.join(', ')}; saw: ${[...seen].join(', ') || 'none'}` : `saw: ${[...seen].join(', ') || 'none'}` },
    { name: 'fault removed → all CLOSED', value: closedAt === undefined || removedAtMs === undefined ? null : Math.round(closedAt - removedAtMs), unit: 'ms', budget: budgets.recoverSeconds * 1000, required: observed.transitions.length > 0, how: 'every breaker that opened is closed again, no manual step' },
    { name: 'not ok after recovery', value: closedAt === undefined ? null : afterRecovery.filter((s) => s.outcome !== 'ok').length, unit: 'count', budget: 0, required: observed.transitions.length > 0, how: `${afterRecovery.length} requests from 0.5 s after the last breaker closed` },
  ];
}

/**
 * An edge breaker's transitions as users saw them: Traefik exports no breaker state, but an open
 * one answers 503 with the edge fallback (`edge-<api>`) without asking the API. Open at the first
 * such answer, closed at the first other answer after the last one.
 */
export function edgeTransitions(samples: readonly Sample[], routes: Readonly<Record<string, readonly string[]>>): Transition[] {
  const transitions: Transition[] = [];
  for (const [api, prefixes] of Object.entries(routes)) {
    const mine = samples
      .filter((s) => s.lane === 'api' && s.route !== undefined && prefixes.some((prefix) => s.route === prefix || s.route!.startsWith(`${prefix}/`)))
      .map((s) => ({ ...s, doneMs: s.atMs + s.latencyMs }))
      .sort((a, b) => a.doneMs - b.doneMs);
    const tripped = (s: Sample) => s.status === 503 && (s.detail ?? '').split(',').includes(`edge-${api}`);
    const first = mine.find(tripped);
    if (!first) continue;
    const lastIndex = mine.map(tripped).lastIndexOf(true);
    transitions.push({ breaker: `edge:${api}`, to: 'open', atMs: first.doneMs });
    const after = mine.slice(lastIndex + 1).find((s) => !tripped(s));
    if (after) transitions.push({ breaker: `edge:${api}`, to: 'closed', atMs: after.doneMs });
  }
  return transitions;
}
