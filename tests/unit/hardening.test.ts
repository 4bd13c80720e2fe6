import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../services/config/validate.js';
import { buildTopology } from '../../services/topology/index.js';
import { renderAll } from '../../services/render/compose.js';
import { MAX_SLOT_WAL_KEEP_SIZE, describeExposure, hostFor } from '../../services/topology/common.js';
import { networksOf } from '../../services/topology/types.js';
import { REDIS_USERS, redisAclLines } from '../../services/topology/redis.js';
import { loadSettings } from '../../stubs/src/runtime/settings.js';
import { ensureRedisAcl } from '../../scripts/runners/stack/stack-state.js';
import { installSecretFiles, secretCopiesOf } from '../../scripts/runners/stack/secret-files.js';
import { renderCompose } from '../../services/render/compose.js';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type ComposeService = { command?: string[]; networks?: string[] | Record<string, { aliases: string[] }> };
const rendered = (yaml: string) => renderAll(buildTopology(parseConfig(yaml)));
const composeOf = (yaml: string) => parse(rendered(yaml).get('compose.yaml')!.content) as { services: Record<string, ComposeService> };

describe('hardening: Postgres', () => {
  it('bounds the WAL a replication slot may hold, in Patroni\'s dynamic config and on the plain primary', () => {
    const patroni = parse(rendered('').get('patroni/patroni.yml')!.content) as { bootstrap: { dcs: { postgresql: { parameters: Record<string, unknown> } } } };
    expect(patroni.bootstrap.dcs.postgresql.parameters.max_slot_wal_keep_size).toBe(MAX_SLOT_WAL_KEEP_SIZE);
    const primary = composeOf('profile: minimal\npostgres:\n  ha: streaming\n').services['postgres-primary']!;
    expect(primary.command).toContain(`max_slot_wal_keep_size=${MAX_SLOT_WAL_KEEP_SIZE}`);
  });
});

describe('hardening: networks', () => {
  const everything = 'profile: full\nservices:\n  grafana:\n    enabled: true\nchaos:\n  enabled: true\nbackup:\n  enabled: true\n';
  const topology = buildTopology(parseConfig(everything));
  const on = (network: string) => topology.services.filter((service) => networksOf(service).includes(network as never)).map((service) => service.name).sort();

  it('the edge network holds Traefik only: no data service (nor Toxiproxy in front of them) is reachable from it', () => {
    expect(on('edge')).toEqual(['traefik']);
    for (const service of topology.services.filter((s) => s.tier === 'data')) expect(networksOf(service), service.name).not.toContain('edge');
  });

  it('Traefik on edge + apps, the apps on apps + data, the data services on data, monitoring on monitoring plus what it scrapes', () => {
    const of = (name: string) => networksOf(topology.services.find((service) => service.name === name)!);
    // And the front network, where the front (host network, no project network of its own) reaches it.
    expect(of('traefik')).toEqual(['front', 'edge', 'apps']);
    expect(of('front')).toEqual([]);
    for (const name of ['auth', 'ivor-blue', 'newsroom-green']) expect(of(name), name).toEqual(['apps', 'data']);
    expect(of('frontend-green')).toEqual(['apps']);
    for (const name of ['postgres-1', 'etcd-1', 'postgres-writer', 'redis', 's3']) expect(of(name), name).toEqual(['data']);
    expect(of('prometheus')).toEqual(['monitoring', 'apps', 'data']);
    for (const name of ['postgres-exporter', 'redis-exporter']) expect(of(name), name).toEqual(['monitoring', 'data']);
    for (const name of ['grafana', 'alertmanager', 'alert-receiver', 'node-exporter']) expect(of(name), name).toEqual(['monitoring']);
    expect(of('toxiproxy')).toEqual(['apps', 'data']);
  });

  it('every scrape target shares a network with Prometheus', () => {
    const config = parse(rendered(everything).get('prometheus/prometheus.yml')!.content) as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> };
    const prometheus = networksOf(topology.services.find((service) => service.name === 'prometheus')!);
    const hosts = config.scrape_configs.flatMap((job) => job.static_configs.flatMap((group) => group.targets.map((target) => target.split(':')[0]!))).filter((host) => host !== 'localhost');
    expect(hosts.length).toBeGreaterThan(15);
    for (const host of hosts) {
      const service = topology.services.find((candidate) => candidate.name === host);
      expect(service, host).toBeDefined();
      expect(networksOf(service!).some((network) => prometheus.includes(network)), host).toBe(true);
    }
  });

  it('compose declares the networks it uses, project-relative (no fixed names), and no default network', () => {
    const compose = parse(rendered(everything).get('compose.yaml')!.content) as { networks: Record<string, object>; services: Record<string, ComposeService> };
    expect(Object.keys(compose.networks).sort()).toEqual(['apps', 'data', 'edge', 'front', 'monitoring']);
    expect(compose.networks.front).toEqual({ ipam: { config: [{ subnet: expect.stringMatching(/^10\.213\./), gateway: expect.stringMatching(/^10\.213\./) }] } });
    for (const [name, service] of Object.entries(compose.services)) expect(service.networks ?? (service as { network_mode?: string }).network_mode, name).toBeDefined();
  });

  it('GIVEN a DR region THEN the aliases the link reaches are on every network of their service', () => {
    const compose = parse(rendered('profile: minimal\npostgres:\n  ha: patroni\n  nodes: 2\nbackup:\n  enabled: true\ndr:\n  enabled: true\n').get('compose.yaml')!.content) as { services: Record<string, ComposeService> };
    expect(compose.services['postgres-writer']!.networks).toEqual({ data: { aliases: ['primary-postgres'] } });
    expect(compose.services.traefik!.networks).toEqual({
      front: { aliases: ['primary-traefik'], ipv4_address: expect.stringMatching(/^10\.213\./) },
      edge: { aliases: ['primary-traefik'] },
      apps: { aliases: ['primary-traefik'] },
    });
  });
});

