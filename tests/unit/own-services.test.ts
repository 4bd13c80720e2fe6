/**
 * A developer's image in a stub's place (`services.<name>.source: image`, issue #22): what the model
 * renders for it — everything the stub had, its own port, environment and health paths — and the
 * probe that judges it from outside.
 */
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../services/config/validate.js';
import { buildTopology } from '../../services/topology/index.js';
import { renderCompose, renderFiles, renderWatchOverride } from '../../services/render/compose.js';
import { fillTemplate, ownEnvironment, templateValues } from '../../services/topology/own-services.js';

const CONFIG = [
  'services:',
  '  events:',
  '    source: image',
  '    image: parity-example/events-python:dev',
  '    port: 8080',
  '    health: { live: /livez, ready: /readyz }',
  '    env: { LOG_LEVEL: debug }',
  '    envMap:',
  '      DATABASE_URL: "postgresql://{postgres.user}@{postgres.host}:{postgres.port}/{postgres.database}"',
  '      DB_PASSWORD_FILE: "{postgres.passwordFile}"',
  '  frontend:',
  '    source: image',
  '    image: team/frontend:1.2',
  '    health: { live: /up }',
  '',
].join('\n');

interface ComposeService {
  image: string;
  environment: Record<string, string>;
  healthcheck: { disable?: boolean; test?: string[] };
  labels: Record<string, string>;
  networks: unknown;
  secrets?: { source: string; target: string }[];
  user?: string;
  read_only?: boolean;
  entrypoint?: string[];
  depends_on?: Record<string, { condition: string }>;
}

const config = parseConfig(CONFIG);
const topology = buildTopology(config);
const stub = buildTopology(parseConfig(''));
const files = renderFiles(topology);
const compose = parse(renderCompose(topology, files)) as { services: Record<string, ComposeService> };
const file = (path: string) => files.find((f) => f.path === path)!.content;

describe('image mode: the model', () => {
  it('GIVEN events from an image THEN both colors run it with the stub\'s networks, secrets and data environment, its own port and env; only a deploy naming events replaces it', () => {
    for (const color of ['blue', 'green'] as const) {
      const own = compose.services[`events-${color}`]!;
      const theStub = stub.services.find((service) => service.name === `events-${color}`)!;
      expect(own.image).toBe(`\${PARITY_IMAGE_EVENTS_${color.toUpperCase()}:-parity-example/events-python:dev}`);
      expect(own.secrets?.map((secret) => secret.target)).toEqual(theStub.secrets);
      expect(own.networks).toEqual(parse(renderCompose(stub, renderFiles(stub))).services[`events-${color}`].networks);
      expect(own.environment).toMatchObject({
        PORT: '8080',
        COLOR: color,
        DATABASE_USER: 'app_events',
        DATABASE_HOST: theStub.environment!.DATABASE_HOST,
        DATABASE_PASSWORD_FILE: '/run/secrets/pg_events_password',
        LOG_LEVEL: 'debug',
        DATABASE_URL: `postgresql://app_events@${theStub.environment!.DATABASE_HOST}:${theStub.environment!.DATABASE_PORT ?? '5432'}/platform`,
        DB_PASSWORD_FILE: '/run/secrets/pg_events_password',
      });
      expect(own.user).toBe('1000:1000');
      expect(own.read_only).toBeUndefined();
      expect(own.labels['dev.parity.http-port']).toBe('8080');
    }
  });

  it('THEN its own health check is off (a distroless image has no shell) and a probe beside it asks its readiness path over the network', () => {
    const own = compose.services['events-blue']!;
    expect(own.healthcheck).toEqual({ disable: true });
    expect(own.labels['dev.parity.probed-by']).toBe('events-blue-probe');
    const probe = compose.services['events-blue-probe']!;
    expect(probe.entrypoint).toEqual(['sleep', 'infinity']);
    expect(probe.depends_on).toEqual({ 'events-blue': { condition: 'service_started' } });
    expect(probe.healthcheck.test!.join(' ')).toContain('/dev/tcp/events-blue/8080');
    expect(probe.healthcheck.test!.join(' ')).toContain('GET /readyz ');
    expect(probe.labels['dev.parity.color']).toBeUndefined();
    expect(compose.services['ivor-blue-probe']).toBeUndefined();
  });

  it('THEN Toxiproxy, Prometheus and Traefik reach it on its port; the frontend\'s edge health check uses its liveness path', () => {
    const proxies = JSON.parse(file('toxiproxy/proxies.json')) as { name: string; upstream: string }[];
    expect(proxies.find((p) => p.name === 'events-blue')?.upstream).toBe('events-blue:8080');
    expect(proxies.find((p) => p.name === 'ivor-blue')?.upstream).toBe('ivor-blue:3000');
    expect(file('prometheus/prometheus.yml')).toContain('events-blue:8080');
    const edge = parse(file('traefik/dynamic/edge.yml')) as { http: { services: Record<string, { loadBalancer: { healthCheck?: { path: string }; servers: { url: string }[] } }> } };
    expect(edge.http.services['frontend-blue']!.loadBalancer.healthCheck?.path).toBe('/up');
    expect(edge.http.services['frontend-blue']!.loadBalancer.servers[0]!.url).toBe('http://frontend-blue:3000');
    expect(edge.http.services['newsroom-blue']!.loadBalancer.healthCheck).toBeUndefined();
  });

  it('GIVEN chaos off (minimal) THEN the frontend is told the example\'s port; the stubs keep their default address', () => {
    const minimal = buildTopology(parseConfig(`profile: minimal\n${CONFIG}`));
    const frontend = minimal.services.find((service) => service.name === 'frontend-green')!;
    expect(frontend.environment).toMatchObject({ EVENTS_URL: 'http://events-green:8080' });
    expect(frontend.environment?.IVOR_URL).toBeUndefined();
  });

  it('GIVEN the stubs only THEN nothing changes for them: no probes, their own checks, the stubs\' port', () => {
    expect(stub.services.some((service) => service.logical === 'probe')).toBe(false);
    expect(stub.services.find((service) => service.name === 'events-blue')!.probedBy).toBeUndefined();
  });
});

