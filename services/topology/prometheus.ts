/**
 * Prometheus: scrape config (every app, Traefik, the exporters, SeaweedFS), alert rules with
 * the architecture's thresholds, and a `promtool test rules` case for every rule.
 */
import type { ParityConfig } from '../config/schema.js';
import { APP_SERVICES } from '../config/profiles.js';
import type { AlertRule } from './alerting.js';
import { STUB_PORT } from '../contracts/index.js';
import { appPort, HOST_GATEWAY, ownHost } from './own-services.js';
import { hostFor, publish } from './common.js';
import { SEAWEEDFS_METRICS_PORT } from './s3.js';
import { TRAEFIK_METRICS_PORT } from './traefik.js';
import { PATRONI_ALERT_RULES, patroniScrapeJobs } from './patroni.js';
import { backupAlertRules } from './backup.js';
import { regionAlertRules } from './region.js';
import { httpHealth, type FileSpec, type ServiceSpec } from './types.js';
import { HARDENING, memoryMiB, type Hardening } from './hardening.js';

/** Thresholds from the architecture's health-check hierarchy and alerting design. */
export const ALERT_RULES: readonly AlertRule[] = [
  {
    alert: 'ServiceDown',
    expr: 'up == 0',
    for: '30s',
    severity: 'critical',
    summary: '{{ $labels.job }} ({{ $labels.instance }}) is down',
    test: { series: [{ series: 'up{job="ivor",instance="ivor-blue:3000"}', values: '0x5' }], evalTime: '2m', labels: { job: 'ivor', instance: 'ivor-blue:3000' } },
  },
  {
    alert: 'HighErrorRate',
    expr: 'sum by (job) (rate(http_requests_total{status=~"5.."}[5m])) / sum by (job) (rate(http_requests_total[5m])) > 0.01',
    for: '2m',
    severity: 'high',
    summary: '{{ $labels.job }}: more than 1 % of requests fail',
    test: {
      series: [
        { series: 'http_requests_total{job="events",status="500"}', values: '0+2x20' },
        { series: 'http_requests_total{job="events",status="200"}', values: '0+98x20' },
      ],
      evalTime: '10m',
      labels: { job: 'events' },
    },
  },
  {
    alert: 'IvorSlowResponses',
    expr: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="ivor"}[5m]))) > 0.5',
    for: '2m',
    severity: 'high',
    summary: 'IVOR p95 latency is above 500 ms',
    test: {
      series: [
        { series: 'http_request_duration_seconds_bucket{job="ivor",le="0.5"}', values: '0+1x20' },
        { series: 'http_request_duration_seconds_bucket{job="ivor",le="1"}', values: '0+100x20' },
        { series: 'http_request_duration_seconds_bucket{job="ivor",le="+Inf"}', values: '0+100x20' },
      ],
      evalTime: '10m',
      labels: {},
    },
  },
  {
    alert: 'EventsSlowDatabase',
    expr: 'histogram_quantile(0.95, sum by (le) (rate(db_query_duration_seconds_bucket{job="events"}[5m]))) > 0.1',
    for: '2m',
    severity: 'high',
    summary: 'Events database queries: p95 above 100 ms',
    test: {
      series: [
        { series: 'db_query_duration_seconds_bucket{job="events",le="0.1"}', values: '0+1x20' },
        { series: 'db_query_duration_seconds_bucket{job="events",le="0.5"}', values: '0+100x20' },
        { series: 'db_query_duration_seconds_bucket{job="events",le="+Inf"}', values: '0+100x20' },
      ],
      evalTime: '10m',
      labels: {},
    },
  },
  {
    alert: 'ReplicationLag',
    // pg_replication_lag comes from the exporter's extra query (exporters.ts): 0 when caught up.
    expr: 'pg_replication_lag{role="replica"} > 1',
    for: '1m',
    severity: 'high',
    summary: 'The replica is more than 1 s behind the primary',
    test: {
      series: [
        { series: 'pg_replication_lag{role="replica",job="postgres-replica"}', values: '5x10' },
      ],
      evalTime: '5m',
      labels: { role: 'replica', job: 'postgres-replica' },
    },
  },
  {
    alert: 'RedisMemoryHigh',
    expr: 'redis_memory_used_bytes / redis_memory_max_bytes > 0.8 and redis_memory_max_bytes > 0',
    for: '5m',
    severity: 'medium',
    summary: 'Redis uses more than 80 % of its memory limit',
    test: {
      series: [
        { series: 'redis_memory_used_bytes{job="redis"}', values: '900x10' },
        { series: 'redis_memory_max_bytes{job="redis"}', values: '1000x10' },
      ],
      evalTime: '8m',
      labels: { job: 'redis' },
    },
  },
  {
    alert: 'DiskHigh',
    expr: '1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"} > 0.8',
    for: '5m',
    severity: 'medium',
    summary: '{{ $labels.mountpoint }} is more than 80 % full',
    test: {
      series: [
        { series: 'node_filesystem_avail_bytes{fstype="ext4",mountpoint="/"}', values: '10x10' },
        { series: 'node_filesystem_size_bytes{fstype="ext4",mountpoint="/"}', values: '100x10' },
      ],
      evalTime: '8m',
      labels: { fstype: 'ext4', mountpoint: '/' },
    },
  },
  {
    alert: 'CpuHigh',
    expr: '1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5m])) > 0.75',
    for: '5m',
    severity: 'medium',
    summary: 'CPU use is above 75 %',
    test: { series: [{ series: 'node_cpu_seconds_total{cpu="0",mode="idle"}', values: '0+6x40' }], evalTime: '15m', labels: {} },
  },
  {
    alert: 'MemoryHigh',
    expr: '1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes > 0.85',
    for: '5m',
    severity: 'medium',
    summary: 'Memory use is above 85 %',
    test: {
      series: [
        { series: 'node_memory_MemAvailable_bytes{job="node"}', values: '10x10' },
        { series: 'node_memory_MemTotal_bytes{job="node"}', values: '100x10' },
      ],
      evalTime: '8m',
      labels: { job: 'node' },
    },
  },
];