describe('hardening: publishing', () => {
  const ports = (yaml: string) => Object.fromEntries(Object.entries(composeOf(yaml).services as Record<string, { ports?: string[] }>).filter(([, service]) => service.ports).map(([name, service]) => [name, service.ports!]));

  it('GIVEN bindAddress 0.0.0.0 THEN only the users\' entrypoints leave loopback; the dashboard, the data and monitoring stay on 127.0.0.1', () => {
    const published = ports('bindAddress: 0.0.0.0\n');
    // Users arrive through the front, which binds bindAddress itself; Traefik's own ports are the operators'.
    expect(published.traefik).toEqual(['127.0.0.1::80', '127.0.0.1::443', '127.0.0.1:8081:8080']);
    expect(rendered('bindAddress: 0.0.0.0\n').get('front/haproxy.cfg')!.content).toContain('  bind 0.0.0.0:8443');
    const others = Object.entries(published).filter(([name]) => name !== 'traefik').flatMap(([, list]) => list);
    expect(others.length).toBeGreaterThan(5);
    for (const port of others) expect(port).toMatch(/^127\.0\.0\.1:/);
    expect(describeExposure(parseConfig('bindAddress: 0.0.0.0\n'))).toEqual(['the edge (http :8080, https :8443) on 0.0.0.0']);
  });

  it('GIVEN expose: [grafana, traefik] THEN those follow bindAddress too, make up warns about each, and their URLs say where', () => {
    const yaml = 'bindAddress: 0.0.0.0\nexpose: [grafana, traefik]\nservices:\n  grafana:\n    enabled: true\n';
    const published = ports(yaml);
    expect(published.grafana).toEqual(['0.0.0.0:3000:3000']);
    expect(published.traefik).toEqual(['127.0.0.1::80', '127.0.0.1::443', '0.0.0.0:8081:8080']);
    expect(published.redis).toEqual(['127.0.0.1:6379:6379']);
    const config = parseConfig(yaml);
    expect(describeExposure(config)).toEqual(['the edge (http :8080, https :8443) on 0.0.0.0', 'grafana on 0.0.0.0 (expose)', 'traefik on 0.0.0.0 (expose)']);
    expect([hostFor(config, 'grafana'), hostFor(config, 'redis'), hostFor(config)]).toEqual(['localhost', '127.0.0.1', 'localhost']);
  });

  it('GIVEN a loopback bindAddress THEN expose changes nothing and nothing is announced', () => {
    expect(ports('expose: [redis]\n').redis).toEqual(['127.0.0.1:6379:6379']);
    expect(describeExposure(parseConfig('expose: [redis]\n'))).toEqual([]);
  });

  it.each([
    ['an unknown name, with a near miss', 'bindAddress: 0.0.0.0\nexpose:\n  - grafna\n', 'parity.yaml:3:5 expose[0]: expected one of "traefik", "postgres-writer", "postgres-reader", "postgres-primary", "postgres-replica", "redis", "s3", "prometheus", "alertmanager", "grafana", got "grafna" (did you mean "grafana"?)'],
    ['a service this config does not publish', 'expose: [postgres-primary]\n', 'parity.yaml:1:10 expose[0]: postgres-primary publishes no port with this config (profile full, postgres.ha patroni); expected one of: traefik, postgres-writer, postgres-reader, redis, s3, prometheus, alertmanager'],
  ])('GIVEN %s in expose THEN exit 2 with file:line', (_, yaml, message) => {
    let error: unknown;
    try {
      parseConfig(yaml);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    expect((error as ConfigError).message).toBe(`parity.yaml: 1 problem; nothing was written\n  ${message}`);
  });
});

describe('hardening: containers', () => {
  type Hardened = { security_opt?: string[]; cap_drop?: string[]; cap_add?: string[]; read_only?: boolean; tmpfs?: string[]; user?: string; mem_limit?: string };
  const configs = [
    'profile: full\nservices:\n  grafana:\n    enabled: true\nchaos:\n  enabled: true\nbackup:\n  enabled: true\n',
    'profile: full\npostgres:\n  ha: streaming\nservices:\n  s3:\n    provider: minio\n',
  ];
  const services = (yaml: string) => (parse(rendered(yaml).get('compose.yaml')!.content) as { services: Record<string, Hardened> }).services;

  it.each(configs)('every container runs with no-new-privileges, every capability dropped and a memory limit (%#)', (yaml) => {
    for (const [name, service] of Object.entries(services(yaml))) {
      expect(service.security_opt, name).toEqual(['no-new-privileges:true']);
      expect(service.cap_drop, name).toEqual(['ALL']);
      expect(service.mem_limit, name).toMatch(/^\d+[mg]$/);
    }
  });

  it('capabilities come back only where an entrypoint starts as root to fix a volume and drop to postgres', () => {
    const granted = (yaml: string) => Object.entries(services(yaml)).filter(([, service]) => service.cap_add).map(([name, service]) => `${name}: ${service.cap_add!.join(' ')}`);
    const root = 'CHOWN DAC_OVERRIDE FOWNER SETUID SETGID';
    expect(granted(configs[0]!)).toEqual([`postgres-1: ${root}`, `postgres-2: ${root}`, `postgres-3: ${root}`]);
    expect(granted(configs[1]!)).toEqual([`postgres-primary: ${root}`, `postgres-replica: ${root}`]);
  });

  it('images that would run as root run as their own user; root filesystems are read-only except where an image writes outside its volumes', () => {
    const full = services(configs[0]!);
    expect([full.traefik!.user, full.toxiproxy!.user, full.redis!.user, full.s3!.user]).toEqual(['65534:65534', '65534:65534', '999:999', '1000:1000']);
    const writable = Object.entries(full).filter(([, service]) => !service.read_only).map(([name]) => name);
    expect(writable).toEqual(['grafana', 'postgres-1', 'postgres-2', 'postgres-3']);
    expect(full.traefik!.tmpfs).toEqual(['/tmp']);
    // MinIO's upstream image keeps its own user and a writable root.
    expect(services(configs[1]!).s3).toMatchObject({ mem_limit: '512m' });
    expect(services(configs[1]!).s3!.user).toBeUndefined();
  });

  it('GIVEN resources.<service>.memory THEN it replaces the default limit', () => {
    expect(services('resources:\n  ivor:\n    memory: 384m\n')['ivor-blue']!.mem_limit).toBe('384m');
    expect(services('')['ivor-blue']!.mem_limit).toBe('256m');
  });
});

describe('hardening: Redis ACL users', () => {
  type Service = { command?: string[]; environment?: Record<string, string>; secrets?: Array<{ source: string; target: string }>; entrypoint?: string[]; healthcheck?: { test: string[] } };
  const services = (yaml: string) => (parse(rendered(yaml).get('compose.yaml')!.content) as { services: Record<string, Service> }).services;

  it('Redis loads its users from the ACL secret; its health check logs in as the exporter with the password from a file', () => {
    const redis = services('').redis!;
    expect(redis.command!.slice(-2)).toEqual(['--aclfile', '/run/secrets/redis_acl']);
    expect(redis.secrets).toEqual([{ source: 'redis_acl_uid999', target: 'redis_acl' }, { source: 'redis_exporter_password_uid999', target: 'redis_exporter_password' }]);
    expect(redis.healthcheck!.test.join(' ')).toContain('REDISCLI_AUTH="$$(cat /run/secrets/redis_exporter_password)" redis-cli --no-auth-warning --user exporter ping');
  });

  it.each(['', 'chaos:\n  enabled: false\n'])('the stubs connect as app with the password from a file, the exporter as exporter (%#)', (yaml) => {
    const all = services(yaml);
    for (const name of ['auth', 'ivor-blue', 'events-green', 'newsroom-blue']) {
      expect(all[name]!.environment!.REDIS_URL, name).toMatch(/^redis:\/\/app@(redis:6379|toxiproxy:16379)$/);
      expect(all[name]!.environment!.REDIS_PASSWORD_FILE, name).toBe('/run/secrets/redis_app_password');
      expect(all[name]!.secrets, name).toContainEqual({ source: 'redis_app_password_uid1000', target: 'redis_app_password' });
    }
    // The frontend has no data store: only the public keys, to check the admin page's token itself.
    expect(all['frontend-blue']!.secrets).toEqual([{ source: 'jwt_public_keys_uid1000', target: 'jwt_public_keys' }]);
    expect(all['redis-exporter']!.environment).toEqual({ REDIS_ADDR: 'redis://redis:6379', REDIS_USER: 'exporter', GOMEMLIMIT: '102MiB' });
    expect(all['redis-exporter']!.secrets).toEqual([{ source: 'redis_exporter_password_uid65534', target: 'redis_exporter_password' }]);
  });

  it('the default user is off; app reaches only the stubs\' key prefixes, without dangerous or admin commands; the exporter no key', () => {
    expect(redisAclLines({ app: 'a'.repeat(64), exporter: 'e'.repeat(64), rotation: 'f'.repeat(64) })).toEqual([
      'user default off resetkeys resetchannels -@all',
      `user app on #${'a'.repeat(64)} ${REDIS_USERS.app.slice(3)}`,
      `user exporter on #${'e'.repeat(64)} ${REDIS_USERS.exporter.slice(3)}`,
      `user rotation on #${'f'.repeat(64)} resetkeys resetchannels -@all +acl|setuser +acl|getuser +acl|log +client|list +ping`,
    ]);
    expect(REDIS_USERS.app).toMatch(/~auth:\* ~ivor:\* ~ryw:\* ~snapshot:\* ~cache:\* .* -@dangerous -@admin \+info$/);
    expect(REDIS_USERS.exporter).not.toMatch(/~|allkeys/);
  });

  it('stack state writes the ACL file from the passwords\' SHA-256 (never the passwords), and rewrites it only when they change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-acl-'));
    try {
      mkdirSync(join(dir, 'secrets'));
      writeFileSync(join(dir, 'secrets', 'redis_app_password'), 'app-secret\n');
      writeFileSync(join(dir, 'secrets', 'redis_exporter_password'), 'exporter-secret\n');
      expect(await ensureRedisAcl(dir)).toBe(true);
      const acl = readFileSync(join(dir, 'secrets', 'redis_acl'), 'utf8');
      expect(acl).toContain(`user app on #${createHash('sha256').update('app-secret').digest('hex')} `);
      expect(acl).not.toContain('app-secret');
      expect(await ensureRedisAcl(dir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a stub puts the password from REDIS_PASSWORD_FILE into the URL it connects with', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-redis-'));
    try {
      writeFileSync(join(dir, 'pw'), 'p/w+1\n');
      const settings = loadSettings({ SERVICE: 'frontend', REDIS_URL: 'redis://app@toxiproxy:16379', REDIS_PASSWORD_FILE: join(dir, 'pw') });
      expect(settings.redisUrl).toBe('redis://app:p%2Fw%2B1@toxiproxy:16379');
      // Read again on every reconnect (make rotate-secrets); not when the password came from the environment.
      expect(settings.redisPasswordFile).toBe(join(dir, 'pw'));
      expect(loadSettings({ SERVICE: 'frontend', REDIS_URL: 'redis://app@redis:6379', REDIS_PASSWORD: 'x', REDIS_PASSWORD_FILE: join(dir, 'pw') }).redisPasswordFile).toBeUndefined();
      expect(loadSettings({ SERVICE: 'frontend', REDIS_URL: 'redis://redis:6379' }).redisUrl).toBe('redis://redis:6379');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hardening: secret files', () => {
  it('each container mounts the copy of a secret owned by its own uid; the compose file names one copy per secret and reader', () => {
    const compose = parse(rendered('').get('compose.yaml')!.content) as { secrets: Record<string, { file: string }>; services: Record<string, { secrets?: Array<{ source: string; target: string }> }> };
    expect(compose.services['postgres-1']!.secrets).toContainEqual({ source: 'postgres_password_uid999', target: 'postgres_password' });
    expect(compose.services['postgres-exporter']!.secrets).toEqual([{ source: 'pg_exporter_password_uid65534', target: 'pg_exporter_password' }]);
    expect(compose.services.auth!.secrets).toContainEqual({ source: 'pg_auth_password_uid1000', target: 'pg_auth_password' });
    // The superuser's password: the database nodes and db-init (uid 999) only, never an app or an exporter.
    expect(Object.keys(compose.secrets).filter((name) => name.startsWith('postgres_password'))).toEqual(['postgres_password_uid999']);
    expect(compose.secrets.postgres_password_uid999!.file).toMatch(/\/secrets\/uid-999\/postgres_password$/);
  });

  it('GIVEN a state directory THEN every secret and key is 0600 in 0700 directories, each copy goes to its reader, and stale copies go', async () => {
    const state = mkdtempSync(join(tmpdir(), 'parity-secrets-'));
    const composeDir = mkdtempSync(join(tmpdir(), 'parity-compose-'));
    try {
      const topology = buildTopology(parseConfig(''));
      writeFileSync(join(composeDir, 'compose.yaml'), renderCompose(topology));
      mkdirSync(join(state, 'secrets'), { mode: 0o700 });
      for (const name of topology.secrets) writeFileSync(join(state, 'secrets', name), `value of ${name}\n`, { mode: 0o644 });
      mkdirSync(join(state, 'secrets', 'uid-4242'), { mode: 0o700 });
      writeFileSync(join(state, 'secrets', 'uid-4242', 'jwt_key'), 'stale');
      mkdirSync(join(state, 'tls'));
      writeFileSync(join(state, 'tls', 'key.pem'), 'key', { mode: 0o644 });
      const given: Array<{ path: string; uid: number }> = [];
      const written = await installSecretFiles(state, [composeDir, join(composeDir, 'dr')], async (_, files) => void given.push(...files));

      const copies = secretCopiesOf(readFileSync(join(composeDir, 'compose.yaml'), 'utf8'));
      expect(written.sort()).toEqual([...copies.map((copy) => `secrets/uid-${copy.uid}/${copy.name}`), 'tls/key.pem'].sort());
      expect(given.find((file) => file.path.endsWith('uid-999/postgres_password'))?.uid).toBe(999);
      expect(given.find((file) => file.path.endsWith('tls/key.pem'))?.uid).toBe(65534);
      expect(readFileSync(join(state, 'secrets', 'uid-65534', 'pg_exporter_password'), 'utf8')).toBe('value of pg_exporter_password\n');
      expect(readdirSync(join(state, 'secrets', 'uid-4242'))).toEqual([]);
      const mode = (path: string) => statSync(path).mode & 0o777;
      const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? [join(dir, entry.name), ...walk(join(dir, entry.name))] : [join(dir, entry.name)]));
      for (const path of walk(join(state, 'secrets'))) expect(mode(path), path).toBe(statSync(path).isDirectory() ? 0o700 : 0o600);
      expect(mode(join(state, 'tls', 'key.pem'))).toBe(0o600);
      // Nothing changed: nothing is copied or given again.
      expect(await installSecretFiles(state, [composeDir], async () => {})).toEqual(['tls/key.pem']);
    } finally {
      rmSync(state, { recursive: true, force: true });
      rmSync(composeDir, { recursive: true, force: true });
    }
  });
});

