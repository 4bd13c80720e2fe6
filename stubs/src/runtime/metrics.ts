/**
 * Prometheus metrics with prom-client. Names and labels are the ones the generated alert
 * rules read (`http_requests_total{status}`, `http_request_duration_seconds`,
 * `db_query_duration_seconds`), so the rules and the stubs can't drift apart silently.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Breaker states as gauge values (closed is the healthy zero). */
export const BREAKER_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** Requests being served right now: a deploy's drain waits for the old color's to reach 0. */
  readonly inFlight: Gauge;
  readonly dependencyDuration: Histogram<'dependency' | 'operation' | 'outcome'>;
  readonly dbQueryDuration: Histogram<'pool'>;
  /** Replica reads slower than the hedge delay, asked of the primary too. */
  readonly hedgedReads: Counter;
  readonly breakerState: Gauge<'breaker'>;
  readonly breakerEvents: Counter<'breaker' | 'event'>;
  readonly fallbacks: Counter<'fallback'>;
  /** Logins refused for a wrong password or an unknown email (auth; the architecture's security metrics). */
  readonly failedLogins: Counter;
  /** Lockouts started, by what was locked: `email` or `address` (auth). */
  readonly lockouts: Counter<'by'>;
}

export function createMetrics(labels: { service: string; color: string; version: string }): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
  return {
    registry,
    httpRequests: new Counter({ name: 'http_requests_total', help: 'HTTP requests by route template and status.', labelNames: ['method', 'route', 'status'], registers: [registry] }),
    httpDuration: new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP request latency.', labelNames: ['method', 'route', 'status'], buckets, registers: [registry] }),
    inFlight: new Gauge({ name: 'http_requests_in_flight', help: 'Requests being served now (health and metrics excluded).', registers: [registry] }),
    dependencyDuration: new Histogram({
      name: 'dependency_call_duration_seconds',
      help: 'Calls to Postgres, Redis, S3 and other services, by outcome (success, failure, timeout, rejected while open).',
      labelNames: ['dependency', 'operation', 'outcome'],
      buckets,
      registers: [registry],
    }),
    dbQueryDuration: new Histogram({ name: 'db_query_duration_seconds', help: 'Postgres query latency by pool.', labelNames: ['pool'], buckets, registers: [registry] }),
    hedgedReads: new Counter({ name: 'db_reads_hedged_total', help: 'Replica reads slower than the hedge delay (DB_READ_HEDGE_MS), asked of the primary too.', registers: [registry] }),
    breakerState: new Gauge({ name: 'circuit_breaker_state', help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.', labelNames: ['breaker'], registers: [registry] }),
    breakerEvents: new Counter({ name: 'circuit_breaker_events_total', help: 'Breaker transitions and rejections.', labelNames: ['breaker', 'event'], registers: [registry] }),
    fallbacks: new Counter({ name: 'fallback_responses_total', help: 'Responses served from a fallback.', labelNames: ['fallback'], registers: [registry] }),
    failedLogins: new Counter({ name: 'parity_auth_failed_logins_total', help: 'Logins refused for a wrong password or an unknown email.', registers: [registry] }),
    lockouts: new Counter({ name: 'parity_auth_lockouts_total', help: 'Login lockouts started (429 until the window ends), by email or client address.', labelNames: ['by'], registers: [registry] }),
  };
}
