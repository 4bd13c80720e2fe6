/**
 * Blue/green deploy policy, pure: what a deploy request may say, the canary's steps, the
 * Prometheus queries that judge a color (Traefik's service metrics), and the judgement.
 * The runner (`scripts/runners/deploy/`) does the I/O.
 */
import type { Color, DeployConfig } from '../config/schema.js';
import { APP_SERVICES, type AppService } from '../config/profiles.js';
import { suggest } from '../errors.js';
import { parseFault, VERSION_PATTERN, VERSION_RULE } from '../contracts/index.js';
import { colorWeights } from '../topology/traefik.js';

/** Traffic shares of the new color, in order. The last is the switch. */
export const CANARY_STEPS = [5, 25, 100] as const;

/** Sticky sessions pin a browser to a color with this cookie during the canary. */
export const STICKY_COOKIE = 'parity_color';

export const otherColor = (color: Color): Color => (color === 'blue' ? 'green' : 'blue');

export interface DeployRequest {
  readonly version: string;
  /** FAULT for the new color (a deliberately bad version, for drills and tests). */
  readonly fault?: string;
  /** Image for the new color's stubs; the catalog's stubs image when absent. */
  readonly image?: string;
  /**
   * Per-service images for the new color (`make deploy SERVICES=events IMAGE=…`, or
   * `IMAGES=ivor=…,events=…`): they replace those services' images; the others keep theirs.
   */
  readonly images?: Readonly<Partial<Record<AppService, string>>>;
}

/** What each color runs; kept in the state directory. */
export interface ColorState {
  readonly version: string;
  /** The stubs' image for the whole color (`IMAGE=` without `SERVICES`). @default the catalog's */
  readonly image?: string;
  /** Per-service images (a per-service deploy), winning over `image` and the config's. */
  readonly images?: Readonly<Partial<Record<AppService, string>>>;
  /** The engine's image IDs of `images` when deployed (sha256:…), for the report and the audit log. */
  readonly digests?: Readonly<Partial<Record<AppService, string>>>;
  readonly fault?: string;
  readonly deployedAt?: string;
}

/** The deploy state of record (`.parity/deploy/state.json`). */
export interface DeployState {
  readonly active: Color;
  readonly weights: Record<Color, number>;
  readonly sticky: boolean;
  readonly colors: Record<Color, ColorState>;
  /** Set while a deploy runs; found set by the next one when a deploy was killed. */
  readonly inProgress?: { readonly version: string; readonly color: Color; readonly pid: number; readonly step: string; readonly startedAt: string };
  readonly lastDeploy?: { readonly version: string; readonly result: 'promoted' | 'rolled-back' | 'interrupted'; readonly at: string; readonly report?: string };
}

export function initialDeployState(active: Color): DeployState {
  return {
    active,
    weights: colorWeights(active, 100),
    sticky: false,
    colors: { blue: { version: '0.0.0-blue' }, green: { version: '0.0.0-green' } },
  };
}

/** Every problem with a request, with the parameter it concerns (empty = fine). */
export function validateDeployRequest(request: DeployRequest): string[] {
  const problems: string[] = [];
  if (!request.version) problems.push('VERSION: required, e.g. make deploy VERSION=1.4.0');
  else if (!VERSION_PATTERN.test(request.version)) problems.push(`VERSION: "${request.version}" is not a version (${VERSION_RULE})`);
  if (request.fault !== undefined) {
    // The contract's parser, which the stub uses too: what passes here is what the container accepts.
    try {
      parseFault(request.fault);
    } catch (error) {
      problems.push(`${(error as Error).message} (e.g. FAULT=error=20%)`);
    }
  }
  if (request.image !== undefined && !IMAGE_REF.test(request.image)) problems.push(`IMAGE: "${request.image}" is not an image reference (repository:tag)`);
  for (const [service, ref] of Object.entries(request.images ?? {})) {
    if (!IMAGE_REF.test(ref!)) problems.push(`IMAGES: ${service}=${ref} is not an image reference (repository:tag)`);
  }
  return problems;
}

