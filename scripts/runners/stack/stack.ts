/**
 * The stack's lifecycle on the engine: up (with a live health view), status, down, clean.
 * It reaches the engine through the compose adapter (clients/compose.ts).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { dirname, join, relative, resolve } from 'node:path';
import type { Color, ParityConfig } from '../../../services/config/schema.js';
import { formatDuration, TimeoutError } from '../../../services/errors.js';
import { PROJECT } from '../../../services/topology/common.js';
import { hasDr, regionProject } from '../../../services/topology/region.js';
import { buildTopology, type Topology } from '../../../services/topology/index.js';
import { IMAGE_CATALOG } from '../../../services/images/catalog.js';
import { engineOf } from '../clients/engine-of.js';
import { type ComposeTarget, type ContainerState } from '../clients/engine.js';
import { ensureEngine } from '../engine/engine.js';
import { COMPOSE_DIR, configPath, generate } from '../gen/gen.js';
import { checkHostProcesses } from './host-preflight.js';
import { ensureExternalImages } from './external-images.js';
import { bakeImages } from '../engine/images.js';
import { prepareState } from './stack-state.js';
import { checkVolumesMatchState, projectVolumeNames, recordVolumes } from './volumes.js';
import { done, pending, pollUntil, systemClock } from '../core/poll.js';
import type { Progress } from '../core/progress.js';
import { readDeployState, withDeployedImages } from './deploy-state.js';
import type { DeployState } from '../../../services/deploy/policy.js';
import { statePath } from '../core/state.js';
import { applyDynamicConfig, patroniRest, readCluster, restartPending } from '../clients/patroni.js';
import { describeFaults, describeMember, type StatusRow } from './status-table.js';

export { describeMember, formatStatusTable, type StatusRow } from './status-table.js';

export function defaultTarget(): ComposeTarget {
  // PARITY_PROJECT: a second stack beside the dev one (tests, benchmarks); PARITY_COMPOSE_DIR:
  // its generated files when they come from another config.
  // PARITY_CONFIG_DIR: where compose finds a developer's build context (relative to parity.yaml).
  return withDeployedImages({
    project: process.env.PARITY_PROJECT ?? PROJECT,
    composeDir: process.env.PARITY_COMPOSE_DIR ?? COMPOSE_DIR,
    stateDir: statePath(),
    environment: { PARITY_CONFIG_DIR: dirname(resolve(configPath())) },
  });
}

interface HealthSnapshot {
  readonly byService: ReadonlyMap<string, ContainerState>;
  readonly healthy: readonly string[];
  readonly broken: readonly string[];
  readonly waiting: readonly string[];
}

/**
 * A job (db-init) is done when it exited 0; a long-running service when healthy; one judged from
 * outside (a developer's image, services/topology/own-services.ts) when it runs: its probe, also
 * waited for, carries the health.
 */
export const isReady = (c: ContainerState | undefined, job = false, probed = false): boolean =>
  job ? c?.state === 'exited' && c.exitCode === 0 : probed ? c?.state === 'running' : c?.health === 'healthy';

async function healthSnapshot(target: ComposeTarget, expected: readonly string[], jobs: ReadonlySet<string>, probed: ReadonlySet<string> = new Set()): Promise<HealthSnapshot> {
  const containers = await engineOf(target).listContainers();
  const byService = new Map(containers.map((c) => [c.service, c]));
  const healthy = expected.filter((name) => isReady(byService.get(name), jobs.has(name), probed.has(name)));
  const broken = expected.filter((name) => {
    const c = byService.get(name);
    if (jobs.has(name)) return c?.state === 'exited' && c.exitCode !== 0;
    return c && (c.state === 'exited' || c.state === 'dead' || c.health === 'unhealthy');
  });
  return { byService, healthy, broken, waiting: expected.filter((name) => !healthy.includes(name)) };
}

