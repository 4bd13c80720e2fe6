/**
 * Monitoring: Prometheus (scrape config, alert rules with the architecture's thresholds and a
 * `promtool test rules` case for every rule), Alertmanager (routing by severity), the
 * postgres/redis/node exporters, and Grafana's provisioning.
 */
import type { ParityConfig } from '../config/schema.js';
import { APP_SERVICES } from '../config/profiles.js';
import { renderJson, renderYaml } from '../render/yaml.js';
import { DATABASE, STUB_PORT, hostFor, publish } from './common.js';
import { SEAWEEDFS_METRICS_PORT } from './data.js';
import { TRAEFIK_METRICS_PORT } from './traefik.js';
import { httpHealth, type GeneratedFile, type ServiceSpec } from './types.js';

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
    // Lag counts only while the primary is writing: an idle primary makes replay age grow.
    expr: 'pg_replication_lag{role="replica"} > 1 and on() sum(rate(pg_stat_database_xact_commit{role="primary"}[1m])) > 0',
    for: '1m',
    severity: 'high',
    summary: 'The replica is more than 1 s behind the primary',
    test: {
      series: [
        { series: 'pg_replication_lag{role="replica",job="postgres-replica"}', values: '5x10' },
        { series: 'pg_stat_database_xact_commit{role="primary",datname="platform"}', values: '0+10x10' },
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

/** Alertmanager routing by severity: critical at once, high within 5 min, medium within 30 min. */
export const SEVERITY_ROUTES: Readonly<Record<Severity, { groupWait: string; groupInterval: string; repeatInterval: string }>> = {
  critical: { groupWait: '0s', groupInterval: '1m', repeatInterval: '1h' },
  high: { groupWait: '1m', groupInterval: '5m', repeatInterval: '4h' },
  medium: { groupWait: '5m', groupInterval: '30m', repeatInterval: '12h' },
};

const SCRAPE_INTERVAL = '5s';

export function prometheusService(config: ParityConfig, image: string, running: ReadonlySet<string>): ServiceSpec {
  return {
    name: 'prometheus',
    logical: 'prometheus',
    tier: 'monitoring',
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
    url: `http://${hostFor(config)}:${config.ports.prometheus}`,
  };
}

/** Scrape jobs, one per logical service; app jobs cover both colors. */
export function renderPrometheusConfig(running: ReadonlySet<string>): object {
  const job = (name: string, targets: string[], labels: Record<string, string> = {}) => ({
    job_name: name,
    static_configs: [{ targets, ...(Object.keys(labels).length ? { labels } : {}) }],
  });
  const jobs = [
    job('prometheus', ['localhost:9090']),
    job('traefik', [`traefik:${TRAEFIK_METRICS_PORT}`]),
    job('auth', [`auth:${STUB_PORT}`]),
    ...APP_SERVICES.map((app) => job(app, [`${app}-blue:${STUB_PORT}`, `${app}-green:${STUB_PORT}`])),
    job('postgres-primary', ['postgres-exporter:9187'], { role: 'primary' }),
    job('postgres-replica', ['postgres-exporter-replica:9187'], { role: 'replica' }),
    job('redis', ['redis-exporter:9121']),
    ...(running.has('node-exporter') ? [job('node', ['node-exporter:9100'])] : []),
    ...(running.has('s3') ? [job('s3', [`s3:${SEAWEEDFS_METRICS_PORT}`])] : []),
    job('alertmanager', ['alertmanager:9093']),
  ];
  return {
    global: { scrape_interval: SCRAPE_INTERVAL, evaluation_interval: SCRAPE_INTERVAL },
    alerting: { alertmanagers: [{ static_configs: [{ targets: ['alertmanager:9093'] }] }] },
    rule_files: ['alerts.yml'],
    scrape_configs: jobs,
  };
}

export function renderAlertRules(): object {
  return {
    groups: [
      {
        name: 'platform',
        rules: ALERT_RULES.map((rule) => ({
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
export function renderAlertRuleTests(): object {
  return {
    rule_files: ['alerts.yml'],
    evaluation_interval: '30s',
    tests: ALERT_RULES.map((rule) => ({
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

export function alertmanagerService(config: ParityConfig, image: string): ServiceSpec {
  return {
    name: 'alertmanager',
    logical: 'alertmanager',
    tier: 'monitoring',
    image,
    command: ['--config.file=/etc/alertmanager/alertmanager.yml', '--storage.path=/alertmanager', '--cluster.listen-address='],
    ports: [publish(config, config.ports.alertmanager, 9093)],
    volumes: ['./alertmanager:/etc/alertmanager:ro'],
    healthcheck: httpHealth(9093, '/-/ready'),
    url: `http://${hostFor(config)}:${config.ports.alertmanager}`,
  };
}

export function renderAlertmanagerConfig(config: ParityConfig): object {
  const url = (severity: Severity) => config.alerting.webhookUrl || `http://alert-receiver:${STUB_PORT}/alerts/${severity}`;
  const severities = Object.keys(SEVERITY_ROUTES) as Severity[];
  return {
    route: {
      receiver: 'medium',
      group_by: ['alertname', 'job'],
      group_wait: SEVERITY_ROUTES.medium.groupWait,
      group_interval: SEVERITY_ROUTES.medium.groupInterval,
      repeat_interval: SEVERITY_ROUTES.medium.repeatInterval,
      routes: severities.map((severity) => ({
        receiver: severity,
        matchers: [`severity="${severity}"`],
        group_wait: SEVERITY_ROUTES[severity].groupWait,
        group_interval: SEVERITY_ROUTES[severity].groupInterval,
        repeat_interval: SEVERITY_ROUTES[severity].repeatInterval,
      })),
    },
    receivers: severities.map((severity) => ({ name: severity, webhook_configs: [{ url: url(severity), send_resolved: true }] })),
  };
}

export function exporterServices(config: ParityConfig, images: { postgres: string; redis: string; node: string }, running: ReadonlySet<string>): ServiceSpec[] {
  const postgresExporter = (name: string, host: string): ServiceSpec => ({
    name,
    logical: 'postgres-exporter',
    tier: 'monitoring',
    image: images.postgres,
    environment: {
      DATA_SOURCE_URI: `${host}:5432/${DATABASE.name}?sslmode=disable`,
      DATA_SOURCE_USER: DATABASE.user,
      DATA_SOURCE_PASS_FILE: '/run/secrets/postgres_password',
    },
    secrets: ['postgres_password'],
    dependsOn: { [host]: 'service_healthy' },
    healthcheck: httpHealth(9187, '/metrics'),
  });
  const services: ServiceSpec[] = [
    postgresExporter('postgres-exporter', 'postgres-primary'),
    postgresExporter('postgres-exporter-replica', 'postgres-replica'),
    {
      name: 'redis-exporter',
      logical: 'redis-exporter',
      tier: 'monitoring',
      image: images.redis,
      environment: { REDIS_ADDR: 'redis://redis:6379' },
      dependsOn: { redis: 'service_healthy' },
      healthcheck: httpHealth(9121, '/metrics'),
    },
  ];
  if (running.has('node-exporter')) {
    services.push({
      name: 'node-exporter',
      logical: 'node-exporter',
      tier: 'monitoring',
      image: images.node,
      healthcheck: httpHealth(9100, '/metrics'),
    });
  }
  void config;
  return services;
}

export function grafanaService(config: ParityConfig, image: string): ServiceSpec {
  return {
    name: 'grafana',
    logical: 'grafana',
    tier: 'monitoring',
    image,
    environment: {
      GF_SECURITY_ADMIN_USER: 'admin',
      GF_SECURITY_ADMIN_PASSWORD__FILE: '/run/secrets/grafana_admin_password',
      GF_ANALYTICS_REPORTING_ENABLED: 'false',
      GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
    },
    ports: [publish(config, config.ports.grafana, 3000)],
    volumes: ['./grafana/provisioning:/etc/grafana/provisioning:ro', './grafana/dashboards:/var/lib/grafana/dashboards:ro'],
    secrets: ['grafana_admin_password'],
    dependsOn: { prometheus: 'service_healthy' },
    healthcheck: { test: ['CMD', 'wget', '-q', '-O-', 'http://127.0.0.1:3000/api/health'] },
    url: `http://${hostFor(config)}:${config.ports.grafana} (admin / see .parity/secrets/grafana_admin_password)`,
  };
}

const panel = (id: number, title: string, expr: string, y: number) => ({
  id,
  title,
  type: 'timeseries',
  datasource: { type: 'prometheus', uid: 'prometheus' },
  gridPos: { h: 8, w: 12, x: (id % 2) * 12, y },
  targets: [{ refId: 'A', expr }],
});

/** The four dashboards: platform overview, blue/green traffic, Postgres, Redis. */
export const DASHBOARDS: Readonly<Record<string, { title: string; panels: Array<[string, string]> }>> = {
  'platform-overview': {
    title: 'Platform overview',
    panels: [
      ['Targets up', 'sum by (job) (up)'],
      ['Requests/s by service', 'sum by (job) (rate(http_requests_total[1m]))'],
      ['Error ratio by service', 'sum by (job) (rate(http_requests_total{status=~"5.."}[5m])) / sum by (job) (rate(http_requests_total[5m]))'],
      ['p95 latency by service', 'histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))'],
    ],
  },
  'blue-green': {
    title: 'Blue/green traffic',
    panels: [
      ['Requests/s by color', 'sum by (service) (rate(traefik_service_requests_total{service=~".*-(blue|green)@file"}[1m]))'],
      ['5xx by color', 'sum by (service) (rate(traefik_service_requests_total{service=~".*-(blue|green)@file",code=~"5.."}[1m]))'],
      ['p95 by color', 'histogram_quantile(0.95, sum by (service, le) (rate(traefik_service_request_duration_seconds_bucket{service=~".*-(blue|green)@file"}[5m])))'],
      ['Backend health', 'traefik_service_server_up'],
    ],
  },
  postgres: {
    title: 'Postgres',
    panels: [
      ['Up', 'pg_up'],
      ['Replication lag (s)', 'pg_replication_lag{role="replica"}'],
      ['Commits/s', 'sum by (role) (rate(pg_stat_database_xact_commit[1m]))'],
      ['Connections', 'sum by (role) (pg_stat_database_numbackends)'],
    ],
  },
  redis: {
    title: 'Redis',
    panels: [
      ['Memory used / limit', 'redis_memory_used_bytes / redis_memory_max_bytes'],
      ['Commands/s', 'rate(redis_commands_processed_total[1m])'],
      ['Connected clients', 'redis_connected_clients'],
      ['Keyspace hits ratio', 'rate(redis_keyspace_hits_total[5m]) / (rate(redis_keyspace_hits_total[5m]) + rate(redis_keyspace_misses_total[5m]))'],
    ],
  },
};

export function grafanaFiles(): GeneratedFile[] {
  const source = 'services/topology/monitoring.ts';
  return [
    {
      path: 'grafana/provisioning/datasources/prometheus.yml',
      content: renderYaml(
        { apiVersion: 1, datasources: [{ name: 'Prometheus', uid: 'prometheus', type: 'prometheus', access: 'proxy', url: 'http://prometheus:9090', isDefault: true }] },
        source,
      ),
    },
    {
      path: 'grafana/provisioning/dashboards/parity.yml',
      content: renderYaml(
        { apiVersion: 1, providers: [{ name: 'parity', folder: 'Parity', type: 'file', options: { path: '/var/lib/grafana/dashboards' } }] },
        source,
      ),
    },
    ...Object.entries(DASHBOARDS).map(([uid, dashboard]) => ({
      path: `grafana/dashboards/${uid}.json`,
      content: renderJson({
        uid,
        title: dashboard.title,
        description: `GENERATED by \`make gen\` from ${source}: do not edit.`,
        schemaVersion: 39,
        time: { from: 'now-1h', to: 'now' },
        refresh: '10s',
        panels: dashboard.panels.map(([title, expr], index) => panel(index + 1, title, expr, Math.floor(index / 2) * 8)),
      }),
    })),
  ];
}

export function monitoringFiles(config: ParityConfig, running: ReadonlySet<string>): GeneratedFile[] {
  const source = 'services/topology/monitoring.ts';
  return [
    { path: 'prometheus/prometheus.yml', content: renderYaml(renderPrometheusConfig(running), source) },
    { path: 'prometheus/alerts.yml', content: renderYaml(renderAlertRules(), source) },
    { path: 'prometheus/alerts.test.yml', content: renderYaml(renderAlertRuleTests(), source) },
    { path: 'alertmanager/alertmanager.yml', content: renderYaml(renderAlertmanagerConfig(config), source) },
  ];
}