const IMAGE_REF = /^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+$/;

/**
 * A per-service deploy's images from the command line: `SERVICES=events,ivor` with one `IMAGE`, or
 * `IMAGES=ivor=ref,events=ref`. Every problem at once: an unknown service (with "did you mean"), a
 * service named twice, a stub-only one (auth), both forms at once, SERVICES without IMAGE.
 */
export function parseServiceImages(given: { readonly services?: string; readonly image?: string; readonly images?: string }): { readonly images?: Partial<Record<AppService, string>>; readonly problems: string[] } {
  const problems: string[] = [];
  if (given.services === undefined && given.images === undefined) return { problems };
  if (given.services !== undefined && given.images !== undefined) return { problems: ['SERVICES and IMAGES: give one (SERVICES=events IMAGE=ref, or IMAGES=events=ref,ivor=ref)'] };
  const pairs: [string, string | undefined][] =
    given.images !== undefined
      ? given.images.split(',').filter(Boolean).map((pair) => {
          const at = pair.indexOf('=');
          return at < 0 ? [pair, undefined] : [pair.slice(0, at), pair.slice(at + 1)];
        })
      : given.services!.split(',').filter(Boolean).map((service) => [service, given.image]);
  const what = given.images !== undefined ? 'IMAGES' : 'SERVICES';
  if (pairs.length === 0) problems.push(`${what}: empty; name at least one of ${APP_SERVICES.join(', ')}`);
  if (given.images === undefined && !given.image) problems.push('SERVICES needs IMAGE: the image those services run (make deploy SERVICES=events IMAGE=team/events:1.4)');
  if (given.images !== undefined && given.image) problems.push('IMAGE and IMAGES: give one (IMAGES names each service\'s image)');
  const images: Partial<Record<AppService, string>> = {};
  for (const [service, ref] of pairs) {
    if (STUB_ONLY.includes(service)) problems.push(`${what}: ${service} stays a stub (it signs the tokens the others verify); deploy it with the stubs (make deploy VERSION=…)`);
    else if (!(APP_SERVICES as readonly string[]).includes(service)) {
      const hint = suggest(service, APP_SERVICES);
      problems.push(`${what}: ${service} is not a platform service${hint ? ` (did you mean ${hint}?)` : ''}; expected ${APP_SERVICES.join(', ')}`);
    } else if (images[service as AppService] !== undefined) problems.push(`${what}: ${service} is named twice`);
    else if (given.images !== undefined && !ref) problems.push(`IMAGES: ${service} has no image (service=repository:tag)`);
    else if (ref) images[service as AppService] = ref;
  }
  return problems.length ? { problems } : { images, problems };
}
const STUB_ONLY = ['auth', 'alert-receiver'];

/** A version for a per-service deploy without VERSION: its image's tag, when it is a version. */
export function versionFromImages(images: Readonly<Partial<Record<AppService, string>>>): string | undefined {
  const tags = [...new Set(Object.values(images).map((ref) => ref!.slice(ref!.lastIndexOf(':') + 1)))];
  return tags.length === 1 && VERSION_PATTERN.test(tags[0]!) ? tags[0] : undefined;
}

/** The `service` label Traefik gives a color's services (`events-green@file`), as a regex. */
export function colorServiceSelector(color: Color): string {
  return `service=~"(${APP_SERVICES.join('|')})-${color}@file"`;
}

/** How recent a sample must be to count (6 scrapes of 5 s): older ones belong to a process that is gone. */
export const FRESH_SAMPLE_SECONDS = 30;

