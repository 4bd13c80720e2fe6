/**
 * `make cluster-up | cluster-down | cluster-status`: the stack on a local multi-node Docker Swarm.
 *
 * Nodes are docker-in-docker containers of Debian's docker.io (services/images/swarm-node), one per
 * zone, all managers (losing one keeps the raft quorum), on a bridge of their own; each engine's
 * socket is a file in the state directory, so the runner talks to a node with DOCKER_HOST and no
 * TCP API. Images go to the nodes by `docker save | docker load` (no registry is reachable); the
 * stack is compose/stack.yaml (services/render/stack.ts); the front runs on the host engine, in
 * front of the nodes' Traefik (compose/front/cluster.cfg).
 *
 * The node containers can't be `--privileged` here (the sandbox's bounding set lacks
 * CAP_SYS_RESOURCE): they get every other capability, no seccomp/AppArmor profile, and the host's
 * cgroup tree, under a cgroup parent of their own that goes with them (docs/scale-out.md).
 */
import { chmod, chown, mkdir, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ParityConfig } from '../../../services/config/schema.js';
import { ParityError, TimeoutError, UsageError, formatDuration } from '../../../services/errors.js';
import { IMAGE_CATALOG, SWARM_NODE_IMAGE } from '../../../services/images/catalog.js';
import { buildTopology, type Topology } from '../../../services/topology/index.js';
import { CLUSTER_LABEL, FRONT_ADMIN_DIR, clusterNetwork, clusterNodes, DISPATCHER_HEARTBEAT, nodeDaemonConfig, OVERLAY_POOL, type ClusterNode } from '../../../services/topology/cluster.js';
import type { ComposeTarget } from '../clients/engine.js';
import { tryRun, run, type RunResult } from '../core/exec.js';
import { pending, done, pollUntil } from '../core/poll.js';
import type { Progress } from '../core/progress.js';
import { ensureEngine } from '../engine/engine.js';
import { bakeImages } from '../engine/images.js';
import { generate } from '../gen/gen.js';
import { prepareState } from '../stack/stack-state.js';

/** A cluster step that failed: which, what was expected, and what the engine said. */
export class ClusterError extends ParityError {
  readonly exitCode = 1;
}

/** The capabilities a node gets instead of `--privileged` (which this sandbox refuses). */
const NODE_RUN_OPTIONS = [
  '--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE',
  '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--security-opt', 'systempaths=unconfined',
  '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw',
];

export const frontName = (project: string) => `${project}-cluster-front`;
/**
 * The clusters' folder on this host for sockets (the nodes' engines, the front's runtime API): under
 * the temporary folder, not the state directory, since a unix socket's path may not exceed 107 bytes
 * and checkouts can be deep. One folder a project.
 */
const SOCKETS = join(tmpdir(), 'parity-cluster');
const socketsOf = (target: ComposeTarget) => join(SOCKETS, target.project);
/** The front's runtime API folder on this host (mounted at FRONT_ADMIN_DIR). */
const frontAdminDir = (target: ComposeTarget) => join(socketsOf(target), 'front');
/** The front's runtime API socket on this host. */
export const frontAdminSocket = (target: ComposeTarget) => join(frontAdminDir(target), 'admin.sock');
/** The front's backends (one per Traefik entrypoint it forwards to). */
export const FRONT_BACKENDS = ['traefik-public', 'traefik-trusted', 'traefik-public-web'] as const;
const nodeDir = (target: ComposeTarget, node: ClusterNode) => join(target.stateDir, 'cluster', node.zone);
/** Where a node's engine socket appears on this host. */
const runDir = (target: ComposeTarget, node: ClusterNode) => join(socketsOf(target), node.zone);
/** The node's engine, as DOCKER_HOST. */
export const nodeSocket = (target: ComposeTarget, node: ClusterNode) => `unix://${join(runDir(target, node), 'docker.sock')}`;

