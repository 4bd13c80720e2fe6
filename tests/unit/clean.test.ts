/**
 * `make clean` never stops half-way: the engine's "has active endpoints" refusal (engine 20.10's
 * stale endpoints), the endpoints inspect lists, what is left and how to remove it (pure), and
 * the runner on a fake engine: every step runs after a failed one, a stale endpoint is
 * disconnected with --force and the network removed, the DR region's volumes go too, and what
 * can't be removed is a CleanIncompleteError listing it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeLeftovers, networksWithActiveEndpoints, parseEndpoints, removalCommand } from '../../services/clean.js';
import { CleanIncompleteError } from '../../services/errors.js';
import { cleanStack } from '../../scripts/runners/stack/clean.js';
import type { RunResult } from '../../scripts/runners/core/exec.js';
import type { Clock } from '../../scripts/runners/core/poll.js';
import type { ComposeTarget } from '../../scripts/runners/clients/engine.js';
import { foreignVolumes, unusedDrVolumesWarning } from '../../scripts/runners/stack/volumes.js';

/** What docker 20.10 said to `docker network rm`, and compose v2.40 to `down`, with a stale endpoint on the network. */
const DOCKER_REFUSAL = 'Error response from daemon: error while removing network: network parity-dr_apps id 4a3b9c0d1e2f has active endpoints';
const COMPOSE_REFUSAL = [
  ' Container parity-dr-ivor-blue-1  Removed',
  ' Network parity-dr_apps  Removing',
  ' Network parity-dr_apps  Error',
  'failed to remove network parity-dr_apps: Error response from daemon: error while removing network: network parity-dr_apps id 4a3b9c0d1e2f has active endpoints',
].join('\n');
/** `docker network inspect --format '{{json .Containers}}'` with a stale endpoint: no container behind it, the key is ep-<id>. */
const STALE_INSPECT = '{"ep-9f1e2d3c4b5a":{"Name":"parity-dr-ivor-blue-1","EndpointID":"9f1e2d3c4b5a","MacAddress":"02:42:0a:00:05:03","IPv4Address":"10.0.5.3/24","IPv6Address":""}}';

describe('clean: the engine\'s words', () => {
  it('GIVEN docker\'s and compose\'s refusal for active endpoints THEN the network it names; another error names none', () => {
    expect(networksWithActiveEndpoints(DOCKER_REFUSAL)).toEqual(['parity-dr_apps']);
    expect(networksWithActiveEndpoints(COMPOSE_REFUSAL)).toEqual(['parity-dr_apps']);
    expect(networksWithActiveEndpoints('error while removing network parity_apps: it has active endpoints')).toEqual(['parity_apps']);
    expect(networksWithActiveEndpoints('Error response from daemon: Cannot connect to the Docker daemon at unix:///var/run/docker.sock')).toEqual([]);
  });

  it('GIVEN inspect\'s Containers map THEN each endpoint by name (a stale one keeps its container\'s), else by key; none when null', () => {
    expect(parseEndpoints(STALE_INSPECT)).toEqual([{ key: 'ep-9f1e2d3c4b5a', name: 'parity-dr-ivor-blue-1' }]);
    expect(parseEndpoints('{"ep-1":{"Name":""},"0123abcd":{"Name":"parity-link-link-1"}}')).toEqual([
      { key: 'ep-1', name: 'ep-1' },
      { key: '0123abcd', name: 'parity-link-link-1' },
    ]);
    expect(parseEndpoints('null\n')).toEqual([]);
    expect(parseEndpoints('{}')).toEqual([]);
  });

  it('GIVEN what is left THEN each with the command that removes it, the failures, and what frees a stuck endpoint', () => {
    const left = [
      { kind: 'network', project: 'parity-dr', name: 'parity-dr_apps', endpoints: ['parity-dr-ivor-blue-1'] },
      { kind: 'volume', project: 'parity-dr', name: 'parity-dr_postgres-1' },
      { kind: 'container', project: 'parity', id: '0123abcd', name: 'parity-redis-1' },
      { kind: 'state', path: '/w/.parity/ca' },
    ] as const;
    expect(left.map(removalCommand)).toEqual([
      'docker network disconnect --force parity-dr_apps parity-dr-ivor-blue-1 && docker network rm parity-dr_apps',
      'docker volume rm parity-dr_postgres-1',
      'docker rm -f -v parity-redis-1',
      'rm -rf /w/.parity/ca',
    ]);
    expect(describeLeftovers(left, ['docker compose -p parity-dr down --volumes failed: x']).split('\n')).toEqual([
      'make clean removed the rest, but not these (4); remove each with the command after it, then make clean again to check:',
      '  - network parity-dr_apps (project parity-dr), endpoints still attached: parity-dr-ivor-blue-1: docker network disconnect --force parity-dr_apps parity-dr-ivor-blue-1 && docker network rm parity-dr_apps',
      '  - volume parity-dr_postgres-1 (project parity-dr), with its data: docker volume rm parity-dr_postgres-1',
      '  - container parity-redis-1 (project parity): docker rm -f -v parity-redis-1',
      '  - /w/.parity/ca/: rm -rf /w/.parity/ca',
      'On the way:',
      '  - docker compose -p parity-dr down --volumes failed: x',
      "A network whose endpoints the engine keeps after disconnect --force (engine 20.10's stale endpoints) is freed by restarting the engine (it restarts every container on this engine): sudo systemctl restart docker, or where make engine started dockerd itself (no systemd), sudo pkill dockerd && make engine; then docker network rm (seen 2026-12-07 after drills had SIGKILLed containers: the network listed no container, yet had active endpoints; an engine restart freed it).",
      "Until these volumes are gone, make up refuses to start on them (exit 2: their data and passwords are the old stack's, whose secrets clean removed); a DR region's, with dr.enabled off, get a warning line.",
    ]);
    // The secrets still there: make up would use the volumes with them, so no such line.
    expect(describeLeftovers([...left, { kind: 'state', path: '/w/.parity/secrets' }], [])).not.toContain('make up refuses');
  });
});