/**
 * Wait until every service of the topology is running and healthy. Progress shows how many
 * are healthy and which are still waited for. A container that exits or turns unhealthy
 * fails at once; otherwise after `timeoutMs`. Either way a `TimeoutError` names the services,
 * the time really waited and their last 30 log lines.
 */
export async function waitForHealthy(target: ComposeTarget, topology: Topology, progress: Progress, timeoutMs: number, since = Date.now()): Promise<number> {
  const expected = topology.services.map((service) => service.name);
  const jobs = new Set(topology.services.filter((service) => service.job).map((service) => service.name));
  const probed = new Set(topology.services.filter((service) => service.probedBy).map((service) => service.name));
  let last: HealthSnapshot | undefined;
  const waited = await pollUntil(
    async () => {
      last = await healthSnapshot(target, expected, jobs, probed);
      if (last.waiting.length === 0 || last.broken.length > 0) return done(last);
      progress.step('waiting for every health check', `${last.healthy.length}/${expected.length} healthy; waiting for ${last.waiting.slice(0, 4).join(', ')}${last.waiting.length > 4 ? ` (+${last.waiting.length - 4})` : ''}`);
      return pending(`waiting for ${last.waiting.join(', ')}`);
    },
    { subject: 'the stack', expectation: 'every service healthy', timeoutMs, intervalMs: 1000 },
  ).catch((error: unknown) => {
    if (error instanceof TimeoutError && last) return { value: last, elapsedMs: error.elapsedMs ?? timeoutMs };
    throw error;
  });
  progress.done();
  const snapshot = waited.value;
  if (snapshot.waiting.length === 0) return waited.elapsedMs;
  throw await unhealthyError(target, snapshot, expected.length, timeoutMs, Date.now() - since);
}

/** Which services failed, after how long, with their last 30 log lines. */
async function unhealthyError(target: ComposeTarget, snapshot: HealthSnapshot, total: number, timeoutMs: number, elapsedMs: number): Promise<TimeoutError> {
  const broken = snapshot.broken.length > 0;
  const failed = broken ? snapshot.broken : snapshot.waiting;
  const details: string[] = [];
  for (const name of failed) {
    const c = snapshot.byService.get(name);
    const logs = await engineOf(target).logs(name, 30);
    details.push(`--- ${name}: ${c ? `${c.state}${c.health ? `, ${c.health}` : ''}` : 'no container'}; last 30 log lines ---\n${logs.trim() || '(no output)'}`);
  }
  const why = broken ? 'failed its health check' : `was not healthy within ${formatDuration(timeoutMs)}`;
  // The usual cause of a password failure on a first start: data volumes from an earlier state.
  const hint = details.some((text) => /password authentication failed/.test(text))
    ? '\nPassword authentication failed: the data volumes may come from an earlier state directory (its secrets). ' +
      'Restore that state directory, or `make clean` to start from empty data.'
    : '';
  return new TimeoutError(`${failed.join(', ')} ${why} (waited ${formatDuration(elapsedMs)}; ${snapshot.healthy.length}/${total} services healthy)${hint}\n${details.join('\n')}`, elapsedMs);
}


/** The active color, read from the dynamic config Traefik is watching (the frontend's weights). */
export async function readActiveColor(stateDir: string): Promise<{ color: Color; weights: Record<Color, number> } | undefined> {
  let text: string;
  try {
    text = await readFile(join(stateDir, 'traefik', 'dynamic', 'routes.yml'), 'utf8');
  } catch {
    return undefined;
  }
  const routes = parse(text) as { http?: { services?: Record<string, { weighted?: { services?: Array<{ name: string; weight: number }> } }> } };
  const split = routes.http?.services?.frontend?.weighted?.services ?? [];
  const weight = (color: Color) => split.find((entry) => entry.name === `frontend-${color}`)?.weight;
  const blue = weight('blue');
  const green = weight('green');
  if (blue === undefined || green === undefined) return undefined;
  return { color: blue >= green ? 'blue' : 'green', weights: { blue, green } };
}