/** A node's container killed (its engine, tasks and network gone at once: a lost machine). */
export const killNode = (node: ClusterNode): Promise<RunResult> => tryRun(['docker', 'kill', node.name]);
/** A node's container started again (its engine rejoins the swarm from its volume). */
export const startNode = (node: ClusterNode): Promise<RunResult> => tryRun(['docker', 'start', node.name]);

/** `docker …` against one node's engine. */
export const onNode = (target: ComposeTarget, node: ClusterNode, argv: readonly string[], options: { readonly input?: string; readonly timeoutMs?: number; readonly env?: Readonly<Record<string, string>> } = {}): Promise<RunResult> =>
  tryRun(['docker', ...argv], { ...options, env: { ...options.env, DOCKER_HOST: nodeSocket(target, node) } });

const must = (what: string, result: RunResult): string => {
  if (result.code !== 0) throw new ClusterError(`${what}: expected success, got exit ${result.code} after ${formatDuration(result.elapsedMs)}: ${(result.stderr || result.stdout).trim().split('\n').slice(-5).join(' | ')}`);
  return result.stdout.trim();
};

/** The nodes that exist on the host engine (running or not), by container name. */
export async function existingNodes(target: ComposeTarget): Promise<Map<string, { running: boolean }>> {
  const out = await run(['docker', 'ps', '-a', '--filter', `label=${CLUSTER_LABEL}=${target.project}`, '--filter', 'label=dev.parity.cluster.role=node', '--format', '{{.Names}} {{.State}}']);
  return new Map(out.split('\n').filter(Boolean).map((line) => { const [name = '', state] = line.split(' '); return [name, { running: state === 'running' }]; }));
}

export interface ClusterUpOptions {
  /** Nodes to run (1 to 3, one per zone). */
  readonly nodes: number;
  readonly progress: Progress;
  /** How long the stack may take to converge after `docker stack deploy`. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface ClusterUpResult {
  readonly nodes: readonly ClusterNode[];
  readonly elapsedMs: number;
  /** Time per phase, for the summary and the benchmark. */
  readonly phases: Readonly<Record<string, number>>;
}

async function timed<T>(phases: Record<string, number>, name: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    phases[name] = Date.now() - started;
  }
}

/** Images compose/stack.yaml runs (the colors' variables resolved to what they say now). */
function stackImages(topology: Topology, target: ComposeTarget): string[] {
  const variables = { ...target.environment, ...target.variables?.() };
  const images = topology.services.filter((service) => service.networkMode !== 'host').map((service) => {
    const variable = service.imageVariables?.at(-1);
    return (variable && variables[variable]) || service.image;
  });
  return [...new Set(images)].sort();
}