const EDGE_API_PATTERN = '(ivor|events|newsroom)';

/**
 * Traefik exports no breaker state: an open edge breaker shows as 503s on the API's routers that
 * never reached one of its services. Router 503s minus service 503s per API, per second over 30 s;
 * above 0 the breaker has answered for the API itself.
 */
export const RECORDING_RULES: readonly { readonly record: string; readonly expr: string }[] = [
  {
    record: 'parity:edge_breaker_rejected:rate30s',
    expr: (() => {
      // By the routers' service, not their names: an API's requests go through many routers (one per
      // route of the route table, per entrypoint), all with the API's weighted or pinned service.
      const routers = `sum by (api) (label_replace(rate(traefik_router_requests_total{code="503",service=~"${EDGE_API_PATTERN}(-blue|-green)?@file"}[30s]), "api", "$1", "service", "${EDGE_API_PATTERN}.*"))`;
      const services = `sum by (api) (label_replace(rate(traefik_service_requests_total{code="503",service=~"${EDGE_API_PATTERN}-(blue|green)@file"}[30s]), "api", "$1", "service", "${EDGE_API_PATTERN}-.*"))`;
      return `(${routers} - ${services}) or ${routers}`;
    })(),
  },
  { record: 'parity:edge_breaker_open', expr: 'parity:edge_breaker_rejected:rate30s > bool 0' },
];

/** Breaker alerts: an app breaker open means users get a fallback; an edge one, that an API is cut off. */
export const BREAKER_ALERT_RULES: readonly AlertRule[] = [
  {
    alert: 'CircuitBreakerOpen',
    // Open now, or opened since the last minute's scrapes began: a breaker that opens and goes
    // half-open between two scrapes (reset shorter than the scrape interval) is only in the counter.
    expr: 'max by (job, color, breaker) (circuit_breaker_state) == 2 or max by (job, color, breaker) (increase(circuit_breaker_events_total{event="open"}[1m])) > 0',
    for: '0s',
    severity: 'high',
    summary: '{{ $labels.job }} ({{ $labels.color }}): the {{ $labels.breaker }} breaker is open or opened in the last minute; users get fallbacks',
    test: { series: [{ series: 'circuit_breaker_state{job="events",color="blue",breaker="postgres-replica",instance="events-blue:3000"}', values: '2x5' }], evalTime: '1m', labels: { job: 'events', color: 'blue', breaker: 'postgres-replica' } },
  },
  {
    alert: 'EdgeCircuitBreakerOpen',
    expr: 'parity:edge_breaker_open == 1',
    for: '0s',
    severity: 'critical',
    summary: 'the edge breaker of {{ $labels.api }} is open: Traefik answers its routes with the fallback page',
    test: {
      series: [
        { series: 'traefik_router_requests_total{code="503",router="public-route-users-get-api-resources@file",service="ivor@file"}', values: '0+50x10' },
        { series: 'traefik_service_requests_total{code="503",service="ivor-blue@file"}', values: '0+0x10' },
      ],
      evalTime: '2m',
      labels: { api: 'ivor' },
    },
  },
];

