/**
 * Drills, pure: what a drill measured (samples of user requests and database writes, phase
 * markers), the per-second timeline users saw, and the judgement against the budgets from
 * `parity.yaml`. The runner (`scripts/runners/drill/`) does the I/O; this module only explains.
 */

/** One user-visible request made during a drill (API through Traefik, or a write through the writer endpoint). */
export interface Sample {
  /** Milliseconds since the drill started. */
  readonly atMs: number;
  /** Which load produced it: `api` (HTTP through Traefik) or `write` (INSERT through postgres-writer). */
  readonly lane: 'api' | 'write';
  /** `ok`: a normal answer; `fallback`: an answer from a fallback (degraded, still 2xx); `failed`: an error or non-2xx. */
  readonly outcome: 'ok' | 'fallback' | 'failed';
  readonly latencyMs: number;
  /** For writes: the sequence number (acknowledged ones are checked after the drill). */
  readonly seq?: number;
  /** Status code or error text of a failure, the fallback's marker(s) of a fallback, for the report. */
  readonly detail?: string;
  /** HTTP status of an API answer. */
  readonly status?: number;
  /** The path requested (API lane), without its query. */
  readonly route?: string;
}

/** A named moment of the drill (`fault injected`, `new leader elected`, …). */
export interface Marker {
  readonly name: string;
  /** Milliseconds since the drill started; undefined when the moment never came. */
  readonly atMs?: number;
  readonly detail?: string;
}

/**
 * Markers in the order they happened (moments that never came last, in the order they were
 * awaited): a report reads as a timeline, whatever order the drill learnt of them in.
 */
export function inTimeOrder(markers: readonly Marker[]): Marker[] {
  return markers.map((marker, index) => ({ marker, index })).sort((a, b) => (a.marker.atMs ?? Infinity) - (b.marker.atMs ?? Infinity) || a.index - b.index).map(({ marker }) => marker);
}

/** A span of time with a state, drawn as a band (e.g. a breaker open, no leader). */
export interface Band {
  /** The load lane it is drawn over (`api`, `write`), or `strip:<row>`: a row of its own under the lanes (a breaker's states). */
  readonly lane: string;
  readonly label: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly tone: 'bad' | 'warn' | 'info';
}

/** Requests per second, by outcome, for one lane. */
export interface SecondCounts {
  readonly second: number;
  readonly ok: number;
  readonly fallback: number;
  readonly failed: number;
}

/** The per-second timeline of one lane, from second 0 to the drill's last second. */
export function bucketize(samples: readonly Sample[], lane: Sample['lane'], durationMs: number): SecondCounts[] {
  const seconds = Math.max(1, Math.ceil(durationMs / 1000));
  const buckets = Array.from({ length: seconds }, (_, second) => ({ second, ok: 0, fallback: 0, failed: 0 }));
  for (const sample of samples) {
    if (sample.lane !== lane) continue;
    const bucket = buckets[Math.min(seconds - 1, Math.max(0, Math.floor(sample.atMs / 1000)))]!;
    bucket[sample.outcome] += 1;
  }
  return buckets;
}

/** A figure the drill measured, and its budget when the config sets one. */
export interface Figure {
  readonly name: string;
  /** null: not measured (the moment never came, or the scenario doesn't have it). */
  readonly value: number | null;
  readonly unit: 'ms' | 's' | 'count' | 'percent';
  /** Upper bound from the config; the figure passes when value ≤ budget. */
  readonly budget?: number;
  /** A figure whose absence is a failure (e.g. RTO of a kill: no new leader at all). */
  readonly required?: boolean;
  /** How the figure was obtained, one line. */
  readonly how: string;
}

export interface FigureVerdict extends Figure {
  readonly pass: boolean;
  /** Why it failed, in words (empty when it passed). */
  readonly reason: string;
}

const show = (value: number, unit: Figure['unit']) =>
  unit === 'ms' ? `${Math.round(value)} ms` : unit === 's' ? `${value.toFixed(1)} s` : unit === 'percent' ? `${value.toFixed(2)} %` : String(value);

/** Judge every figure against its budget; a missing required figure fails, saying why. */
export function judgeFigures(figures: readonly Figure[]): FigureVerdict[] {
  return figures.map((figure) => {
    if (figure.value === null) {
      const pass = !figure.required;
      return { ...figure, pass, reason: pass ? '' : `${figure.name}: never measured (${figure.how})` };
    }
    if (figure.budget === undefined || figure.value <= figure.budget) return { ...figure, pass: true, reason: '' };
    return { ...figure, pass: false, reason: `${figure.name} ${show(figure.value, figure.unit)} > budget ${show(figure.budget, figure.unit)} (${figure.how})` };
  });
}

export const formatFigure = (figure: Figure): string => (figure.value === null ? 'n/a' : show(figure.value, figure.unit));

