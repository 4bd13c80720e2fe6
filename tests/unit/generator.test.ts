import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, dirname } from 'node:path';
import { parse } from 'yaml';
import { runCliSync } from '../cli.js';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../services/config/validate.js';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import { buildTopology } from '../../services/topology/index.js';
import { renderAll, renderComposeObject } from '../../services/render/compose.js';
import { renderFile } from '../../services/render/files.js';
import { checkDrift } from '../../scripts/runners/gen/drift.js';
import { generate } from '../../scripts/runners/gen/gen.js';
import { checkComposeSchema } from '../../scripts/runners/gen/validate-output.js';
import { COMPOSE_VALIDATOR, renderComposeValidator } from '../../scripts/runners/gen/compose-spec-code.js';
import { IMAGE_CATALOG } from '../../services/images/catalog.js';

const root = join(import.meta.dirname, '..', '..');
const GOLDEN = join(root, 'tests', 'golden');

/** A second config for the golden files: minimal profile, other ports, green active. */
const MINIMAL = 'profile: minimal\nactiveColor: green\nports:\n  https: 9443\n  http: 9080\nresources:\n  ivor:\n    memory: 256m\n    cpus: 0.5\n';

function treeHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string): void => {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(`${relative(dir, path)}\0${statSync(path).mtimeMs}\0`).update(readFileSync(path));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

describe('generator: output', () => {
  it('GIVEN the same config twice THEN the output is byte-for-byte the same', () => {
    const first = renderAll(buildTopology(parseConfig('')));
    const second = renderAll(buildTopology(parseConfig('')));
    expect([...second.entries()]).toEqual([...first.entries()]);
  });

  it('a service that mounts generated files is labelled with their hash, which follows their content', () => {
    const label = (yaml: string, service: string) =>
      (renderComposeObject(buildTopology(parseConfig(yaml))) as { services: Record<string, { labels: Record<string, string> }> }).services[service]!.labels['dev.parity.config-hash'];
    expect(label('', 'traefik')).toMatch(/^[0-9a-f]{12}$/);
    // Another HTTPS port changes traefik.yml (the redirect target), so Traefik gets recreated.
    expect(label('ports:\n  https: 9443\n', 'traefik')).not.toBe(label('', 'traefik'));
    expect(label('ports:\n  https: 9443\n', 'prometheus')).toBe(label('', 'prometheus'));
    expect(label('', 'ivor-blue')).toBeUndefined();
  });

  it('the committed compose/ is exactly what `make gen` renders for parity.yaml (drift check)', async () => {
    const config = parseConfig(readFileSync(join(root, 'parity.yaml'), 'utf8'));
    expect(await checkDrift(config)).toEqual([]);
  });

  it('GIVEN a stale, a missing and an extra file THEN drift names them, gen rewrites, removes and fixes modes, and drift is then clean', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-out-'));
    const config = parseConfig(MINIMAL);
    try {
      expect((await generate(config, dir)).written).toEqual([...renderAll(buildTopology(config)).keys()]);
      writeFileSync(join(dir, 'compose.yaml'), 'stale\n');
      rmSync(join(dir, 'traefik', 'traefik.yml'));
      writeFileSync(join(dir, 'old.yml'), 'no longer generated\n');
      chmodSync(join(dir, 'postgres', 'init-primary.sh'), 0o644);
      expect(await checkDrift(config, dir)).toEqual(['changed compose.yaml', 'missing traefik/traefik.yml', 'extra old.yml']);
      const again = await generate(config, dir);
      expect({ written: again.written, removed: again.removed }).toEqual({ written: ['compose.yaml', 'traefik/traefik.yml'], removed: ['old.yml'] });
      expect(statSync(join(dir, 'postgres', 'init-primary.sh')).mode & 0o777).toBe(0o755);
      expect(await checkDrift(config, dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['minimal', MINIMAL],
    // The same with Toxiproxy between the apps and their dependencies, short breaker resets and no edge breaker.
    ['minimal-chaos', `${MINIMAL}chaos:\n  enabled: true\nbreakers:\n  app:\n    resetSeconds: 2\n  edge:\n    enabled: false\n`],
  ])('matches the golden files for %s, a green-active config (UPDATE_GOLDEN=1 rewrites them)', (name, text) => {
    const files = renderAll(buildTopology(parseConfig(text)));
    for (const [path, file] of files) {
      const golden = join(GOLDEN, name, path);
      if (process.env.UPDATE_GOLDEN === '1') {
        mkdirSync(dirname(golden), { recursive: true });
        writeFileSync(golden, file.content);
      }
      expect(existsSync(golden), `missing golden ${golden}`).toBe(true);
      expect(file.content, path).toBe(readFileSync(golden, 'utf8'));
    }
  });

  it('renders each file format: YAML and scripts with the GENERATED header, JSON sorted, text as is', () => {
    const source = 'services/topology/example.ts';
    const header = `# GENERATED by \`make gen\` from ${source}: do not edit; change the model and run \`make gen\`.`;
    expect(renderFile({ path: 'a.yml', format: 'yaml', value: { b: 1, name: 'x' }, source })).toEqual({ path: 'a.yml', content: `${header}\nname: x\nb: 1\n`, executable: false });
    expect(renderFile({ path: 'a.json', format: 'json', value: { b: 1, a: [2] }, source }).content).toBe('{\n  "a": [\n    2\n  ],\n  "b": 1\n}\n');
    expect(renderFile({ path: 'a.sh', format: 'script', value: ['set -e', 'exec "$@"'], source, executable: true })).toEqual({
      path: 'a.sh',
      content: `#!/usr/bin/env bash\n${header}\nset -e\nexec "$@"\n`,
      executable: true,
    });
    expect(renderFile({ path: 'a.conf', format: 'text', value: 'key = value\n', source }).content).toBe('key = value\n');
  });

  it('every YAML file says it is generated and by what', () => {
    for (const [path, file] of renderAll(buildTopology(DEFAULT_CONFIG))) {
      // Toxiproxy's -config file is a bare array of proxies: no field can say it.
      if (path === 'toxiproxy/proxies.json') continue;
      if (path.endsWith('.json')) expect(JSON.parse(file.content).description, path).toMatch(/^GENERATED by `make gen`/);
      else if (path.endsWith('.sh')) expect(file.content.split('\n')[1], path).toMatch(/^# GENERATED by `make gen`/);
      else if (path.endsWith('.sql')) expect(file.content.split('\n')[0], path).toMatch(/^-- GENERATED by `make gen` from services\//);
      else if (path.endsWith('.md')) expect(file.content.split('\n')[0], path).toMatch(/^<!-- GENERATED by `make gen` from services\//);
      else expect(file.content.split('\n')[0], path).toMatch(/^# GENERATED by `make gen` from services\//);
    }
  });
});

describe('generator: the compose file', () => {
  const compose = renderComposeObject(buildTopology(DEFAULT_CONFIG)) as {
    services: Record<string, { healthcheck?: unknown; ports?: string[]; depends_on?: Record<string, unknown>; environment?: Record<string, string> }>;
    secrets: Record<string, { file: string }>;
  };

  it('is valid against the compose-spec JSON schema', () => {
    expect(checkComposeSchema(compose)).toEqual([]);
  });

  it('a schema violation is caught before anything is written, with its path', () => {
    const broken = { ...compose, services: { ...compose.services, traefik: { ...compose.services.traefik, ports: 'all of them' } } };
    expect(checkComposeSchema(broken)).toEqual(['/services/traefik/ports: must be array {"type":"array"}']);
  });

  it('is checked by the validator compiled from compose-spec.json with the installed ajv (make compose-validator rewrites it)', () => {
    expect(readFileSync(COMPOSE_VALIDATOR, 'utf8') === renderComposeValidator(), `${relative(root, COMPOSE_VALIDATOR)} is stale: run make compose-validator`).toBe(true);
  });

  it('gives every service a health check', () => {
    for (const [name, service] of Object.entries(compose.services)) expect(service.healthcheck, name).toBeDefined();
  });

  it('binds every published port to 127.0.0.1 by default', () => {
    const ports = Object.values(compose.services).flatMap((service) => service.ports ?? []);
    expect(ports.length).toBeGreaterThan(5);
    // An empty host port is an ephemeral one (Patroni's REST API), still on loopback.
    for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:\d*:\d+$/);
  });

  it('depends only on services it defines', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) expect(Object.keys(compose.services), `${name} -> ${dependency}`).toContain(dependency);
    }
  });

  it('passes secrets as files from the state directory, never as values', () => {
    for (const secret of Object.values(compose.secrets)) expect(secret.file).toMatch(/^\$\{PARITY_STATE_DIR:\?[^}]*\}\/secrets\/uid-\d+\/[a-z0-9_]+$/);
    for (const service of Object.values(compose.services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (/PASSWORD|SECRET|KEY/.test(key) && !key.endsWith('_FILE')) expect.fail(`${key}=${value} carries a secret in plain text`);
      }
    }
  });

  it('mounts a named volume wherever an image declares VOLUME (anonymous ones leak on every down/up)', () => {
    const topology = buildTopology(DEFAULT_CONFIG);
    let checked = 0;
    // An image inherits the VOLUMEs of the catalog images it is built FROM (patroni ← postgres).
    const declaredBy = (name: string): string[] => {
      const spec = IMAGE_CATALOG.find((candidate) => candidate.name === name)!;
      if (spec.recipe.kind !== 'dockerfile') return [];
      const dockerfile = readFileSync(join(root, 'services/images', spec.recipe.dir, 'Dockerfile'), 'utf8');
      return [...[...dockerfile.matchAll(/^VOLUME \[?"?([^"\]\s]+)/gm)].map((m) => m[1]!), ...spec.from.flatMap(declaredBy)];
    };
    for (const spec of IMAGE_CATALOG) {
      const declared = [...new Set(declaredBy(spec.name))];
      for (const service of topology.services.filter((s) => s.image === spec.ref)) {
        for (const path of declared) {
          const mount = (service.volumes ?? []).find((v) => v.split(':')[1] === path);
          // A one-shot keeps nothing: a tmpfs there replaces the image's volume as well.
          const inMemory = service.job && service.tmpfs?.includes(path);
          expect(inMemory || (mount && /^[a-z][a-z0-9-]*:/.test(mount)), `${service.name} must mount a named volume (a job: a tmpfs) at ${path}`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBe(8);
  });

  it('has no host ports for the app services: they are reached through Traefik', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (/-(blue|green)$/.test(name)) expect(service.ports, name).toBeUndefined();
    }
  });

  it('routes every path through a weighted blue/green service with the active color at 100 %', () => {
    const routes = parse(renderAll(buildTopology(DEFAULT_CONFIG)).get('traefik/dynamic/routes.yml')!.content) as {
      http: { services: Record<string, { weighted?: { services: Array<{ name: string; weight: number }> } }> };
    };
    for (const app of ['frontend', 'ivor', 'events', 'newsroom']) {
      expect(routes.http.services[app]!.weighted!.services).toEqual([
        { name: `${app}-blue`, weight: 100 },
        { name: `${app}-green`, weight: 0 },
      ]);
    }
  });
});

describe('generator: the Patroni cluster', () => {
  const files = (yaml: string) => renderAll(buildTopology(parseConfig(yaml)));
  const composeOf = (yaml: string) => parse(files(yaml).get('compose.yaml')!.content) as { services: Record<string, { depends_on?: Record<string, unknown>; ports?: string[]; dns_opt?: string[] }> };

  it('GIVEN profile full THEN three etcd members, three Patroni nodes and the writer/reader endpoints replace primary + replica', () => {
    const services = Object.keys(composeOf('').services);
    expect(services.filter((name) => /^(etcd|postgres)/.test(name)).sort()).toEqual(['etcd-1', 'etcd-2', 'etcd-3', 'postgres-1', 'postgres-2', 'postgres-3', 'postgres-exporter', 'postgres-exporter-replica', 'postgres-reader', 'postgres-writer']);
    const compose = composeOf('');
    expect(Object.keys(compose.services['events-blue']!.depends_on!)).toContain('postgres-writer');
    expect(compose.services['postgres-writer']!.ports).toEqual(['127.0.0.1:5432:5432']);
    expect(compose.services['postgres-reader']!.ports).toEqual(['127.0.0.1:5433:5432']);
    // A node cut off the network must fail its etcd calls fast to demote itself in time.
    expect(compose.services['postgres-1']!.dns_opt).toEqual(['timeout:1', 'attempts:1']);
  });

  it('GIVEN timings and synchronous mode THEN Patroni bootstraps with them; the writer checks /primary, the reader /replica and falls back to the leader', () => {
    const rendered = files('postgres:\n  nodes: 2\n  synchronous: false\n  patroni:\n    ttl: 9\n    loopWait: 2\n    retryTimeout: 3\n');
    const patroni = parse(rendered.get('patroni/patroni.yml')!.content) as { bootstrap: { dcs: Record<string, unknown> }; etcd3: { host?: string; hosts?: string[]; use_proxies?: boolean } };
    expect(patroni.bootstrap.dcs).toMatchObject({ ttl: 9, loop_wait: 2, retry_timeout: 3, synchronous_mode: false, postgresql: { use_pg_rewind: true, use_slots: true } });
    // One alias for the three members: a leader cut off the network looks nothing up before it demotes.
    expect(patroni.etcd3).toEqual({ host: 'etcd:2379' });
    const compose = parse(rendered.get('compose.yaml')!.content) as { services: Record<string, { networks: unknown }> };
    for (const member of ['etcd-1', 'etcd-2', 'etcd-3']) expect(compose.services[member]!.networks).toEqual({ data: { aliases: ['etcd'] } });
    const writer = rendered.get('haproxy/postgres-writer.cfg')!.content;
    expect(writer).toContain('  option httpchk OPTIONS /primary\n  http-check expect status 200\n  server postgres-1 postgres-1:5432\n  server postgres-2 postgres-2:5432\n');
    expect(writer).toContain('on-marked-down shutdown-sessions');
    const reader = rendered.get('haproxy/postgres-reader.cfg')!.content;
    expect(reader).toContain('  use_backend replicas if { nbsrv(replicas) gt 0 }\n  default_backend leader\n');
    expect(reader).toContain('option httpchk OPTIONS /replica?lag=1MB');
  });

  it('GIVEN postgres.dcsProxy THEN Patroni reaches etcd only through Toxiproxy (use_proxies), which creates one proxy per member at start', () => {
    const rendered = files('postgres:\n  dcsProxy: true\nchaos:\n  enabled: false\n');
    const patroni = parse(rendered.get('patroni/patroni.yml')!.content) as { etcd3: unknown };
    expect(patroni.etcd3).toEqual({ hosts: ['toxiproxy:23791', 'toxiproxy:23792', 'toxiproxy:23793'], use_proxies: true });
    expect(JSON.parse(rendered.get('toxiproxy/proxies.json')!.content)).toEqual([
      { enabled: true, listen: '0.0.0.0:23791', name: 'etcd-1', upstream: 'etcd-1:2379' },
      { enabled: true, listen: '0.0.0.0:23792', name: 'etcd-2', upstream: 'etcd-2:2379' },
      { enabled: true, listen: '0.0.0.0:23793', name: 'etcd-3', upstream: 'etcd-3:2379' },
    ]);
    expect(Object.keys(composeOf('postgres:\n  dcsProxy: true\n').services['postgres-1']!.depends_on!)).toContain('toxiproxy');
  });
});

describe('make gen with bad input', () => {
  it('GIVEN a broken config WHEN running gen THEN exit 2, every problem listed, compose/ untouched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-gen-'));
    const bad = join(dir, 'parity.yaml');
    writeFileSync(bad, 'profile: maximal\nports:\n  http: 8443\n  https: 8443\n  redsi: 1\n');
    const before = treeHash(join(root, 'compose'));
    const result = runCliSync('gen.ts', ['--config', bad]);
    rmSync(dir, { recursive: true, force: true });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('3 problems; nothing was written');
    expect(result.stderr).toContain(':1:10 profile: expected one of "minimal", "full", got "maximal"');
    expect(result.stderr).toContain(':5:3 ports.redsi: unknown key (did you mean "redis"?)');
    expect(treeHash(join(root, 'compose'))).toBe(before);
  }, 30_000); // two CLI processes: seconds on a loaded 2-core machine (5 s timed out once beside a running stack)

  it('GIVEN a binary config (UTF-16 byte-order mark, NUL bytes) or a directory WHEN running make gen THEN one line naming the file, exit 2, compose/ untouched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-gen-'));
    const bad = join(dir, 'parity.yaml');
    // What an editor saving "profile: full" as UTF-16 LE writes.
    writeFileSync(bad, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('profile: full\n', 'utf16le')]));
    const before = treeHash(join(root, 'compose'));
    const gen = (config: string) => spawnSync('node', [join(root, 'scripts/run-bundled.mjs'), 'scripts/gen.ts', '--config', config], { cwd: root, encoding: 'utf8' });
    const binary = gen(bad);
    const directory = gen(dir);
    rmSync(dir, { recursive: true, force: true });
    expect(binary.status).toBe(2);
    expect(binary.stderr).toContain(`${bad}:1:1 (file): not UTF-8 text (a UTF-16 or UTF-32 byte-order mark?): save the file as UTF-8`);
    expect(binary.stderr).not.toContain('TypeError');
    expect(directory.status).toBe(2);
    expect(directory.stderr).toContain(`${dir} (file): is a directory; expected a YAML file`);
    expect(treeHash(join(root, 'compose'))).toBe(before);
  }, 30_000);
});