/**
 * The architecture's security metrics: failed logins (auth's counter) and requests the edge refused
 * with 429 on the users' entrypoints (Traefik's, by entrypoint: no client address in the labels).
 */
export const SECURITY_ALERT_RULES: readonly AlertRule[] = [
  {
    alert: 'FailedLoginsHigh',
    expr: 'sum(rate(parity_auth_failed_logins_total[5m])) * 60 > 20',
    for: '2m',
    severity: 'high',
    summary: 'more than 20 failed logins a minute for 2 minutes: password guessing? (lockouts: parity_auth_lockouts_total)',
    test: { series: [{ series: 'parity_auth_failed_logins_total{job="auth",instance="auth:3000"}', values: '0+30x30' }], evalTime: '10m', labels: {} },
  },
  {
    alert: 'ClientsRateLimited',
    expr: 'sum(rate(traefik_entrypoint_requests_total{entrypoint=~"public|trusted",code="429"}[5m])) * 60 > 60',
    for: '5m',
    severity: 'medium',
    summary: 'the edge refuses more than 60 requests a minute with 429 (rate limit) for 5 minutes: a client hammering the platform',
    test: { series: [{ series: 'traefik_entrypoint_requests_total{job="traefik",entrypoint="public",code="429",method="GET",protocol="http"}', values: '0+120x30' }], evalTime: '12m', labels: {} },
  },
];

/** Share of the edge's memory limit at which operators are paged, before the kernel kills it. */
export const EDGE_MEMORY_ALERT_SHARE = 0.85;

/**
 * Traefik's resident memory near its container's limit (the configured one, else the hardening
 * table's). Past the limit the kernel OOM-kills it: every user's connection is cut, and its
 * operators' port may move on restart. Its Go runtime collects hard above GOMEMLIMIT (80 %) first.
 */
export function edgeMemoryRule(config: ParityConfig): AlertRule {
  const limit = config.resources.traefik?.memory ?? (HARDENING.traefik as Hardening).memory!;
  const bytes = Math.floor(memoryMiB(limit) * 1024 * 1024 * EDGE_MEMORY_ALERT_SHARE);
  return {
    alert: 'EdgeMemoryNearLimit',
    expr: `process_resident_memory_bytes{job="traefik"} > ${bytes}`,
    for: '1m',
    severity: 'high',
    summary: `Traefik uses more than ${Math.round(EDGE_MEMORY_ALERT_SHARE * 100)} % of its ${limit} memory limit: past it the kernel kills the edge (raise resources.traefik.memory, or shed load)`,
    test: { series: [{ series: 'process_resident_memory_bytes{job="traefik",instance="traefik:8082"}', values: `${bytes + 1}x10` }], evalTime: '5m', labels: { job: 'traefik', instance: 'traefik:8082' } },
  };
}

/** The rules for a config: the platform's, the breakers', plus the HA cluster's when Patroni runs. */
export function alertRules(config: ParityConfig): readonly AlertRule[] {
  return [...ALERT_RULES, edgeMemoryRule(config), ...BREAKER_ALERT_RULES, ...SECURITY_ALERT_RULES, ...(config.postgres.ha === 'patroni' ? PATRONI_ALERT_RULES : []), ...backupAlertRules(config), ...regionAlertRules(config)];
}

const SCRAPE_INTERVAL = '5s';

export function prometheusService(config: ParityConfig, image: string, running: ReadonlySet<string>): ServiceSpec {
  return {
    name: 'prometheus',
    logical: 'prometheus',
    tier: 'monitoring',
    // It scrapes the apps and Traefik (apps network) and the data tier's own metrics (SeaweedFS,
    // Patroni, HAProxy, etcd): it joins those zones rather than each of them joining monitoring,
    // so Grafana and Alertmanager stay out of the data network.
    networks: ['monitoring', 'apps', 'data'],
    image,
    command: [
      '--config.file=/etc/prometheus/prometheus.yml',
      '--storage.tsdb.path=/prometheus',
      '--storage.tsdb.retention.time=2d',
      '--web.enable-lifecycle',
    ],
    ports: [publish(config, config.ports.prometheus, 9090)],
    volumes: ['./prometheus:/etc/prometheus:ro', 'prometheus:/prometheus'],
    dependsOn: running.has('alertmanager') ? { alertmanager: 'service_healthy' } : {},
    healthcheck: httpHealth(9090, '/-/ready'),
    url: `http://${hostFor(config, 'prometheus')}:${config.ports.prometheus}`,
  };
}