/** A small engine: the three projects' containers, networks (with endpoints) and volumes, driven by the argv clean runs. */
interface FakeNetwork {
  project: string;
  endpoints: Record<string, string>;
  /** disconnect --force fails on these (the engine keeps them). */
  stuck?: boolean;
}
function fakeEngine(initial: { containers: Record<string, string>; networks: Record<string, FakeNetwork>; volumes: Record<string, string> }) {
  const engine = { ...initial, calls: [] as string[] };
  const ok = (stdout = ''): RunResult => ({ code: 0, stdout, stderr: '', elapsedMs: 5 });
  const fail = (stderr: string): RunResult => ({ code: 1, stdout: '', stderr, elapsedMs: 5 });
  const projectOf = (argv: readonly string[]) => argv.find((arg) => arg.startsWith('label=com.docker.compose.project='))?.split('=').at(-1);
  const refusal = (name: string) => `Error response from daemon: error while removing network: network ${name} id 4a3b9c0d1e2f has active endpoints`;
  const exec = async (argv: readonly string[]): Promise<RunResult> => {
    const line = argv.join(' ');
    engine.calls.push(line.replace(/ -f \S+compose\.yaml/, ''));
    if (argv[1] === 'compose') {
      // Like compose: containers go, then the networks; a refused network fails the command and (worst case) leaves the volumes.
      const project = argv[argv.indexOf('-p') + 1]!;
      for (const [id, owner] of Object.entries(engine.containers)) if (owner === project) delete engine.containers[id];
      const blocked = Object.entries(engine.networks).filter(([, net]) => net.project === project && Object.keys(net.endpoints).length);
      for (const [name, net] of Object.entries(engine.networks)) if (net.project === project && !Object.keys(net.endpoints).length) delete engine.networks[name];
      if (blocked.length) return fail(blocked.map(([name]) => `failed to remove network ${name}: ${refusal(name)}`).join('\n'));
      for (const [name, owner] of Object.entries(engine.volumes)) if (owner === project) delete engine.volumes[name];
      return ok();
    }
    const project = projectOf(argv);
    if (line.startsWith('docker ps -aq')) return ok(Object.keys(engine.containers).filter((id) => engine.containers[id] === project).join('\n'));
    if (line.startsWith('docker ps -a ')) return ok(Object.keys(engine.containers).filter((id) => engine.containers[id] === project).map((id) => `${id} ${id}-name`).join('\n'));
    if (line.startsWith('docker rm -f -v')) {
      for (const id of argv.slice(4)) delete engine.containers[id];
      return ok();
    }
    if (line.startsWith('docker network ls')) return ok(Object.keys(engine.networks).filter((name) => engine.networks[name]!.project === project).join('\n'));
    if (line.startsWith('docker network rm')) {
      const name = argv[3]!;
      if (!engine.networks[name]) return fail(`Error: No such network: ${name}`);
      if (Object.keys(engine.networks[name].endpoints).length) return fail(refusal(name));
      delete engine.networks[name];
      return ok();
    }
    if (line.startsWith('docker network inspect')) {
      const net = engine.networks[argv.at(-1)!]!;
      return ok(JSON.stringify(Object.fromEntries(Object.entries(net.endpoints).map(([key, name]) => [key, { Name: name }]))));
    }
    if (line.startsWith('docker network disconnect --force')) {
      const net = engine.networks[argv[4]!]!;
      if (net.stuck) return fail(`Error response from daemon: endpoint ${argv[5]} not found`);
      for (const [key, name] of Object.entries(net.endpoints)) if (name === argv[5]) delete net.endpoints[key];
      return ok();
    }
    if (line.startsWith('docker volume ls')) return ok(Object.keys(engine.volumes).filter((name) => engine.volumes[name] === project).join('\n'));
    if (line.startsWith('docker volume rm')) {
      delete engine.volumes[argv[3]!];
      return ok();
    }
    throw new Error(`unexpected command: ${line}`);
  };
  return { engine, exec };
}

