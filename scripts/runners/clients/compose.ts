/**
 * The engine seam: how the runners reach the stack's containers, ports, logs and `exec`, with
 * `docker compose` and the generated compose/compose.yaml (the Compose implementation). Changes
 * go through `docker compose`; what is only read (containers, health) comes from the engine by
 * compose's labels, which is cheaper. The stack's lifecycle (up, down, status, clean) is
 * stack/stack.ts, on top of this.
 *
 * Every compose call carries the target's `variables()`, read at the call: the stack wires the
 * deployed colors' images there (`withDeployedImages`, stack/deploy-state.ts), so a color deployed
 * on another image keeps it when compose recreates its containers (`make up`, a drill's or a
 * region's `up`). This layer knows nothing of deploys: the state is passed in.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { CommandError, StackNotUpError } from '../../../services/errors.js';
import { projectNetwork } from '../../../services/topology/types.js';
import type { ComposeTarget, ContainerState, Engine, UpOptions } from './engine.js';
import { run, tryRun, type RunOptions, type RunResult } from '../core/exec.js';


export function composeArgv(target: ComposeTarget, args: string[]): string[] {
  return ['docker', 'compose', '-p', target.project, '-f', join(target.composeDir, 'compose.yaml'), ...args];
}

function composeEnv(target: ComposeTarget): NodeJS.ProcessEnv {
  return { PARITY_STATE_DIR: target.stateDir, ...target.variables?.(), ...target.environment };
}

/** `docker compose …` for a target as argv and environment, for a runner that starts it its own way. */
export function composeCommand(target: ComposeTarget, args: string[]): { readonly argv: string[]; readonly env: NodeJS.ProcessEnv } {
  return { argv: composeArgv(target, args), env: composeEnv(target) };
}

async function compose(target: ComposeTarget, args: string[], options: Pick<RunOptions, 'onLine' | 'timeoutMs'> = {}): Promise<string> {
  return run(composeArgv(target, args), { env: composeEnv(target), ...options });
}

/** `docker compose …` whose failure is an answer, not an error (exit code and output returned). */
async function tryCompose(target: ComposeTarget, args: string[]): Promise<RunResult> {
  return tryRun(composeArgv(target, args), { env: composeEnv(target) });
}

/** The host port compose published for a service's container port (undefined: not running or not published). */
async function publishedPort(target: ComposeTarget, service: string, containerPort: number): Promise<number | undefined> {
  const result = await tryCompose(target, ['port', service, String(containerPort)]);
  const port = Number(result.stdout.trim().split('\n')[0]?.split(':').at(-1));
  return result.code === 0 && Number.isInteger(port) && port > 0 ? port : undefined;
}

/** Traefik's HTTPS entrypoint on this host, or bad input when the stack isn't up. */
async function httpsEndpoint(target: ComposeTarget): Promise<string> {
  const port = await publishedPort(target, 'traefik', 443);
  if (port === undefined) throw new StackNotUpError(`traefik has no published HTTPS port in project ${target.project}: is the stack up? (make up)`);
  return `https://localhost:${port}`;
}

/**
 * The project's containers with their state and health, from the engine by compose's labels:
 * two `docker` calls (~10 ms of CPU) instead of `docker compose ps` (~200 ms: it loads the whole
 * project), which `make up` and the deploys poll every second on a 2-core machine. Role, tier and
 * color are the model's labels (`dev.parity.*`, services/render/compose.ts).
 */
async function listContainers(target: ComposeTarget): Promise<ContainerState[]> {
  const ids = await projectContainerIds(target.project);
  if (ids.length === 0) return [];
  const label = (name: string) => `{{index .Config.Labels "${name}"}}`;
  // A container removed between the two calls fails only its own line: read what came back.
  const format = ['{{.ID}}', label(SERVICE_LABEL), '{{.State.Status}}', '{{.State.ExitCode}}', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', label('dev.parity.logical'), label('dev.parity.tier'), label('dev.parity.color'), '{{.RestartCount}}', '{{.State.OOMKilled}}'].join('\t');
  const result = await tryRun(['docker', 'inspect', '--format', format, ...ids]);
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', service = '', state = '', exitCode = '', health = '', role = '', tier = '', color = '', restarts = '0', oom = ''] = line.trim().split('\t');
      return {
        id, service, role: role || service, tier, state, health, restartCount: Number(restarts) || 0, oomKilled: oom === 'true',
        ...(color === 'blue' || color === 'green' ? { color } : {}),
        ...(state === 'exited' ? { exitCode: Number(exitCode) } : {}),
      };
    });
}

