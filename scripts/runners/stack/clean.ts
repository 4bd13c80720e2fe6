/**
 * `make clean`: the link, the DR region and the primary down with their volumes (compose), then
 * whatever the engine still holds of the three projects, found by compose's project label
 * (containers, networks, volumes: also a DR region whose compose files are gone because
 * dr.enabled was turned off), then the state directory's generated parts. No step stops the
 * next. A network the engine refuses to remove because it "has active endpoints" (engine
 * 20.10 can keep an endpoint after its container is gone) gets each endpoint `inspect` lists
 * disconnected with --force, and is removed again. Whatever is still there at the end is a
 * `CleanIncompleteError` (exit 1) naming each thing and the command that removes it.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeLeftovers, networksWithActiveEndpoints, parseEndpoints, type Leftover } from '../../../services/clean.js';
import { CleanIncompleteError, lastLines, TimeoutError } from '../../../services/errors.js';
import { tryRun, type RunOptions, type RunResult } from '../core/exec.js';
import { done, pending, pollUntil, type Clock } from '../core/poll.js';
import { regionTargets } from './regions.js';
import { CLEANED_STATE } from './stack.js';
import { engineOf } from '../clients/engine-of.js';
import { type ComposeTarget } from '../clients/engine.js';
import { hostCommands, projectLabel } from '../clients/docker-host.js';

/** How clean reaches the engine (unit tests pass a fake one). */
export interface CleanDeps {
  readonly exec: (argv: readonly string[], options?: RunOptions) => Promise<RunResult>;
  readonly clock?: Clock;
}

/** How long a network gets to lose its endpoints after they were disconnected with --force. */
const NETWORK_RETRY_MS = 20_000;

const outputOf = (result: RunResult) => `${result.stdout}\n${result.stderr}`;
/** The line of a failed command worth quoting (the engine's error, not compose's progress lines). */
const errorLine = (result: RunResult) => lastLines(outputOf(result).split('\n').filter((line) => /error|failed|refused|denied/i.test(line)).join('\n') || outputOf(result), 1).trim() || `exit ${result.code}`;
const lines = (text: string) => text.split('\n').map((line) => line.trim()).filter(Boolean);

/**
 * `make clean` for the stack of `primary` (with its DR region and link, if any): every step
 * runs; resolves when nothing of the three projects and none of the state directory's generated
 * parts is left, else throws `CleanIncompleteError` listing what is.
 */
export async function cleanStack(primary: ComposeTarget, progress?: { info(message: string): void }, deps: CleanDeps = { exec: tryRun }): Promise<void> {
  const { dr, link } = regionTargets(primary);
  // The link first: it is attached to both regions' networks.
  const targets = [link, dr, primary];
  const failures: string[] = [];
  const note = (failure: string) => {
    failures.push(failure);
    progress?.info(`${failure}; going on`);
  };

  for (const target of targets) {
    if (!existsSync(join(target.composeDir, 'compose.yaml'))) continue;
    const { argv, env } = engineOf(target).downCommand({ volumes: true });
    const result = await deps.exec(argv, { env });
    if (result.code !== 0) note(`docker compose -p ${target.project} down --volumes failed: ${errorLine(result)}`);
  }

  for (const target of targets) await sweepProject(target.project, deps, note, progress);

  for (const dir of CLEANED_STATE) {
    await rm(join(primary.stateDir, dir), { recursive: true, force: true }).catch((error: unknown) => note(`removing ${join(primary.stateDir, dir)} failed: ${(error as Error).message}`));
  }

  const left = [...(await Promise.all(targets.map((target) => projectLeftovers(target.project, deps)))).flat(), ...stateLeftovers(primary.stateDir)];
  if (left.length) throw new CleanIncompleteError(describeLeftovers(left, failures));
}

/** What compose left of a project, by its label: containers, then networks, then volumes (each step whatever the last one did). */
async function sweepProject(project: string, deps: CleanDeps, note: (failure: string) => void, progress?: { info(message: string): void }): Promise<void> {
  const containers = await deps.exec(hostCommands.containers(projectLabel(project)));
  const ids = lines(containers.stdout);
  if (ids.length) {
    const removed = await deps.exec(hostCommands.removeContainers(ids));
    if (removed.code !== 0) note(`docker rm -f of project ${project}'s containers failed: ${errorLine(removed)}`);
  }
  const networks = await deps.exec(hostCommands.networks(projectLabel(project)));
  for (const network of lines(networks.stdout)) await removeNetwork(network, deps, note, progress);
  const volumes = await deps.exec(hostCommands.volumes(projectLabel(project)));
  for (const volume of lines(volumes.stdout)) {
    const removed = await deps.exec(hostCommands.removeVolume(volume));
    if (removed.code !== 0 && !/no such volume/i.test(outputOf(removed))) note(`docker volume rm ${volume} failed: ${errorLine(removed)}`);
  }
}