const hostTarget = (config: ParityConfig, app: (typeof APP_SERVICES)[number]): string[] => {
  const host = ownHost(config, app);
  return host ? [`${HOST_GATEWAY}:${host.port}`] : [];
};

/** Scrape jobs, one per logical service; app jobs cover both colors (and a host process). */
export function prometheusConfig(config: ParityConfig, running: ReadonlySet<string>): object {
  const job = (name: string, targets: string[], labels: Record<string, string> = {}) => ({
    job_name: name,
    static_configs: [{ targets, ...(Object.keys(labels).length ? { labels } : {}) }],
  });
  const jobs = [
    job('prometheus', ['localhost:9090']),
    job('traefik', [`traefik:${TRAEFIK_METRICS_PORT}`]),
    job('auth', [`auth:${STUB_PORT}`]),
    // A developer's process on the host (source: host) is scraped beside the colors: its metrics, and `up`.
    ...APP_SERVICES.map((app) => job(app, [`${app}-blue:${appPort(config, app)}`, `${app}-green:${appPort(config, app)}`, ...hostTarget(config, app)])),
    job('postgres-primary', ['postgres-exporter:9187'], { role: 'primary' }),
    job('postgres-replica', ['postgres-exporter-replica:9187'], { role: 'replica' }),
    job('redis', ['redis-exporter:9121']),
    ...(running.has('node-exporter') ? [job('node', ['node-exporter:9100'])] : []),
    ...(running.has('s3') ? [job('s3', [`s3:${SEAWEEDFS_METRICS_PORT}`])] : []),
    job('alertmanager', ['alertmanager:9093']),
    ...(config.postgres.ha === 'patroni' ? patroniScrapeJobs(config).map((ha) => job(ha.name, ha.targets)) : []),
  ];
  return {
    global: { scrape_interval: SCRAPE_INTERVAL, evaluation_interval: SCRAPE_INTERVAL },
    alerting: { alertmanagers: [{ static_configs: [{ targets: ['alertmanager:9093'] }] }] },
    rule_files: ['alerts.yml'],
    scrape_configs: jobs,
  };
}

export function alertRulesConfig(config: ParityConfig): object {
  return {
    groups: [
      { name: 'breakers', rules: RECORDING_RULES.map((rule) => ({ record: rule.record, expr: rule.expr })) },
      {
        name: 'platform',
        rules: alertRules(config).map((rule) => ({
          alert: rule.alert,
          expr: rule.expr,
          for: rule.for,
          labels: { severity: rule.severity },
          annotations: { summary: rule.summary },
        })),
      },
    ],
  };
}

/** `promtool test rules` input: one case per rule, each asserting that the rule fires. */
export function alertRuleTestsConfig(config: ParityConfig): object {
  return {
    rule_files: ['alerts.yml'],
    evaluation_interval: '30s',
    tests: alertRules(config).map((rule) => ({
      interval: '30s',
      input_series: rule.test.series.map((s) => ({ series: s.series, values: s.values })),
      alert_rule_test: [
        {
          eval_time: rule.test.evalTime,
          alertname: rule.alert,
          exp_alerts: [
            {
              exp_labels: { severity: rule.severity, ...rule.test.labels },
              exp_annotations: { summary: rule.summary.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => rule.test.labels[name] ?? '') },
            },
          ],
        },
      ],
    })),
  };
}

export function prometheusFiles(config: ParityConfig, running: ReadonlySet<string>): FileSpec[] {
  const source = 'services/topology/prometheus.ts';
  return [
    { path: 'prometheus/prometheus.yml', format: 'yaml', value: prometheusConfig(config, running), source },
    { path: 'prometheus/alerts.yml', format: 'yaml', value: alertRulesConfig(config), source },
    { path: 'prometheus/alerts.test.yml', format: 'yaml', value: alertRuleTestsConfig(config), source },
  ];
}
