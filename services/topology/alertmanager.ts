/** Alertmanager: routing by severity to the local recorder or a configured webhook. */
import type { ParityConfig } from '../config/schema.js';
import { SEVERITY_ROUTES, type Severity } from './alerting.js';
import { STUB_PORT } from '../contracts/index.js';
import { hostFor, publish } from './common.js';
import { httpHealth, type FileSpec, type ServiceSpec } from './types.js';

export function alertmanagerService(config: ParityConfig, image: string): ServiceSpec {
  return {
    name: 'alertmanager',
    logical: 'alertmanager',
    tier: 'monitoring',
    image,
    command: ['--config.file=/etc/alertmanager/alertmanager.yml', '--storage.path=/alertmanager', '--cluster.listen-address='],
    ports: [publish(config, config.ports.alertmanager, 9093)],
    // A named volume for silences and the notification log: the image declares VOLUME
    // /alertmanager, and an anonymous one would be orphaned by every down/up cycle.
    volumes: ['./alertmanager:/etc/alertmanager:ro', 'alertmanager:/alertmanager'],
    healthcheck: httpHealth(9093, '/-/ready'),
    url: `http://${hostFor(config, 'alertmanager')}:${config.ports.alertmanager}`,
  };
}

export function alertmanagerConfig(config: ParityConfig): object {
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

export function alertmanagerFiles(config: ParityConfig): FileSpec[] {
  return [{ path: 'alertmanager/alertmanager.yml', format: 'yaml', value: alertmanagerConfig(config), source: 'services/topology/alertmanager.ts' }];
}