async function startNodes(config: ParityConfig, target: ComposeTarget, nodes: readonly ClusterNode[], progress: Progress): Promise<void> {
  const network = clusterNetwork(config, target.project);
  const label = `${CLUSTER_LABEL}=${target.project}`;
  const known = await tryRun(['docker', 'network', 'inspect', network.name, '--format', '{{range .IPAM.Config}}{{.Subnet}}{{end}}']);
  if (known.code !== 0) {
    must(`create the cluster's network ${network.name} (${network.subnet})`, await tryRun(['docker', 'network', 'create', '--label', label, '--subnet', network.subnet, '--gateway', network.gateway, network.name]));
  } else if (known.stdout.trim() !== network.subnet) {
    throw new ClusterError(`network ${network.name}: expected subnet ${network.subnet}, found ${known.stdout.trim()}; make cluster-down removes it`);
  }
  const existing = await existingNodes(target);
  for (const [index, node] of nodes.entries()) {
    const dir = nodeDir(target, node);
    await mkdir(join(dir, 'etc'), { recursive: true });
    await mkdir(runDir(target, node), { recursive: true });
    await writeFile(join(dir, 'etc', 'daemon.json'), `${JSON.stringify(nodeDaemonConfig(node, index), null, 2)}\n`);
    const state = existing.get(node.name);
    if (state?.running) continue;
    if (state) {
      must(`start node ${node.name}`, await tryRun(['docker', 'start', node.name]));
      continue;
    }
    progress.step(`starting node ${node.name} (${node.zone}, ${node.address})`);
    must(`create node ${node.name}'s volume`, await tryRun(['docker', 'volume', 'create', '--label', label, node.volume]));
    must(
      `start node ${node.name}`,
      await tryRun([
        'docker', 'run', '-d', '--name', node.name, '--hostname', node.name,
        '--label', label, '--label', 'dev.parity.cluster.role=node', '--label', `dev.parity.zone=${node.zone}`,
        '--network', network.name, '--ip', node.address,
        ...NODE_RUN_OPTIONS,
        '-v', `${node.volume}:/var/lib/docker`, '-v', `${join(dir, 'etc')}:/etc/parity-node:ro`, '-v', `${runDir(target, node)}:/run/parity-node`,
        SWARM_NODE_IMAGE.ref,
      ]),
    );
  }
  progress.done();
  for (const node of nodes) {
    await pollUntil(async () => ((await onNode(target, node, ['info', '--format', '{{.ServerVersion}}'])).code === 0 ? done(true) : pending('its engine does not answer yet')), {
      subject: `node ${node.name}'s engine`,
      expectation: `docker info answers on ${nodeSocket(target, node)}`,
      timeoutMs: 60_000,
    }).catch(async (error: Error) => {
      const logs = await tryRun(['docker', 'logs', '--tail', '20', node.name]);
      throw new ClusterError(`${error.message}\nlast lines of ${node.name}:\n${(logs.stdout + logs.stderr).trim()}`);
    });
  }
}