function fakeClock(): Clock {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

let dir: string;
let primary: ComposeTarget;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'parity-clean-unit-'));
  // Compose files for the three projects, and the state directory's generated parts.
  for (const sub of ['', 'dr', 'link']) {
    mkdirSync(join(dir, 'compose', sub), { recursive: true });
    writeFileSync(join(dir, 'compose', sub, 'compose.yaml'), 'services: {}\n');
  }
  for (const sub of ['secrets', 'ca', 'link']) mkdirSync(join(dir, 'state', sub), { recursive: true });
  primary = { project: 'parity', composeDir: join(dir, 'compose'), stateDir: join(dir, 'state') };
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The stack as the issue found it: DR's apps network kept a stale endpoint of a removed container. */
const stack = (stuck = false) => ({
  containers: { link1: 'parity-link', drivor: 'parity-dr', ivor: 'parity' },
  networks: {
    'parity-dr_apps': { project: 'parity-dr', endpoints: { 'ep-9f1e2d3c4b5a': 'parity-dr-ivor-blue-1' }, stuck },
    'parity-dr_data': { project: 'parity-dr', endpoints: {} },
    parity_apps: { project: 'parity', endpoints: {} },
  },
  volumes: { 'parity-dr_postgres-1': 'parity-dr', 'parity-dr_s3': 'parity-dr', 'parity_postgres-1': 'parity' },
});

