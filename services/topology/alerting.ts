/**
 * What Prometheus's rules and Alertmanager's routes share: the severities, the shape of a rule,
 * and how fast each severity reaches someone. Both modules import from here, never from each
 * other.
 */

export type Severity = 'critical' | 'high' | 'medium';

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly severity: Severity;
  readonly summary: string;
  /** A `promtool test rules` case: input series that must make this rule fire. */
  readonly test: { readonly series: ReadonlyArray<{ readonly series: string; readonly values: string }>; readonly evalTime: string; readonly labels: Readonly<Record<string, string>> };
}

export interface SeverityRoute {
  /** How long Alertmanager collects a new group's alerts before the first notification. */
  readonly groupWait: string;
  /** How long before a changed group is notified again. */
  readonly groupInterval: string;
  /** How long before an unchanged, still-firing group is notified again. */
  readonly repeatInterval: string;
}

/** Alertmanager routing by severity: critical at once, high within 5 min, medium within 30 min. */
export const SEVERITY_ROUTES: Readonly<Record<Severity, SeverityRoute>> = {
  critical: { groupWait: '0s', groupInterval: '1m', repeatInterval: '1h' },
  high: { groupWait: '1m', groupInterval: '5m', repeatInterval: '4h' },
  medium: { groupWait: '5m', groupInterval: '30m', repeatInterval: '12h' },
};