/** `docker swarm init` on the first node, the others join as managers; each labelled with its zone. Idempotent. */
async function formSwarm(target: ComposeTarget, nodes: readonly ClusterNode[], progress: Progress): Promise<void> {
  const [first, ...rest] = nodes;
  if (!first) return;
  const stateOf = async (node: ClusterNode) => (await onNode(target, node, ['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim();
  if ((await stateOf(first)) !== 'active') {
    progress.step(`swarm init on ${first.name}`);
    must(
      `swarm init on ${first.name}`,
      await onNode(target, first, ['swarm', 'init', '--advertise-addr', first.address, '--default-addr-pool', OVERLAY_POOL.base, '--default-addr-pool-mask-length', String(OVERLAY_POOL.maskLength), '--dispatcher-heartbeat', DISPATCHER_HEARTBEAT]),
    );
  }
  const token = must('read the manager join token', await onNode(target, first, ['swarm', 'join-token', '-q', 'manager']));
  for (const node of rest) {
    if ((await stateOf(node)) === 'active') continue;
    progress.step(`${node.name} joins as a manager`);
    must(`swarm join of ${node.name}`, await onNode(target, node, ['swarm', 'join', '--token', token, '--advertise-addr', node.address, `${first.address}:2377`]));
  }
  for (const node of nodes) must(`label ${node.name} with ${node.zone}`, await onNode(target, first, ['node', 'update', '--label-add', `zone=${node.zone}`, node.name]));
  progress.done();
}

/** Every tagged image of an engine with its ID (`repository:tag` → `sha256:…`), in one call. */
async function imageIds(docker: (argv: readonly string[]) => Promise<RunResult>): Promise<Map<string, string>> {
  const listed = must('list the images', await docker(['image', 'ls', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']));
  return new Map(listed.split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string]));
}

/**
 * The images each node lacks or holds another build of (same tag, another ID: a rebuilt project
 * image), loaded from one `docker save` of their union (parallel loads). Returns the references
 * that a node held in another build: their services must restart to run the new one.
 */
async function shipImages(target: ComposeTarget, nodes: readonly ClusterNode[], images: readonly string[], progress: Progress): Promise<{ readonly loaded: number; readonly replaced: readonly string[] }> {
  const wanted = await imageIds((argv) => tryRun(['docker', ...argv]));
  const missing = new Map<ClusterNode, string[]>();
  const replaced = new Set<string>();
  for (const node of nodes) {
    const heldIds = await imageIds((argv) => onNode(target, node, argv));
    const lacking: string[] = [];
    for (const image of images) {
      const held = heldIds.get(image);
      if (held === wanted.get(image)) continue;
      lacking.push(image);
      if (held) replaced.add(image);
    }
    if (lacking.length) missing.set(node, lacking);
  }
  if (missing.size === 0) return { loaded: 0, replaced: [] };
  const union = [...new Set([...missing.values()].flat())].sort();
  const tar = join(target.stateDir, 'cluster', 'images.tar');
  try {
    progress.step(`saving ${union.length} images for ${missing.size} node(s)`);
    must(`docker save ${union.join(' ')}`, await tryRun(['docker', 'save', '-o', tar, ...union]));
    progress.step(`loading images into ${[...missing.keys()].map((node) => node.name).join(', ')}`);
    await Promise.all([...missing.keys()].map(async (node) => must(`load images into ${node.name}`, await onNode(target, node, ['load', '-q', '-i', tar]))));
  } finally {
    await rm(tar, { force: true });
    progress.done();
  }
  return { loaded: union.length, replaced: [...replaced].sort() };
}

interface ServiceLine {
  readonly Name: string;
  readonly Mode: string;
  readonly Replicas: string;
  readonly Image: string;
}

/** `docker service ls` of the stack, on the first node that answers. */
export async function stackServices(target: ComposeTarget, nodes: readonly ClusterNode[]): Promise<ServiceLine[]> {
  for (const node of nodes) {
    const result = await onNode(target, node, ['service', 'ls', '--filter', `label=com.docker.stack.namespace=${target.project}`, '--format', '{{json .}}']);
    if (result.code === 0) return result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as ServiceLine);
  }
  return [];
}

/** Every service of the stack whose image is one of `images`, updated with --force (its tasks replaced in order). */
async function restartServicesOf(target: ComposeTarget, node: ClusterNode, images: readonly string[], progress: Progress): Promise<void> {
  const services = (await stackServices(target, [node])).filter((service) => images.includes(service.Image)).map((service) => service.Name);
  for (const service of services) {
    progress.step(`restarting ${service} on the new build of its image`);
    must(`docker service update --force ${service}`, await onNode(target, node, ['service', 'update', '--force', '--detach', '--quiet', service]));
  }
  progress.done();
  if (services.length) progress.info(`restarted ${services.length} service(s) on the new build: ${services.map((name) => name.slice(target.project.length + 1)).join(', ')}`);
}

/** A job (db-init) is converged once one of its tasks completed; the rest once running = desired. */
export async function converged(target: ComposeTarget, nodes: readonly ClusterNode[], jobs: ReadonlySet<string>): Promise<{ ready: boolean; waiting: string[] }> {
  const services = await stackServices(target, nodes);
  const waiting: string[] = [];
  // A rolling update (a new build, a changed spec) in progress is not converged, whatever the counts say.
  const updates = services.length ? await onNode(target, nodes[0]!, ['service', 'inspect', '--format', '{{.Spec.Name}} {{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}', ...services.map((service) => service.Name)]) : undefined;
  for (const line of updates?.stdout.split('\n') ?? []) {
    const [name = '', state = ''] = line.trim().split(' ');
    if (/^(updating|rollback_started|paused|rollback_paused)$/.test(state)) waiting.push(`${name.slice(target.project.length + 1)} (update ${state})`);
  }
  for (const service of services) {
    const short = service.Name.slice(target.project.length + 1);
    if (jobs.has(short)) {
      const tasks = await onNode(target, nodes[0]!, ['service', 'ps', service.Name, '--format', '{{.CurrentState}}']);
      if (!/^Complete/m.test(tasks.stdout)) waiting.push(`${short} (job, not complete)`);
      continue;
    }
    const [running, desired] = service.Replicas.split(' ')[0]!.split('/').map(Number);
    if (running !== desired || desired === 0) waiting.push(`${short} ${service.Replicas}`);
  }
  return { ready: services.length > 0 && waiting.length === 0, waiting };
}

/** The last tasks' errors and log lines of services that didn't converge. */
async function explainStuck(target: ComposeTarget, node: ClusterNode, waiting: readonly string[]): Promise<string> {
  const lines: string[] = [];
  for (const entry of waiting.slice(0, 4)) {
    const service = `${target.project}_${entry.split(' ')[0]}`;
    const tasks = await onNode(target, node, ['service', 'ps', service, '--no-trunc', '--format', '{{.Node}} {{.CurrentState}} {{.Error}}']);
    const logs = await onNode(target, node, ['service', 'logs', '--tail', '10', '--no-task-ids', service], { timeoutMs: 10_000 });
    lines.push(`— ${service}: ${tasks.stdout.trim().split('\n').slice(0, 3).join(' | ')}`, ...(logs.stdout + logs.stderr).trim().split('\n').slice(-10).map((line) => `    ${line}`));
  }
  return lines.join('\n');
}

/** The front on the host engine (host network), in front of the nodes' Traefik. */
async function startFront(topology: Topology, target: ComposeTarget, progress: Progress): Promise<void> {
  const { config } = topology;
  const name = frontName(target.project);
  await tryRun(['docker', 'rm', '-fv', name]);
  const haproxy = topology.services.find((service) => service.name === 'front')?.image ?? 'haproxy:2.6.12';
  // Its runtime API socket goes in a folder of this host that the image's user may write.
  const uid = must('read the haproxy user of the front image', await tryRun(['docker', 'run', '--rm', '--entrypoint', 'id', haproxy, '-u']));
  await mkdir(frontAdminDir(target), { recursive: true });
  await chown(frontAdminDir(target), Number(uid), 0);
  await chmod(frontAdminDir(target), 0o700);
  must(
    'start the cluster front',
    await tryRun([
      'docker', 'run', '-d', '--name', name, '--network', 'host', '--label', `${CLUSTER_LABEL}=${target.project}`, '--label', 'dev.parity.cluster.role=front',
      '--memory', '128m', '--read-only', '-v', `${join(target.composeDir, 'front')}:/usr/local/etc/haproxy:ro`, '-v', `${frontAdminDir(target)}:${FRONT_ADMIN_DIR}`, haproxy, '-f', '/usr/local/etc/haproxy/cluster.cfg',
    ]),
  );
  await pollUntil(async () => ((await tryRun(['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${config.ports.https}`])).code === 0 ? done(true) : pending('not listening yet')), {
    subject: 'the cluster front',
    expectation: `it listens on ${config.bindAddress}:${config.ports.https}`,
    timeoutMs: 20_000,
  });
  progress.info(`front: https://localhost:${config.ports.https} → Traefik on every node (compose/front/cluster.cfg)`);
}

/** `make cluster-up`: nodes, swarm, images, stack, front; idempotent (a re-run starts what is missing). */
export async function clusterUp(config: ParityConfig, target: ComposeTarget, options: ClusterUpOptions): Promise<ClusterUpResult> {
  const started = Date.now();
  const phases: Record<string, number> = {};
  const { progress } = options;
  const nodes = clusterNodes(config, target.project, options.nodes);
  const topology = buildTopology(config);
  const images = stackImages(topology, target);
  await ensureEngine(progress);
  const running = await run(['docker', 'ps', '-q', '--filter', `label=com.docker.compose.project=${target.project}`]);
  if (running) throw new UsageError(`project ${target.project}: its one-engine stack is running (make up); the cluster's front needs the same ports. Run make down first.`);
  const existing = await existingNodes(target);
  const extra = [...existing.keys()].filter((name) => !nodes.some((node) => node.name === name));
  if (extra.length) throw new UsageError(`NODES=${options.nodes}: the cluster already has ${existing.size} nodes (${[...existing.keys()].join(', ')}); make cluster-down first to start a smaller one`);

  await timed(phases, 'images', async () => {
    const names = IMAGE_CATALOG.filter((spec) => images.includes(spec.ref)).map((spec) => spec.name);
    await bakeImages({ names: [...names, SWARM_NODE_IMAGE.name], progress, offline: process.env.PARITY_OFFLINE === '1', catalog: [...IMAGE_CATALOG, SWARM_NODE_IMAGE] });
  });
  await timed(phases, 'gen', async () => {
    await generate(config, target.composeDir);
    await prepareState(target.stateDir, target.composeDir);
  });
  await timed(phases, 'nodes', () => startNodes(config, target, nodes, progress));
  await timed(phases, 'swarm', () => formSwarm(target, nodes, progress));
  const shipped = await timed(phases, 'ship images', () => shipImages(target, nodes, images, progress));
  if (shipped.loaded) progress.info(`loaded ${shipped.loaded} images into the nodes in ${formatDuration(phases['ship images']!)}${shipped.replaced.length ? ` (a new build of ${shipped.replaced.join(', ')})` : ''}`);
  const jobs = new Set(topology.services.filter((service) => service.job).map((service) => service.name));
  await timed(phases, 'deploy', async () => {
    must(
      'docker stack deploy',
      await onNode(target, nodes[0]!, ['stack', 'deploy', '--prune', '--resolve-image', 'never', '-c', join(target.composeDir, 'stack.yaml'), target.project], {
        env: { PARITY_STATE_DIR: target.stateDir, ...target.environment, ...target.variables?.() },
      }),
    );
    // A new build under the same tag changes nothing in the stack file: restart what runs it (one task at a time, start-first).
    if (shipped.replaced.length) await restartServicesOf(target, nodes[0]!, shipped.replaced, progress);
    let last: string[] = [];
    await pollUntil(
      async () => {
        const state = await converged(target, nodes, jobs);
        last = state.waiting;
        progress.step('waiting for every service to run its replicas', state.waiting.slice(0, 6).join(', '));
        return state.ready ? done(true) : pending(`waiting for ${state.waiting.join(', ')}`);
      },
      { subject: `stack ${target.project} on ${nodes.length} node(s)`, expectation: 'every service runs its desired replicas and db-init completed', timeoutMs: options.timeoutMs, intervalMs: 2000, signal: options.signal },
    ).catch(async (error: Error) => {
      progress.done();
      if (error instanceof TimeoutError) throw new ClusterError(`${error.message}\n${await explainStuck(target, nodes[0]!, last)}`);
      throw error;
    });
    progress.done();
  });
  await timed(phases, 'front', () => startFront(topology, target, progress));
  return { nodes, elapsedMs: Date.now() - started, phases };
}

/** Remove one cgroup folder and what is under it, deepest first (empty once its processes are gone). */
async function removeCgroup(path: string): Promise<void> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isDirectory()) await removeCgroup(join(path, entry.name));
  await rmdir(path).catch(() => undefined);
}

/** `make cluster-down`: the front, the nodes with their volumes, the network, the nodes' cgroups and state. What was there is listed. */
export async function clusterDown(config: ParityConfig, target: ComposeTarget, progress: Progress): Promise<string[]> {
  const removed: string[] = [];
  const label = `label=${CLUSTER_LABEL}=${target.project}`;
  const containers = (await run(['docker', 'ps', '-aq', '--filter', label])).split('\n').filter(Boolean);
  if (containers.length) {
    progress.step(`removing ${containers.length} container(s)`);
    must('remove the cluster containers', await tryRun(['docker', 'rm', '-fv', ...containers]));
    removed.push(`${containers.length} container(s) (nodes and front)`);
  }
  const volumes = (await run(['docker', 'volume', 'ls', '-q', '--filter', label])).split('\n').filter(Boolean);
  if (volumes.length) {
    must('remove the nodes\' volumes', await tryRun(['docker', 'volume', 'rm', '-f', ...volumes]));
    removed.push(`${volumes.length} volume(s) (${volumes.join(', ')})`);
  }
  const network = clusterNetwork(config, target.project);
  if ((await tryRun(['docker', 'network', 'rm', network.name])).code === 0) removed.push(`network ${network.name}`);
  for (const node of clusterNodes(config, target.project)) {
    for (const controller of await readdir('/sys/fs/cgroup').catch(() => [])) await removeCgroup(join('/sys/fs/cgroup', controller, node.cgroupParent));
  }
  await rm(join(target.stateDir, 'cluster'), { recursive: true, force: true });
  await rm(socketsOf(target), { recursive: true, force: true });
  // The folder of every cluster's sockets goes too once no other cluster uses it.
  await rmdir(SOCKETS).catch(() => undefined);
  progress.done();
  return removed;
}

export interface ClusterStatus {
  readonly nodes: readonly { readonly name: string; readonly zone: string; readonly status: string; readonly availability: string; readonly manager: string; readonly tasks: number }[];
  readonly services: readonly { readonly name: string; readonly mode: string; readonly replicas: string; readonly where: string }[];
  readonly front: string;
}

/** Nodes, zones, services with replicas running/desired, and where each task runs. Undefined when no cluster is up. */
export async function clusterStatus(config: ParityConfig, target: ComposeTarget): Promise<ClusterStatus | undefined> {
  const existing = await existingNodes(target);
  const nodes = clusterNodes(config, target.project).filter((node) => existing.get(node.name)?.running);
  const manager = nodes[0];
  if (!manager) return undefined;
  const listed = await onNode(target, manager, ['node', 'ls', '--format', '{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}']);
  const tasks = await onNode(target, manager, ['stack', 'ps', target.project, '--filter', 'desired-state=running', '--format', '{{.Name}}\t{{.Node}}\t{{.CurrentState}}']);
  const taskLines = tasks.stdout.split('\n').filter(Boolean).map((line) => line.split('\t') as [string, string, string]);
  const zones = new Map(clusterNodes(config, target.project).map((node) => [node.name, node.zone]));
  const front = await tryRun(['docker', 'inspect', '-f', '{{.State.Status}}', frontName(target.project)]);
  return {
    nodes: listed.stdout.split('\n').filter(Boolean).map((line) => {
      const [name = '', status = '', availability = '', managerStatus = ''] = line.split('\t');
      return { name, zone: zones.get(name) ?? '?', status, availability, manager: managerStatus || 'worker', tasks: taskLines.filter(([, node]) => node === name).length };
    }),
    services: (await stackServices(target, [manager])).map((service) => {
      const short = service.Name.slice(target.project.length + 1);
      const where = taskLines.filter(([task]) => task.startsWith(`${service.Name}.`)).map(([, node]) => zones.get(node)?.slice('zone-'.length) ?? node);
      return { name: short, mode: service.Mode, replicas: service.Replicas, where: where.sort().join(' ') };
    }),
    front: front.code === 0 ? `${front.stdout.trim()} on ${config.bindAddress}:${config.ports.https}` : 'not running',
  };
}

/** The status as a terminal table. */
export function formatClusterStatus(status: ClusterStatus): string {
  const table = (rows: readonly string[][]) => {
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
  };
  return [
    table([['NODE', 'ZONE', 'STATUS', 'AVAILABILITY', 'MANAGER', 'TASKS'], ...status.nodes.map((node) => [node.name, node.zone, node.status, node.availability, node.manager, String(node.tasks)])]),
    '',
    table([['SERVICE', 'MODE', 'REPLICAS', 'ZONES'], ...status.services.map((service) => [service.name, service.mode, service.replicas, service.where || '-'])]),
    '',
    `front: ${status.front}`,
  ].join('\n');
}