export async function readStatus(
  target: ComposeTarget,
  config: ParityConfig,
): Promise<{ rows: StatusRow[]; activeColor?: Color; weights?: Record<Color, number>; deploy?: DeployState }> {
  const topology = buildTopology(config);
  const containers = new Map((await engineOf(target).listContainers()).map((c) => [c.service, c]));
  const active = await readActiveColor(target.stateDir);
  const deploy = await readDeployState(target.stateDir);
  const rest = await patroniRest(target, config);
  const cluster = Object.keys(rest).length ? await readCluster(rest) : undefined;
  const faults = await describeFaults(target, containers.has('toxiproxy'));
  const rows = topology.services.map((service) => {
    const c = containers.get(service.name);
    const version = service.color && deploy ? ` ${deploy.colors[service.color].version}` : '';
    const member = cluster?.members.find((m) => m.name === service.name);
    const color = service.color ? `${service.color}${version}${active && active.color === service.color ? ' (active)' : ''}` : member ? describeMember(member) : '';
    const url = rest[service.name] ? `Patroni REST ${rest[service.name]}/cluster` : service.name === 'toxiproxy' && faults ? faults : (service.url ?? '');
    // A job that did its work shows so, rather than as a stopped container.
    if (service.job && c) return { service: service.name, state: isReady(c, true) ? 'completed' : `${c.state}${c.exitCode ? ` (exit ${c.exitCode})` : ''}`, health: '', url, color };
    // A developer's image has no check of its own: its probe's answer is its health.
    const health = service.probedBy ? containers.get(service.probedBy)?.health && `${containers.get(service.probedBy)!.health} (probed)` : c?.health;
    return { service: service.name, state: c?.state ?? 'absent', health: health || (c ? 'none' : ''), url, color };
  });
  return { rows, activeColor: active?.color, weights: active?.weights, ...(deploy ? { deploy } : {}) };
}

export async function downStack(target: ComposeTarget, removeVolumes: boolean): Promise<void> {
  await engineOf(target).down({ volumes: removeVolumes });
}

/** The state directory's parts `make clean` removes (clean.ts): secrets, CA, certificate, dynamic config, deploy state, host processes' environment files (make dev-env). */
export const CLEANED_STATE = ['secrets', 'ca', 'tls', 'traefik', 'deploy', 'link', 'dev'] as const;

/** What `make clean` would destroy, one line each (empty: nothing to clean). */
export async function describeClean(target: ComposeTarget): Promise<string[]> {
  const containers = await engineOf(target).containerIds();
  const volumes = await projectVolumeNames(target.project);
  const state = CLEANED_STATE.filter((dir) => existsSync(join(target.stateDir, dir)));
  return [
    ...(containers.length ? [`${containers.length} containers of project ${target.project}`] : []),
    ...(volumes.length ? [`${volumes.length} volumes, with all their data: ${volumes.join(', ')}`] : []),
    ...(state.length ? [`in ${target.stateDir}: ${state.map((dir) => `${dir}/`).join(', ')} (secrets and the local CA can't be recovered)`] : []),
  ];
}

export interface UpResult {
  services: number;
  healthyAfterMs: number;
  totalMs: number;
  caFile: string;
  status: Awaited<ReturnType<typeof readStatus>>;
}

/**
 * `make up`: engine, images (local → pull → build), gen, state (secrets, TLS, dynamic
 * config), `docker compose up`, then wait for every health check.
 */
export interface UpHooks {
  /** Runs just before compose starts the containers (a DR region's link). */
  readonly beforeUp?: () => Promise<void>;
  /** The contract gate (dev/contract-gate.ts): for a developer's images, then for their builds once built; throws to refuse. */
  readonly gate?: (kind: 'image' | 'build') => Promise<void>;
}