const SERVICE_LABEL = 'com.docker.compose.service';

/** IDs of a project's containers (of one service, when given; running ones only, when asked); one-off `compose run` containers excluded. */
async function projectContainerIds(project: string, service?: string, options: { readonly running?: boolean } = {}): Promise<string[]> {
  const filters = [`label=com.docker.compose.project=${project}`, 'label=com.docker.compose.oneoff=False', ...(service ? [`label=${SERVICE_LABEL}=${service}`] : []), ...(options.running ? ['status=running'] : [])];
  return (await run(['docker', 'ps', '-aq', ...filters.flatMap((filter) => ['--filter', filter])])).split('\n').filter(Boolean);
}

/** The container of a compose service (its first replica); the stack not up (exit 2) when it doesn't run. */
async function containerOf(target: ComposeTarget, service: string): Promise<string> {
  const [id] = await projectContainerIds(target.project, service);
  if (!id) throw new StackNotUpError(`${service} is not running in project ${target.project}: is the stack up? (make up)`);
  return id;
}

/** `make logs`: follow the stack's logs (of some services, or all) in this terminal; returns the exit code. */
function followLogs(target: ComposeTarget, services: readonly string[]): number {
  const [command, ...args] = composeArgv(target, ['logs', '-f', '--tail', '100', ...services]);
  const result = spawnSync(command!, args, { stdio: 'inherit', env: { ...process.env, ...composeEnv(target) } });
  return result.status ?? 1;
}

/**
 * `make dev`: follow the services' `develop.watch` rules (sync, sync+restart, rebuild) until
 * `signal` aborts; each line compose writes goes to `onLine`. Resolves with compose's exit code.
 */
function watchServices(target: ComposeTarget, services: readonly string[], onLine: (line: string) => void, signal?: AbortSignal, overrideFile?: string): Promise<number> {
  const [command, ...args] = composeArgv(target, [...(overrideFile ? ['-f', overrideFile] : []), 'watch', '--no-up', '--quiet', ...services]);
  const child = spawn(command!, args, { env: { ...process.env, ...composeEnv(target) }, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', onLine);
  const stop = () => child.kill('SIGINT');
  signal?.addEventListener('abort', stop, { once: true });
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      signal?.removeEventListener('abort', stop);
      resolve(code ?? 0);
    });
  });
}

/*
 * Containers by ID: the engine's own verbs, for a container a runner already holds (found by
 * `projectContainerIds`/`containerOf`, or one compose doesn't manage). Each answers as the
 * engine does: a RunResult (never throwing) unless it says otherwise.
 */

/** A command in a running container (`docker exec`): as another user, or left running in the background (`detach`). */
export async function execIn(container: string, argv: readonly string[], options: RunOptions & { readonly user?: string; readonly detach?: boolean } = {}): Promise<RunResult> {
  const { user, detach, ...run } = options;
  return tryRun(['docker', 'exec', ...(detach ? ['-d'] : []), ...(user ? ['-u', user] : []), container, ...argv], run);
}

/** Restart containers, each given `timeoutSeconds` to stop. */
export async function restartContainers(ids: readonly string[], timeoutSeconds: number): Promise<RunResult> {
  return tryRun(['docker', 'restart', '-t', String(timeoutSeconds), ...ids]);
}

/** Restart one container; throws `CommandError` when the engine refuses. */
export async function restartContainer(id: string, timeoutSeconds: number): Promise<void> {
  await run(['docker', 'restart', '-t', String(timeoutSeconds), id]);
}

/** Start a stopped container attached to its output, until it exits (a job run again). */
export async function startAttached(id: string): Promise<RunResult> {
  return tryRun(['docker', 'start', '--attach', id]);
}

/** Start stopped or killed containers (started ones stay as they are). */
export async function startContainers(ids: readonly string[]): Promise<RunResult> {
  return tryRun(['docker', 'start', ...ids]);
}