describe('envMap templates', () => {
  it('GIVEN the stub\'s environment THEN each value comes from it, the reader\'s port falls back to the writer\'s, and what the stack lacks is empty', () => {
    const values = templateValues({ DATABASE_HOST: 'toxiproxy', DATABASE_PORT: '15432', DATABASE_REPLICA_HOST: 'toxiproxy', DATABASE_NAME: 'platform', DATABASE_USER: 'app_ivor', REDIS_URL: 'redis://app@toxiproxy:16379' }, 8080);
    expect(values).toMatchObject({ 'postgres.readerPort': '15432', 'redis.user': 'app', 'redis.port': '16379', 's3.endpoint': '', 'service.port': '8080' });
    expect(fillTemplate('redis://{redis.user}@{redis.host}:{redis.port}', values)).toBe('redis://app@toxiproxy:16379');
  });

  it('GIVEN env and envMap THEN the service\'s port is PORT, env adds, envMap composes', () => {
    const environment = ownEnvironment({ source: 'image', image: 'x', port: 9000, env: { A: '1' }, envMap: { URL: 'http://{postgres.host}:{service.port}' } }, { DATABASE_HOST: 'postgres-writer', PORT: '3000' });
    expect(environment).toEqual({ DATABASE_HOST: 'postgres-writer', PORT: '9000', A: '1', URL: 'http://postgres-writer:9000' });
  });
});