export async function upStack(config: ParityConfig, target: ComposeTarget, progress: Progress, timeoutMs: number, hooks: UpHooks = {}): Promise<UpResult> {
  const started = Date.now();
  const topology = buildTopology(config);
  await ensureEngine(progress);
  const needed = new Set(topology.services.map((service) => service.image));
  const names = IMAGE_CATALOG.filter((spec) => needed.has(spec.ref)).map((spec) => spec.name);
  await bakeImages({ names, progress, offline: process.env.PARITY_OFFLINE === '1' });
  await ensureExternalImages(topology, progress);
  // Before anything is written: a host process the edge would route to must answer.
  const shown = relative(process.cwd(), configPath());
  await checkHostProcesses(config, shown.startsWith('..') ? configPath() : shown);
  // The contract as a gate: a developer's image is started only once it passed (the caller's hook).
  await hooks.gate?.('image');
  const gen = await generate(config, target.composeDir);
  if (gen.written.length > 0) progress.info(`generated compose/ (${gen.written.length} files changed)`);
  // Before any secret is generated: data volumes from another state would fail on passwords
  // (the DR region's too: with dr.enabled they are started, else they are only reported).
  const drProject = regionProject(target.project, 'dr');
  const unusedVolumes = await checkVolumesMatchState(target.project, target.stateDir, { dr: { project: drProject, enabled: hasDr(config) } });
  if (unusedVolumes) progress.info(unusedVolumes);
  const recorded = hasDr(config) ? [drProject] : [];
  const redisBefore = await engineOf(target).containerIds('redis');
  const prepared = await prepareState(target.stateDir, target.composeDir);
  for (const item of prepared.created) progress.info(`created ${item}`);
  // With a DR region, the link between the regions first: the primary's repository is behind it.
  await hooks.beforeUp?.();
  // A developer's source (source: build) is built again at each make up (the image follows the
  // code), then held to the contract like an image before anything routes to it.
  const built = topology.services.filter((service) => service.build);
  if (built.length) {
    progress.step(`building ${built.map((service) => service.name).join(', ')}`);
    await engineOf(target).build(built.map((service) => service.name)).finally(() => progress.done());
    await hooks.gate?.('build');
  }
  progress.step('docker compose up');
  const upStarted = Date.now();
  try {
    await engineOf(target).up([], { removeOrphans: true });
  } catch (error) {
    // compose gives up when a dependency turns unhealthy; report it the same way as a wait
    // that times out: which service, how long since compose started, its last log lines.
    progress.done();
    await recordVolumes(target.project, target.stateDir, recorded);
    await waitForHealthy(target, topology, progress, 0, upStarted);
    throw error;
  }
  await recordVolumes(target.project, target.stateDir, recorded);
  progress.done();
  // Compose recreates nothing for a changed secret file: a Redis from before reads its new ACL
  // file (a user this version added) only when it starts again. Its clients reconnect.
  if (prepared.redisAclChanged && redisBefore.length) {
    await engineOf(target).restart(['redis']);
    progress.info('Redis restarted: its ACL file changed (new users or passwords)');
  }
  progress.info(`docker compose up: containers started (${formatDuration(Date.now() - upStarted)})`);
  await waitForHealthy(target, topology, progress, Math.max(0, timeoutMs - (Date.now() - upStarted)), upStarted);
  progress.info(`all ${topology.services.length} services healthy (${formatDuration(Date.now() - upStarted)} after compose up)`);
  // bootstrap.dcs applies only when the cluster is created: keep a running one in line with parity.yaml.
  const rest = await patroniRest(target, config);
  const changes = await applyDynamicConfig(rest, config);
  for (const change of changes) progress.info(`Patroni: ${change}`);
  if (changes.length) {
    const restarted = await restartPending(rest, { flagWaitMs: (config.postgres.patroni.loopWait * 2 + 1) * 1000, timeoutMs: 60_000, sleep: (ms) => systemClock.sleep(ms) });
    if (restarted.length) progress.info(`Patroni: restarted for parameters that need it (replicas first, then the leader in place): ${restarted.join(', ')}`);
  }
  return {
    services: topology.services.length,
    healthyAfterMs: Date.now() - upStarted,
    totalMs: Date.now() - started,
    caFile: prepared.caFile,
    status: await readStatus(target, config),
  };
}