/** Everything a drill leaves behind; rendered as a summary, JSON, JUnit XML and an SVG timeline. */
export interface DrillReport {
  readonly kind: 'drill';
  /** The drill family: `failover`, `chaos`, `restore`, `region`. */
  readonly drill: string;
  readonly scenario: string;
  /** One line: what the scenario does. */
  readonly description: string;
  readonly startedAt: string;
  readonly durationMs: number;
  /** The runner's phases with their durations (what the progress said), for the record. */
  readonly phases?: readonly { readonly name: string; readonly ms: number; readonly ok: boolean }[];
  readonly markers: readonly Marker[];
  readonly bands: readonly Band[];
  readonly figures: readonly FigureVerdict[];
  readonly timeline: { readonly api: readonly SecondCounts[]; readonly write: readonly SecondCounts[] };
  /** What the drill changed and put back (or could not), in order. */
  readonly restored: readonly string[];
  /** `pass`: every budget met; `fail`: a budget exceeded; `error`: the drill itself broke. */
  readonly result: 'pass' | 'fail' | 'error';
  /** Set when result is `error`. */
  readonly error?: string;
  readonly notes: readonly string[];
  /** What the failed requests said, grouped by lane and message, most frequent first (at most 5 a lane). */
  readonly failures?: readonly FailureGroup[];
}

/** Failed requests of one lane with the same route and message (addresses in it masked, so they group). */
export interface FailureGroup {
  readonly lane: Sample['lane'];
  readonly detail: string;
  readonly count: number;
  readonly firstAtMs: number;
  readonly lastAtMs: number;
}

/** Group the failed samples by lane and message, most frequent first, `perLane` groups a lane. */
export function groupFailures(samples: readonly Sample[], perLane = 5): FailureGroup[] {
  const groups = new Map<string, { lane: Sample['lane']; detail: string; count: number; firstAtMs: number; lastAtMs: number }>();
  for (const sample of samples) {
    if (sample.outcome !== 'failed') continue;
    const said = (sample.detail ?? (sample.status !== undefined ? `HTTP ${sample.status}` : 'no detail')).replace(/\d{1,3}(\.\d{1,3}){3}(:\d+)?/g, '<address>');
    const detail = sample.route ? `${sample.route}: ${said}` : said;
    const key = `${sample.lane}\u0000${detail}`;
    const group = groups.get(key);
    if (group) {
      group.count += 1;
      group.firstAtMs = Math.min(group.firstAtMs, sample.atMs);
      group.lastAtMs = Math.max(group.lastAtMs, sample.atMs);
    } else groups.set(key, { lane: sample.lane, detail, count: 1, firstAtMs: sample.atMs, lastAtMs: sample.atMs });
  }
  const sorted = [...groups.values()].sort((a, b) => b.count - a.count || a.firstAtMs - b.firstAtMs);
  return (['write', 'api'] as const).flatMap((lane) => sorted.filter((group) => group.lane === lane).slice(0, perLane));
}

/** The drill's result from its figures (and whether it broke). */
export function drillResult(figures: readonly FigureVerdict[], error?: string): DrillReport['result'] {
  if (error) return 'error';
  return figures.every((figure) => figure.pass) ? 'pass' : 'fail';
}

/** What only one drill knows for its report: its name and scenario, its figures, its picture's bands, its settings. */
export interface DrillFindings {
  readonly drill: string;
  readonly scenario: string;
  readonly description: string;
  /** Not judged yet: the envelope judges them against their budgets. */
  readonly figures: readonly Figure[];
  /** @default none */
  readonly bands?: readonly Band[];
  /** The lanes the drill loads, each with its per-second timeline (another lane's stays empty). @default both */
  readonly lanes?: readonly Sample['lane'][];
  /** Said before the run's own notes (the settings the figures depend on). @default none */
  readonly notes?: readonly string[];
}

/** What every drill run records the same way (its clock, phases, moments, samples and lists). */
export interface DrillRecord {
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly phases: NonNullable<DrillReport['phases']>;
  readonly markers: readonly Marker[];
  readonly samples: readonly Sample[];
  readonly restored: readonly string[];
  readonly notes: readonly string[];
  /** The message of the error that broke the drill. */
  readonly error?: string;
}

/**
 * Every drill's report, one envelope: the run's record around the drill's findings, the figures
 * judged, the markers in time order, the timeline bucketed, the result from both.
 */
export function buildDrillReport(record: DrillRecord, findings: DrillFindings): DrillReport {
  const { durationMs, error } = record;
  const figures = judgeFigures(findings.figures);
  const lanes = findings.lanes ?? ['api', 'write'];
  const timeline = (lane: Sample['lane']) => (lanes.includes(lane) ? bucketize(record.samples, lane, durationMs) : []);
  return {
    kind: 'drill',
    drill: findings.drill,
    scenario: findings.scenario,
    description: findings.description,
    startedAt: record.startedAt.toISOString(),
    durationMs,
    phases: record.phases,
    markers: inTimeOrder(record.markers),
    bands: findings.bands ?? [],
    figures,
    timeline: { api: timeline('api'), write: timeline('write') },
    restored: record.restored,
    result: drillResult(figures, error),
    ...(error !== undefined ? { error } : {}),
    notes: [...(findings.notes ?? []), ...record.notes],
    failures: groupFailures(record.samples.filter((sample) => lanes.includes(sample.lane))),
  };
}
