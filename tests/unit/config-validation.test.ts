import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../services/config/validate.js';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';

/** The message a user sees for a config text. */
function problems(text: string): string {
  try {
    parseConfig(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    return (error as ConfigError).message;
  }
  throw new Error('expected the config to be rejected');
}

const one = (line: string) => `parity.yaml: 1 problem; nothing was written\n  ${line}`;

describe('parity.yaml: defaults', () => {
  it('GIVEN an empty file THEN every default applies', () => {
    expect(parseConfig('')).toEqual(DEFAULT_CONFIG);
    expect(parseConfig('# only comments\n')).toEqual(DEFAULT_CONFIG);
  });

  it('GIVEN a partial file THEN the rest keeps its defaults', () => {
    const config = parseConfig('profile: minimal\nports:\n  https: 9443\nversions:\n  postgres: "15.20"\n');
    expect(config.profile).toBe('minimal');
    expect(config.ports).toEqual({ ...DEFAULT_CONFIG.ports, https: 9443 });
    expect(config.versions.traefik).toBe(DEFAULT_CONFIG.versions.traefik);
  });
});

describe('parity.yaml: malformed configs, each with its exact message', () => {
  const cases: Array<[string, string, string]> = [
    ['malformed YAML (line and column)', 'ports:\n  http: "8080\n', one('parity.yaml:3:1 (file): malformed YAML: Missing closing "quote')],
    ['a duplicate key', 'profile: full\nprofile: minimal\n', one('parity.yaml:2:1 (file): malformed YAML: Map keys must be unique')],
    [
      'an unknown top-level key, with a suggestion',
      'prots:\n  http: 8080\n',
      one('parity.yaml:1:1 prots: unknown key (did you mean "ports"?); expected one of: profile, bindAddress, expose, activeColor, demo, ports, versions, services, resources, alerting, deploy, postgres, backup, dr, edge, drills, breakers, chaos'),
    ],
    [
      'an unknown nested key, with a suggestion',
      'ports:\n  htps: 8443\n',
      one('parity.yaml:2:3 ports.htps: unknown key (did you mean "https"?); expected one of: http, https, dashboard, postgres, postgresReplica, redis, s3, prometheus, alertmanager, grafana'),
    ],
    ['a port that is not a number', 'ports:\n  http: eighty\n', one('parity.yaml:2:9 ports.http: expected a port number from 1 to 65535, got "eighty"')],
    ['a port out of range', 'ports:\n  https: 70000\n', one('parity.yaml:2:10 ports.https: expected a port number from 1 to 65535, got 70000')],
    [
      'two entrypoints on one port',
      'ports:\n  http: 8080\n  https: 8080\n',
      one('parity.yaml:3:3 ports.https: port 8080 is already used by ports.http; each published port must be unique'),
    ],
    [
      'a clash with another service\'s default port',
      'ports:\n  redis: 5432\n',
      one('parity.yaml:2:3 ports.redis: port 5432 is already used by ports.postgres; each published port must be unique'),
    ],
    ['an unknown profile', 'profile: maximal\n', one('parity.yaml:1:10 profile: expected one of "minimal", "full", got "maximal"')],
    ['an unknown color', 'activeColor: red\n', one('parity.yaml:1:14 activeColor: expected one of "blue", "green", got "red"')],
    [
      'a host name where an address is expected',
      'bindAddress: localhost\n',
      one('parity.yaml:1:14 bindAddress: expected an IPv4 address such as 127.0.0.1 (or 0.0.0.0 for every interface), got "localhost"'),
    ],
    [
      'an unquoted version YAML would read as a number',
      'versions:\n  postgres: 15.20\n',
      one('parity.yaml:2:13 versions.postgres: write versions as strings (quote them: "15.20"), expected e.g. "15.20"'),
    ],
    [
      'a canary step too short to judge',
      'deploy:\n  stepSeconds: 1\n',
      one('parity.yaml:2:16 deploy.stepSeconds: expected a whole number from 5 to 3600 (seconds), got 1'),
    ],
    [
      'an error budget given as a string',
      'deploy:\n  errorRatePercent: "1%"\n',
      one('parity.yaml:2:21 deploy.errorRatePercent: expected a number from 0 to 100 (percent), got "1%"'),
    ],
    ['an invalid version', 'versions:\n  traefik: latest\n', one('parity.yaml:2:12 versions.traefik: expected a version like "v3.6.12", got "latest"')],
    ['a version of the wrong major', 'versions:\n  traefik: v2.11.0\n', one('parity.yaml:2:12 versions.traefik: expected a version like "v3.6.12", got "v2.11.0"')],
    [
      'a profile that drops what grafana needs',
      'profile: minimal\nservices:\n  grafana:\n    enabled: true\n',
      one('parity.yaml:4:5 services.grafana.enabled: grafana needs prometheus, but profile "minimal" drops it (use profile: full)'),
    ],
    [
      'a profile that drops alertmanager while alerting is configured',
      'profile: minimal\nalerting:\n  webhookUrl: http://hooks.example.invalid/alert\n',
      one('parity.yaml:3:3 alerting.webhookUrl: alerting needs alertmanager, but profile "minimal" drops it (use profile: full)'),
    ],
    [
      'resources for a service the profile drops',
      'profile: minimal\nresources:\n  prometheus:\n    memory: 512m\n',
      one('parity.yaml:3:3 resources.prometheus: prometheus does not run with this config (profile "minimal" or disabled), so it can\'t be sized'),
    ],
    ['a bad memory size', 'resources:\n  ivor:\n    memory: lots\n', one('parity.yaml:3:13 resources.ivor.memory: expected a memory size such as "256m" or "1g", got "lots"')],
    ['a negative CPU limit', 'resources:\n  ivor:\n    cpus: -1\n', one('parity.yaml:3:11 resources.ivor.cpus: expected a number of cores greater than 0 (e.g. 0.5), got -1')],
    ['a list where a mapping is expected', 'ports: [8080, 8443]\n', one('parity.yaml:1:8 ports: expected a mapping, got a list')],
    ['a list at the top', '- profile: full\n', one('parity.yaml:1:1 (file): expected a mapping of settings (e.g. "profile: full"), got a list')],
    ['a lone word at the top', 'full\n', one('parity.yaml:1:1 (file): expected a mapping of settings (e.g. "profile: full"), got "full"')],
    [
      'UTF-16 read as UTF-8 (byte-order mark FF FE)',
      '\uFFFD\uFFFDp\u0000r\u0000',
      one('parity.yaml:1:1 (file): not UTF-8 text (a UTF-16 or UTF-32 byte-order mark?): save the file as UTF-8'),
    ],
    ['a NUL byte on line 2', 'profile: full\nports:\u0000\n', one('parity.yaml:2:7 (file): a NUL byte: this is a binary file or not UTF-8 text; expected a YAML file saved as UTF-8')],
    ['bytes that are not UTF-8', 'profile: f\uFFFDll\n', one('parity.yaml:1:11 (file): bytes that are not UTF-8: expected a YAML file saved as UTF-8')],
    ['a webhook that is not http(s)', 'alerting:\n  webhookUrl: ftp://x\n', one('parity.yaml:2:15 alerting.webhookUrl: expected an http(s) URL, got "ftp://x"')],
    [
      'Patroni timings that break Patroni\'s own rule (loop_wait + 2 × retry_timeout ≤ ttl)',
      'postgres:\n  patroni:\n    ttl: 5\n    loopWait: 2\n    retryTimeout: 2\n',
      one(
        'parity.yaml:3:5 postgres.patroni.ttl: loopWait 2 + 2 × retryTimeout 2 = 6 s is more than ttl 5 s; Patroni requires loopWait + 2 × retryTimeout ≤ ttl, or a leader could lose its lease before it notices (raise ttl or lower the others)',
      ),
    ],
    [
      'a retry timeout under the etcd3 floor',
      'postgres:\n  patroni:\n    retryTimeout: 1\n',
      one(
        "parity.yaml:3:5 postgres.patroni.retryTimeout: expected at least 2 s, got 1: Patroni 3.0.2's etcd3 backend gives up taking the leader lock when less than 1 s of retry_timeout is left after renewing its lease, so no replica could ever be promoted (measured: the cluster stays leaderless after the leader dies)",
      ),
    ],
    ['strict synchronous mode without synchronous mode', 'postgres:\n  synchronous: false\n  synchronousStrict: true\n', one('parity.yaml:3:3 postgres.synchronousStrict: expected synchronous: true as well (strict mode is a variant of synchronous mode)')],
    [
      'Patroni settings with plain streaming replication',
      'postgres:\n  ha: streaming\n  nodes: 3\n',
      one('parity.yaml:3:3 postgres.nodes: only applies with postgres.ha: patroni (streaming runs one primary and one replica)'),
    ],
    ['too few Patroni nodes', 'postgres:\n  nodes: 1\n', one('parity.yaml:2:10 postgres.nodes: expected a whole number from 2 to 5 (Patroni nodes), got 1')],
    ['a drill budget of the wrong kind', 'drills:\n  failover:\n    rtoSeconds: "3s"\n', one('parity.yaml:3:17 drills.failover.rtoSeconds: expected a number from 0.1 to 3600 (seconds), got "3s"')],
  ];

  it.each(cases)('%s', (_name, text, expected) => {
    expect(problems(text)).toBe(expected);
  });

  it('reports every problem together, in file order', () => {
    expect(problems('profile: maximal\nports:\n  http: 0\n  dashbord: 9000\n')).toBe(
      'parity.yaml: 3 problems; nothing was written\n' +
        '  parity.yaml:1:10 profile: expected one of "minimal", "full", got "maximal"\n' +
        '  parity.yaml:3:9 ports.http: expected a port number from 1 to 65535, got 0\n' +
        '  parity.yaml:4:3 ports.dashbord: unknown key (did you mean "dashboard"?); expected one of: http, https, dashboard, postgres, postgresReplica, redis, s3, prometheus, alertmanager, grafana',
    );
  });
});

describe('parity.yaml: the database tier follows the profile unless told', () => {
  it('GIVEN no postgres.ha THEN full runs Patroni and minimal plain streaming', () => {
    expect(parseConfig('').postgres.ha).toBe('patroni');
    expect(parseConfig('profile: minimal\n').postgres.ha).toBe('streaming');
    expect(parseConfig('profile: minimal\npostgres:\n  ha: patroni\n').postgres.ha).toBe('patroni');
  });
});