describe('clean on a fake engine', () => {
  it('GIVEN the DR region\'s down refused for a stale endpoint THEN the primary still goes down, the endpoint is disconnected with --force, the network removed, every volume and the state removed', async () => {
    const { engine, exec } = fakeEngine(stack());
    const said: string[] = [];
    await cleanStack(primary, { info: (message) => said.push(message) }, { exec, clock: fakeClock() });
    expect(engine).toMatchObject({ containers: {}, networks: {}, volumes: {} });
    for (const sub of ['secrets', 'ca', 'link']) expect(existsSync(join(dir, 'state', sub))).toBe(false);
    const calls = engine.calls;
    // Link, DR, primary: the DR failure stops nothing.
    expect(calls.filter((call) => call.includes(' down '))).toEqual([
      'docker compose -p parity-link down --remove-orphans --volumes',
      'docker compose -p parity-dr down --remove-orphans --volumes',
      'docker compose -p parity down --remove-orphans --volumes',
    ]);
    expect(calls).toContain('docker network disconnect --force parity-dr_apps parity-dr-ivor-blue-1');
    expect(calls.indexOf('docker network disconnect --force parity-dr_apps parity-dr-ivor-blue-1')).toBeLessThan(calls.lastIndexOf('docker network rm parity-dr_apps'));
    expect(calls).toContain('docker volume rm parity-dr_postgres-1');
    expect(said).toEqual([
      expect.stringMatching(/^docker compose -p parity-dr down --volumes failed: failed to remove network parity-dr_apps: .* has active endpoints; going on$/),
      'network parity-dr_apps: the engine still has endpoint parity-dr-ivor-blue-1 on it (no container behind it: a stale endpoint); disconnecting it with --force',
    ]);
  });

  it('GIVEN an endpoint the engine won\'t let go THEN the volumes and the state still go, and CleanIncompleteError (exit 1) lists the network with its commands', async () => {
    const { engine, exec } = fakeEngine(stack(true));
    const error = await cleanStack(primary, undefined, { exec, clock: fakeClock() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CleanIncompleteError);
    expect((error as CleanIncompleteError).exitCode).toBe(1);
    expect(engine.volumes).toEqual({});
    expect(existsSync(join(dir, 'state', 'secrets'))).toBe(false);
    expect(Object.keys(engine.networks)).toEqual(['parity-dr_apps']);
    const message = (error as Error).message;
    expect(message).toContain('make clean removed the rest, but not these (1)');
    expect(message).toContain(
      '  - network parity-dr_apps (project parity-dr), endpoints still attached: parity-dr-ivor-blue-1: docker network disconnect --force parity-dr_apps parity-dr-ivor-blue-1 && docker network rm parity-dr_apps',
    );
    expect(message).toContain('  - docker network rm parity-dr_apps failed: docker network disconnect --force parity-dr_apps parity-dr-ivor-blue-1: Error response from daemon: endpoint parity-dr-ivor-blue-1 not found');
    expect(message).toContain('sudo systemctl restart docker');
    expect(message).toContain('sudo pkill dockerd && make engine');
  });

  it('GIVEN a DR region whose compose files are gone (dr.enabled turned off) THEN its containers, networks and volumes go by their label', async () => {
    rmSync(join(dir, 'compose', 'dr'), { recursive: true });
    const { engine, exec } = fakeEngine({ containers: { drivor: 'parity-dr' }, networks: { 'parity-dr_data': { project: 'parity-dr', endpoints: {} } }, volumes: { 'parity-dr_s3': 'parity-dr' } });
    await cleanStack(primary, undefined, { exec, clock: fakeClock() });
    expect(engine).toMatchObject({ containers: {}, networks: {}, volumes: {} });
    expect(engine.calls).not.toContain('docker compose -p parity-dr down --remove-orphans --volumes');
    expect(engine.calls).toContain('docker rm -f -v drivor');
  });
});

describe('make up after a clean that left volumes behind', () => {
  const dr = [{ name: 'parity-dr_postgres-1' }, { name: 'parity-dr_s3' }];
  const primary = [{ name: 'parity_postgres-1' }];

  it('GIVEN no secrets in the state directory (cleaned, or a second checkout) THEN every volume is foreign: the primary\'s and the DR region\'s', () => {
    const state = { hasSecrets: false, record: undefined };
    expect(foreignVolumes(primary, state)).toEqual(primary);
    expect(foreignVolumes(dr, state, 'parity-dr')).toEqual(dr);
  });

  it('GIVEN secrets whose record names the DR volumes THEN those are its own, another is foreign', () => {
    const state = { hasSecrets: true, record: [{ name: 'parity-dr_postgres-1' }, { name: 'parity_postgres-1' }] };
    expect(foreignVolumes(primary, state)).toEqual([]);
    expect(foreignVolumes(dr, state, 'parity-dr')).toEqual([{ name: 'parity-dr_s3' }]);
  });

  it('GIVEN secrets with a record from before it covered the DR region (or none at all) THEN the DR volumes are adopted, as the primary\'s are without a record', () => {
    expect(foreignVolumes(dr, { hasSecrets: true, record: [{ name: 'parity_postgres-1' }] }, 'parity-dr')).toEqual([]);
    expect(foreignVolumes(dr, { hasSecrets: true, record: undefined }, 'parity-dr')).toEqual([]);
    expect(foreignVolumes(primary, { hasSecrets: true, record: undefined })).toEqual([]);
    // The primary's rule is unchanged: a record that doesn't name a volume makes it foreign.
    expect(foreignVolumes(primary, { hasSecrets: true, record: [{ name: 'parity-dr_s3' }] })).toEqual(primary);
  });

  it('GIVEN DR volumes with dr.enabled off THEN one warning line naming them and how to remove them; none without volumes', () => {
    expect(unusedDrVolumesWarning('parity-dr', dr.map((volume) => volume.name))).toBe(
      'warning: the engine holds 2 volumes of project parity-dr (a DR region from before; dr.enabled is off, so they are not used, and turning it on would start on their old data): ' +
        'parity-dr_postgres-1, parity-dr_s3; docker volume rm parity-dr_postgres-1 parity-dr_s3 (or make clean) removes them',
    );
    expect(unusedDrVolumesWarning('parity-dr', [])).toBeUndefined();
  });
});