describe('host mode: the model', () => {
  const hostConfig = parseConfig([
    'services:',
    '  newsroom:',
    '    source: host',
    '    host: { port: 5173, routing: header, name: alex }',
    '  ivor:',
    '    source: host',
    '    host: { port: 5174 }',
    '',
  ].join('\n'));
  const hostTopology = buildTopology(hostConfig);
  const hostFiles = renderFiles(hostTopology);
  const edge = parse(hostFiles.find((f) => f.path === 'traefik/dynamic/edge.yml')!.content) as { http: { routers: Record<string, { rule: string; service: string; entryPoints: string[]; priority?: number }>; services: Record<string, Record<string, unknown>> } };

  it('GIVEN routing header THEN every users\' router to newsroom has a twin, one priority up, that needs X-Parity-Dev: alex and names the failover service; operators\' routers keep the colors', () => {
    const twins = Object.entries(edge.http.routers).filter(([, router]) => router.service === 'newsroom-dev-or-stack');
    const originals = Object.entries(edge.http.routers).filter(([, router]) => router.service === 'newsroom' && router.entryPoints.some((e) => e === 'public' || e === 'trusted'));
    expect(twins.length).toBe(originals.length);
    for (const [name, original] of originals) {
      const twin = edge.http.routers[`${name}-dev`]!;
      expect(twin.rule).toBe(`(${original.rule}) && Header(\`X-Parity-Dev\`, \`alex\`)`);
      expect(twin.priority).toBe((original.priority ?? original.rule.length) + 1);
    }
    expect(twins.every(([, router]) => !router.entryPoints.includes('websecure'))).toBe(true);
  });

  it('GIVEN routing all THEN ivor\'s twins keep the rule; the failover service falls back to the stack\'s colors while the process doesn\'t answer its liveness path', () => {
    const twin = Object.values(edge.http.routers).find((router) => router.service === 'ivor-dev-or-stack')!;
    expect(twin.rule).not.toContain('X-Parity-Dev');
    expect(edge.http.services['ivor-dev-or-stack']).toEqual({ failover: { service: 'ivor-dev', fallback: 'ivor' } });
    // With chaos on (profile full), Traefik reaches it through Toxiproxy, whose proxy dials the engine's gateway.
    expect(edge.http.services['ivor-dev']).toEqual({ loadBalancer: { servers: [{ url: 'http://toxiproxy:13103' }], healthCheck: { path: '/health/live', interval: '2s', timeout: '1s' } } });
    const proxies = JSON.parse(hostFiles.find((f) => f.path === 'toxiproxy/proxies.json')!.content) as { name: string; upstream: string }[];
    expect(proxies.find((p) => p.name === 'ivor-dev')?.upstream).toBe('host.docker.internal:5174');
    // The frontend's calls follow routing: all.
    expect(hostTopology.services.find((s) => s.name === 'frontend-blue')!.environment).toMatchObject({ IVOR_URL: 'http://toxiproxy:13103', NEWSROOM_URL: 'http://toxiproxy:13301' });
  });

  it('THEN Traefik, Toxiproxy, Prometheus and the frontends resolve the engine\'s gateway; nothing else does; the stack\'s colors still run', () => {
    const reaching = hostTopology.services.filter((s) => s.extraHosts?.includes('host.docker.internal:host-gateway')).map((s) => s.name).sort();
    expect(reaching).toEqual(['frontend-blue', 'frontend-green', 'prometheus', 'toxiproxy', 'traefik']);
    // Prometheus scrapes the host processes beside the colors.
    expect(hostFiles.find((f) => f.path === 'prometheus/prometheus.yml')!.content).toContain('host.docker.internal:5174');
    expect(hostTopology.services.some((s) => s.name === 'newsroom-blue')).toBe(true);
  });

  it('GIVEN chaos on THEN Toxiproxy publishes its data proxies on loopback for host processes (their calls take the containers\' path); without a host process only its API', async () => {
    const { hostDataProxyPorts } = await import('../../services/topology/chaos.js');
    const published = (topology: typeof hostTopology) => topology.services.find((s) => s.name === 'toxiproxy')!.ports!.map((port) => `${port.bind}:${port.container}`);
    expect(hostDataProxyPorts(hostConfig, new Set(['s3']))).toEqual({ 'postgres-writer': 15432, 'postgres-reader': 15433, redis: 16379, s3: 18333 });
    expect(published(hostTopology)).toEqual(['127.0.0.1:8474', '127.0.0.1:15432', '127.0.0.1:15433', '127.0.0.1:16379', '127.0.0.1:18333']);
    expect(published(buildTopology(parseConfig('')))).toEqual(['127.0.0.1:8474']);
  });

  it('GIVEN host.name without routing header THEN it is refused at its line', () => {
    expect(() => parseConfig('services:\n  ivor:\n    source: host\n    host: { port: 5174, name: alex }\n')).toThrow(/services\.ivor\.host\.name: name is read only with routing: header/);
  });
});

