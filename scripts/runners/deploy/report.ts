/** Deploy and rollback reports: their shape (kept stable: tools read the JSON), and the stdout summary. */
import type { Color } from '../../../services/config/schema.js';
import type { ColorFigures } from '../../../services/deploy/policy.js';
import { formatDuration } from '../../../services/errors.js';
import type { PhaseRecord } from '../core/phases.js';

/** The traffic split at one moment, and why it changed. */
export interface TrafficEntry {
  readonly at: string;
  readonly weights: Record<Color, number>;
  readonly why: string;
}

export interface DeployReport {
  readonly kind: 'deploy';
  readonly version: string;
  readonly from: { readonly color: Color; readonly version: string };
  readonly to: { readonly color: Color; readonly version: string };
  /** A per-service deploy: each service's image on the new color (the named ones new, the rest kept) and the engine's image IDs. */
  readonly images?: Readonly<Record<string, { readonly ref: string; readonly id?: string; readonly changed: boolean }>>;
  readonly result: 'promoted' | 'rolled-back';
  readonly failedGate?: string;
  readonly reasons?: readonly string[];
  readonly startedAt: string;
  readonly totalMs: number;
  /** From the new color being healthy to it having 100 % of the traffic. */
  readonly healthyToFullMs?: number;
  readonly phases: readonly PhaseRecord[];
  /** Traffic share of each color over time. */
  readonly traffic: readonly TrafficEntry[];
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

/** `.parity/deploy/reports/<time>-<name>.json`, relative to the deploy directory's reports. */
export const reportFileName = (at: Date, name: string): string => `${at.toISOString().replace(/[:.]/g, '-')}-${name}.json`;

/** A color's figures in one phrase, for progress lines. */
export const describeFigures = (f: ColorFigures): string =>
  f.requests > 0 ? `${(f.errorRate * 100).toFixed(2)} % errors, p95 ${Number.isNaN(f.p95Ms) ? 'n/a' : `${f.p95Ms.toFixed(0)} ms`} over ${Math.round(f.requests)} requests` : 'no requests yet';

export function summarize(report: DeployReport): string {
  const lines = [
    `deploy ${report.version}: ${report.result === 'promoted' ? `PROMOTED — ${report.to.color} serves 100 %` : `ROLLED BACK at ${report.failedGate} — ${report.from.color} serves 100 %`} (${formatDuration(report.totalMs)})`,
    ...(report.reasons ?? []).map((reason) => `  why: ${reason}`),
    ...Object.entries(report.images ?? {}).map(([service, image]) => `  image: ${service.padEnd(9)} ${image.ref}${image.id ? ` (${image.id.slice(0, 19)})` : ''}${image.changed ? ' new' : ' kept'}`),
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

/** The one-paragraph stdout summary of a rollback. */
export function summarizeRollback(report: RollbackReport): string {
  const started = report.startedColorMs !== undefined ? ` (starting ${report.to.color} took ${formatDuration(report.startedColorMs)} first)` : '';
  return `rollback: ${report.to.color} (${report.to.version}) serves 100 % again; only ${report.to.color} answered ${formatDuration(report.effectiveAfterMs)} after the switch${started}\n  report: ${report.file}`;
}