/**
 * PromQL for a color's counters, one series each, with all its labels (`service`, `code`,
 * `le`, …), so that a reset is seen per series. Only series with a recent sample: after
 * Prometheus itself restarts on its kept volume, an instant query still returns the previous
 * Traefik's last values for 5 minutes (no staleness marker across its own restart).
 *
 * The canary compares them with a baseline taken when its step began, rather than using
 * `increase()`: a series that first appears during the step (the first 500 of a bad version)
 * has no earlier sample, and `increase()` would count it as zero.
 */
export function colorCounterQueries(color: Color): { readonly requests: string; readonly buckets: string } {
  const fresh = (metric: string) => {
    const series = `${metric}{${colorServiceSelector(color)}}`;
    return `${series} and (timestamp(${series}) > time() - ${FRESH_SAMPLE_SECONDS})`;
  };
  return { requests: fresh('traefik_service_requests_total'), buckets: fresh('traefik_service_request_duration_seconds_bucket') };
}

/** One counter series at one moment: its labels (without the metric name) and value. */
export interface CounterSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A color's counters at one moment: request counters (by `code`, …) and latency histogram buckets (by `le`, …). */
export interface ColorCounters {
  readonly requests: readonly CounterSeries[];
  readonly buckets: readonly CounterSeries[];
}

/** A series' identity: its sorted label set, as Prometheus prints it. */
export function seriesKey(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .filter((name) => name !== '__name__')
    .sort()
    .map((name) => `${name}="${labels[name]}"`)
    .join(',');
}

/**
 * Each series' increase from `before` to `after`, the way Prometheus' `increase()` treats a
 * counter: a value that went down means the counter restarted from 0 (a new Traefik), so the
 * new value is all increase. A series only in `after` is new (all increase); one only in
 * `before` is gone (a stale series from a previous process) and counts nothing.
 */
export function seriesIncrease(before: readonly CounterSeries[], after: readonly CounterSeries[]): { readonly labels: Readonly<Record<string, string>>; readonly increase: number; readonly reset: boolean }[] {
  const earlier = new Map(before.map((series) => [seriesKey(series.labels), series.value]));
  return after.map((series) => {
    const previous = earlier.get(seriesKey(series.labels));
    const reset = previous !== undefined && series.value < previous;
    return { labels: series.labels, increase: previous === undefined || reset ? series.value : series.value - previous, reset };
  });
}

/** The request series that went down between two readings, `labels: before → after` (for the report's warnings). */
export function counterResets(before: ColorCounters, after: ColorCounters): string[] {
  const earlier = new Map(before.requests.map((series) => [seriesKey(series.labels), series.value]));
  return seriesIncrease(before.requests, after.requests)
    .filter((series) => series.reset)
    .map((series) => `${seriesKey(series.labels)}: ${earlier.get(seriesKey(series.labels))} → ${series.increase}`);
}

/**
 * The φ-quantile of a cumulative histogram (le → count), interpolating linearly inside the
 * bucket like Prometheus' histogram_quantile. Seconds; NaN when empty.
 */