describe('build mode: the model', () => {
  const buildConfig = parseConfig([
    'services:',
    '  events:',
    '    source: build',
    '    port: 8080',
    '    build:',
    '      context: examples/events-python/',
    '      target: runtime',
    '      watch:',
    '        - { path: app.py, action: sync+restart, target: /app/app.py }',
    '        - { path: build.txt, action: rebuild }',
    '',
  ].join('\n'));
  const buildTopologyOf = buildTopology(buildConfig);
  const rendered = parse(renderCompose(buildTopologyOf, renderFiles(buildTopologyOf))) as { services: Record<string, ComposeService & { build?: unknown; develop?: unknown }> };

  it('GIVEN events from a build THEN both colors build the context (relative to parity.yaml\'s folder) into parity-dev/events:dev, with the watch rules compose follows', () => {
    for (const color of ['blue', 'green']) {
      const service = rendered.services[`events-${color}`]!;
      expect(service.image).toBe(`\${PARITY_IMAGE_EVENTS_${color.toUpperCase()}:-parity-dev/events:dev}`);
      expect(service.build).toEqual({ context: '${PARITY_CONFIG_DIR:-..}/examples/events-python', target: 'runtime' });
      expect(service.develop).toEqual({
        watch: [
          { path: '${PARITY_CONFIG_DIR:-..}/examples/events-python/app.py', action: 'sync+restart', target: '/app/app.py' },
          { path: '${PARITY_CONFIG_DIR:-..}/examples/events-python/build.txt', action: 'rebuild' },
        ],
      });
      expect(service.healthcheck).toEqual({ disable: true });
      // Live sync copies as the service's user, looked up in the image's passwd: the uid alone.
      expect(service.user).toBe('1000');
      expect(rendered.services[`events-${color}-probe`]).toBeDefined();
    }
  });

  it('THEN make dev\'s override hands the rebuild rules to Parity (gated by the contract): both colors keep only the rules compose may act on alone; with only rebuild rules, no override (compose has nothing to watch)', () => {
    const override = renderWatchOverride(buildTopologyOf.services.filter((service) => service.name === 'events-blue' || service.name === 'events-green'))!;
    expect(override).toMatch(/^# GENERATED by `make gen` from services\/render\/compose.ts \(renderWatchOverride\), for make dev/);
    expect(override).toContain('events-blue:\n    develop: !override\n');
    expect(parse(override)).toEqual({
      services: Object.fromEntries(['events-blue', 'events-green'].map((name) => [name, { develop: { watch: [{ path: '${PARITY_CONFIG_DIR:-..}/examples/events-python/app.py', action: 'sync+restart', target: '/app/app.py' }] } }])),
    });
    const onlyRebuild = buildTopology(parseConfig('services:\n  events:\n    source: build\n    build:\n      context: x\n      watch:\n        - { path: y, action: rebuild }\n'));
    expect(renderWatchOverride(onlyRebuild.services.filter((service) => service.logical === 'events' && service.watch))).toBeUndefined();
  });

  it('THEN the Swarm stack file names it as something a Swarm cannot run', async () => {
    const { renderStackObject } = await import('../../services/render/stack.js');
    expect(renderStackObject(buildTopologyOf, renderFiles(buildTopologyOf)).problems).toContain('events-blue: source: build has no Swarm equivalent (nodes pull images); build it, push it to the cluster\'s registry and use source: image');
  });
});

describe('make dev', () => {
  it('GIVEN a service without a build, or a build without watch rules THEN exit 2 saying what parity.yaml needs', async () => {
    const { parseDevRequest, describeWatchLine } = await import('../../scripts/runners/dev/dev-watch.js');
    expect(() => parseDevRequest('events', parseConfig(''), 'parity.yaml')).toThrow(/parity.yaml has no build for it; set services.events.source: build/);
    expect(() => parseDevRequest('events', parseConfig('services:\n  events:\n    source: build\n    build: { context: x }\n'), 'parity.yaml')).toThrow(/has no watch rules/);
    expect(describeWatchLine('Syncing service "events-blue" after 1 changes were detected')).toBe('events-blue: synced 1 change');
    expect(describeWatchLine(' #5 DONE 0.1s')).toBeUndefined();
  });
});