/**
 * `docker network rm`; when the engine says the network has active endpoints, each endpoint
 * `inspect` lists is disconnected with --force (by name: a stale endpoint has no container to
 * name) and the removal is tried again, until it goes or NETWORK_RETRY_MS pass.
 */
async function removeNetwork(network: string, deps: CleanDeps, note: (failure: string) => void, progress?: { info(message: string): void }): Promise<void> {
  const told = new Set<string>();
  let last = '';
  const removed = await pollUntil(
    async () => {
      const removed = await deps.exec(hostCommands.removeNetwork(network));
      if (removed.code === 0 || /no such network|not found/i.test(outputOf(removed))) return done(true);
      last = errorLine(removed);
      // Another refusal (the engine down, a permission): nothing to retry.
      if (!networksWithActiveEndpoints(outputOf(removed)).length) return done(false);
      const inspected = await deps.exec(hostCommands.networkEndpoints(network));
      const endpoints = inspected.code === 0 ? parseEndpoints(inspected.stdout) : [];
      for (const endpoint of endpoints) {
        if (!told.has(endpoint.name)) progress?.info(`network ${network}: the engine still has endpoint ${endpoint.name} on it (${endpoint.key.startsWith('ep-') ? 'no container behind it: a stale endpoint' : 'a container'}); disconnecting it with --force`);
        told.add(endpoint.name);
        const disconnected = await deps.exec(hostCommands.disconnectForce(network, endpoint.name));
        if (disconnected.code !== 0) last = `docker network disconnect --force ${network} ${endpoint.name}: ${errorLine(disconnected)}`;
      }
      return pending(endpoints.length ? `${network} has active endpoints: ${endpoints.map((endpoint) => endpoint.name).join(', ')} (${last})` : `${network}: ${last}`);
    },
    { subject: `removing network ${network}`, expectation: 'the network removed once its endpoints were disconnected', timeoutMs: NETWORK_RETRY_MS, intervalMs: 1000, ...(deps.clock ? { clock: deps.clock } : {}) },
  ).catch((error: unknown) => {
    if (error instanceof TimeoutError) return { value: false, elapsedMs: error.elapsedMs ?? NETWORK_RETRY_MS };
    throw error;
  });
  if (!removed.value) note(`docker network rm ${network} failed: ${last}`);
}

/** What the engine still holds of a project (networks with the endpoints still on them). */
async function projectLeftovers(project: string, deps: CleanDeps): Promise<Leftover[]> {
  const left: Leftover[] = [];
  const listing = async (argv: string[], what: string): Promise<string[] | undefined> => {
    const result = await deps.exec(argv);
    if (result.code === 0) return lines(result.stdout);
    left.push({ kind: 'unchecked', what: `${what} of project ${project}`, command: argv.join(' '), error: errorLine(result) });
    return undefined;
  };
  for (const line of (await listing(hostCommands.containers(projectLabel(project), '{{.ID}} {{.Names}}'), 'containers')) ?? []) {
    const [id = '', name = ''] = line.split(' ');
    left.push({ kind: 'container', project, id, name });
  }
  for (const name of (await listing(hostCommands.networks(projectLabel(project)), 'networks')) ?? []) {
    const inspected = await deps.exec(hostCommands.networkEndpoints(name));
    left.push({ kind: 'network', project, name, endpoints: inspected.code === 0 ? parseEndpoints(inspected.stdout).map((endpoint) => endpoint.name) : [] });
  }
  for (const name of (await listing(hostCommands.volumes(projectLabel(project)), 'volumes')) ?? []) left.push({ kind: 'volume', project, name });
  return left;
}

function stateLeftovers(stateDir: string): Leftover[] {
  return CLEANED_STATE.map((dir) => join(stateDir, dir))
    .filter((path) => existsSync(path))
    .map((path) => ({ kind: 'state', path }));
}