export function histogramQuantile(phi: number, buckets: Readonly<Record<string, number>>): number {
  const entries = Object.entries(buckets)
    .map(([le, count]) => [le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = entries.at(-1)?.[1] ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = phi * total;
  let previousLe = 0;
  let previousCount = 0;
  for (const [le, count] of entries) {
    if (count >= rank) {
      // In the +Inf bucket there is no upper bound: answer the highest finite bound, as Prometheus does.
      if (!Number.isFinite(le)) return previousLe;
      return previousLe + ((le - previousLe) * (rank - previousCount)) / Math.max(count - previousCount, Number.MIN_VALUE);
    }
    previousLe = le;
    previousCount = count;
  }
  return previousLe;
}

/** What happened to a color between two readings of its counters (resets counted per series). */
export function figuresBetween(before: ColorCounters, after: ColorCounters): ColorFigures {
  const requests = seriesIncrease(before.requests, after.requests);
  const total = requests.reduce((sum, series) => sum + series.increase, 0);
  const errors = requests.filter((series) => (series.labels.code ?? '').startsWith('5')).reduce((sum, series) => sum + series.increase, 0);
  const byLe: Record<string, number> = {};
  for (const series of seriesIncrease(before.buckets, after.buckets)) {
    const le = series.labels.le ?? '+Inf';
    byLe[le] = (byLe[le] ?? 0) + series.increase;
  }
  return figures(total, errors, histogramQuantile(0.95, byLe));
}

export interface ColorFigures {
  readonly requests: number;
  readonly errors: number;
  /** 0–1; NaN without requests. */
  readonly errorRate: number;
  /** Milliseconds; NaN without requests. */
  readonly p95Ms: number;
}

export interface Judgement {
  readonly pass: boolean;
  /** Why it failed (empty when it passed). */
  readonly failures: readonly string[];
  /** Said even when it passed (e.g. too little traffic to be sure). */
  readonly warnings: readonly string[];
}

const pct = (share: number) => `${(share * 100).toFixed(2)} %`;

/** The canary gate: the new color against the budgets (and, for the record, the active color). */
/** When both colors are over the p95 budget, the new one may be this much slower than the active one (× and + ms). */
export const SATURATED_P95_FACTOR = 1.25;
export const SATURATED_P95_SLACK_MS = 50;

export function judgeCanary(candidate: ColorFigures, active: ColorFigures, budgets: DeployConfig): Judgement {
  const failures: string[] = [];
  const warnings: string[] = [];
  if (candidate.requests > 0 && candidate.errorRate * 100 > budgets.errorRatePercent) {
    failures.push(`error rate ${pct(candidate.errorRate)} > budget ${budgets.errorRatePercent} % (${candidate.errors} of ${Math.round(candidate.requests)} requests; active color ${Number.isNaN(active.errorRate) ? 'n/a' : pct(active.errorRate)})`);
  }
  if (candidate.requests > 0 && candidate.p95Ms > budgets.p95Ms) {
    // The whole platform over the latency budget (users' load beyond what the machine serves): the
    // version users have now is as slow, and rolling back would not make anyone faster. The new
    // color is then judged against the active one, not against a budget neither can meet.
    const saturated = active.requests >= budgets.minRequests && active.p95Ms > budgets.p95Ms;
    const allowed = active.p95Ms * SATURATED_P95_FACTOR + SATURATED_P95_SLACK_MS;
    if (saturated && candidate.p95Ms <= allowed) {
      warnings.push(
        `p95 ${candidate.p95Ms.toFixed(0)} ms is over the ${budgets.p95Ms} ms budget, but so is the active color's (${active.p95Ms.toFixed(0)} ms over ${Math.round(active.requests)} requests): the platform is saturated, and the new color is no slower than ${SATURATED_P95_FACTOR} × the active color's + ${SATURATED_P95_SLACK_MS} ms (${allowed.toFixed(0)} ms)`,
      );
    } else {
      failures.push(
        `p95 ${candidate.p95Ms.toFixed(0)} ms > budget ${budgets.p95Ms} ms (active color ${Number.isNaN(active.p95Ms) ? 'n/a' : `${active.p95Ms.toFixed(0)} ms`}${saturated ? `; over the budget too, but the new color is slower than ${SATURATED_P95_FACTOR} × it + ${SATURATED_P95_SLACK_MS} ms = ${allowed.toFixed(0)} ms` : ''})`,
      );
    }
  }
  if (candidate.requests < budgets.minRequests) {
    warnings.push(`only ${Math.round(candidate.requests)} requests reached the new color (fewer than ${budgets.minRequests}): judged on what there is`);
  }
  return { pass: failures.length === 0, failures, warnings };
}

export function figures(requests: number, errors: number, p95Seconds: number): ColorFigures {
  return {
    requests,
    errors: Math.round(errors),
    errorRate: requests > 0 ? errors / requests : Number.NaN,
    p95Ms: requests > 0 && Number.isFinite(p95Seconds) ? p95Seconds * 1000 : Number.NaN,
  };
}