describe('hardening: Go programs know their container\'s memory limit', () => {
  type Service = { environment?: Record<string, string>; mem_limit?: string };
  const services = (yaml: string) => (parse(rendered(yaml).get('compose.yaml')!.content) as { services: Record<string, Service> }).services;
  it('GIVEN the full profile THEN every Go service gets GOMEMLIMIT at 80 % of its limit (a resources override included), and no Node or Postgres service does', () => {
    const all = services('profile: full\nresources:\n  toxiproxy:\n    memory: 1g\n');
    expect(all.traefik!.mem_limit).toBe('512m');
    expect(all.traefik!.environment).toMatchObject({ GOMEMLIMIT: '409MiB' });
    expect(all.toxiproxy!.environment).toMatchObject({ GOMEMLIMIT: '819MiB' });
    expect(all.front!.mem_limit).toBe('128m');
    for (const name of ['prometheus', 'alertmanager', 'etcd-1', 's3', 'postgres-exporter', 'node-exporter']) expect(all[name]!.environment?.GOMEMLIMIT, name).toMatch(/^\d+MiB$/);
    for (const name of ['auth', 'events-blue', 'postgres-1', 'redis', 'front']) expect(all[name]!.environment?.GOMEMLIMIT, name).toBeUndefined();
  });
});