/** Stop a container, SIGKILL after `timeoutSeconds`. */
export async function stopContainer(id: string, timeoutSeconds: number): Promise<RunResult> {
  return tryRun(['docker', 'stop', '--time', String(timeoutSeconds), id]);
}

/** SIGKILL containers at once. */
export async function killContainers(ids: readonly string[]): Promise<RunResult> {
  return tryRun(['docker', 'kill', ...ids]);
}

/** A container's health status ('' without a health check); throws `CommandError` when it is gone. */
export async function containerHealth(id: string): Promise<string> {
  return run(['docker', 'inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', id]);
}

const downArgs = (options: { readonly volumes?: boolean }) => ['down', '--remove-orphans', ...(options.volumes ? ['--volumes'] : [])];

/** `up`'s options as compose flags. */
function upFlags(options: UpOptions): string[] {
  return [
    ...(options.start === false ? ['--no-start'] : ['-d']),
    ...(options.wait ? ['--wait'] : []),
    ...(options.recreate ? ['--force-recreate'] : []),
    ...(options.noDeps ? ['--no-deps'] : []),
    ...(options.removeOrphans ? ['--remove-orphans'] : []),
    ...(options.build ? ['--build'] : []),
    ...(options.stopTimeoutSeconds !== undefined ? ['--timeout', String(options.stopTimeoutSeconds)] : []),
  ];
}

/** The Compose implementation of the engine seam, for one target. */
export function composeEngine(target: ComposeTarget): Engine {
  return {
    target,
    kind: 'compose',
    up: async (services = [], options = {}) => void (await compose(target, ['up', ...upFlags(options), ...services])),
    build: async (services, onLine) => void (await compose(target, ['build', ...services], onLine ? { onLine } : {})),
    start: async (services) => void (await compose(target, ['start', ...services])),
    stop: async (services) => void (await compose(target, ['stop', ...services])),
    restart: async (services) => void (await compose(target, ['restart', ...services])),
    remove: async (services, options = {}) => void (await compose(target, ['rm', '-s', '-f', ...(options.volumes ? ['-v'] : []), ...services])),
    down: async (options = {}) => void (await compose(target, downArgs(options))),
    downCommand: (options = {}) => composeCommand(target, downArgs(options)),
    listContainers: () => listContainers(target),
    containerIds: (service, options) => projectContainerIds(target.project, service, options),
    containerOf: (service) => containerOf(target, service),
    exec: (service, argv, options) => compose(target, ['exec', '-T', service, ...argv], options),
    tryExec: (service, argv) => tryCompose(target, ['exec', '-T', service, ...argv]),
    publishedPort: (service, containerPort) => publishedPort(target, service, containerPort),
    httpsEndpoint: () => httpsEndpoint(target),
    copyInto: async (service, hostPath, containerPath) => void (await compose(target, ['cp', hostPath, `${service}:${containerPath}`])),
    setCpuWeight: async (services, shares) => {
      const ids = (await Promise.all(services.map((service) => projectContainerIds(target.project, service)))).flat();
      if (ids.length > 0) await run(['docker', 'update', '--cpu-shares', String(shares), ...ids]);
    },
    disconnect: async (service, network) => {
      await run(['docker', 'network', 'disconnect', projectNetwork(target.project, network), await containerOf(target, service)]);
    },
    reconnect: async (service, network) => {
      const argv = ['docker', 'network', 'connect', '--alias', service, projectNetwork(target.project, network), await containerOf(target, service)];
      const result = await tryRun(argv);
      if (result.code !== 0 && !/already exists|already connected/i.test(result.stderr)) throw new CommandError(argv.join(' '), result.code, result.stderr, result.elapsedMs);
    },
    removeVolumes: async (names) => {
      if (names.length > 0) await run(['docker', 'volume', 'rm', '-f', ...names]);
    },
    logs: async (service, tail) => {
      const result = await tryCompose(target, ['logs', '--no-color', '--tail', String(tail), service]);
      return `${result.stdout}${result.stderr}`;
    },
    followLogs: (services) => followLogs(target, services),
    watch: (services, onLine, signal, options) => watchServices(target, services, onLine, signal, options?.overrideFile),
  };
}
