/**
 * `make drill-node`: one node of the cluster (`make cluster-up`) lost or drained while users keep
 * working through the front. Phases: preflight (nothing changes if it fails) → load and a 3 s
 * baseline → fault → the front and Swarm notice → replicas back at desired → hold → the node back
 * and its pinned tasks running → 3 s of load → the acknowledged writes looked up → report.
 * Whatever happens (a budget, an error, Ctrl-C or SIGTERM), the node is started again (or made
 * active) and put back in the front, and the drill waits, bounded, for the stack to converge. The
 * same runner serves the make target and the integration test.
 */
import { databaseEndpoints } from '../../../../services/config/profiles.js';
import type { DrillFindings } from '../../../../services/drills/model.js';
import { NODE_SCENARIOS, NODE_SCENARIO_SPECS, nodeFigures, type NodeScenario } from '../../../../services/drills/node.js';
import { DrillInputError } from '../../../../services/errors.js';
import { clusterNodes, ZONES, type ClusterNode } from '../../../../services/topology/cluster.js';
import { DATABASE } from '../../../../services/topology/common.js';
import { buildTopology } from '../../../../services/topology/index.js';
import { converged, existingNodes, FRONT_BACKENDS, frontAdminSocket, killNode, onNode, startNode } from '../../cluster/cluster.js';
import { serverStates, setServerState } from '../../clients/haproxy-admin.js';
import { adminPassword, queryPg, type PgLogin } from '../../clients/postgres.js';
import { systemClock } from '../../core/poll.js';
import { startUsersLoad, type StartedApiLoad } from '../api-load.js';
import { checkAborted, startDrillRun, stepSucceeded, undoAll, type DrillOptions, type DrillRun } from '../lifecycle.js';
import { mark, waitUntil } from '../moments.js';
import { concludeDrill, type ConcludedDrill } from '../report.js';
import { DRILL_USER_ADDRESSES, openDrillUsers } from '../users.js';

export interface NodeDrillOptions extends DrillOptions {
  readonly scenario: NodeScenario;
  /** The zone whose node is lost or drained. @default the last node's */
  readonly zone?: string;
  /** Users' reads per second on each of three paths (/, /api/events, /api/articles). @default 10 */
  readonly readsPerSecond?: number;
  /** Users' event writes per second. @default 5 */
  readonly writesPerSecond?: number;
}

interface Run extends DrillRun<NodeDrillOptions> {
  readonly scenario: NodeScenario;
  readonly apiWriteTimes: Set<number>;
  nodes: ClusterNode[];
  victim?: ClusterNode;
  /** A node that stays: the drill asks the swarm there. */
  manager?: ClusterNode;
  /** Replicated services' desired replicas, and those pinned to the victim's zone (they wait for it). */
  desired: Map<string, number>;
  global: Set<string>;
  pinned: Set<string>;
  jobs: Set<string>;
  api?: StartedApiLoad;
  faultAtMs?: number;
  nodeGoneAtMs?: number;
  frontDownAtMs?: number;
  replicasBackAtMs?: number;
  rejoinMs?: number;
  loadEndMs?: number;
  ackedWritesLost: number | null;
}

export function validateNodeScenario(scenario: string): NodeScenario {
  if ((NODE_SCENARIOS as readonly string[]).includes(scenario)) return scenario as NodeScenario;
  throw new DrillInputError(`unknown node scenario "${scenario}"; expected one of: ${NODE_SCENARIOS.join(', ')}`);
}

const docker = (run: Run, argv: readonly string[]) => onNode(run.options.target, run.manager!, argv);

interface Task {
  readonly service: string;
  readonly node: string;
  readonly state: string;
}

/** Tasks meant to run now: service (without the stack's prefix), node, state. */
async function runningTasks(run: Run): Promise<Task[]> {
  const { project } = run.options.target;
  const answer = await docker(run, ['stack', 'ps', project, '--filter', 'desired-state=running', '--format', '{{.Name}}\t{{.Node}}\t{{.CurrentState}}']);
  return answer.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', node = '', state = ''] = line.split('\t');
      return { service: name.slice(project.length + 1).replace(/\.[^.]+$/, ''), node, state };
    });
}

/** Every global service (Traefik) runs its task on `node`. */
async function globalTasksOn(run: Run, node: ClusterNode): Promise<boolean> {
  const tasks = await runningTasks(run);
  return [...run.global].every((service) => tasks.some((task) => task.service === service && task.node === node.name && task.state.startsWith('Running')));
}

async function nodeStatus(run: Run, node: ClusterNode): Promise<string> {
  return (await docker(run, ['node', 'inspect', '--format', '{{.Status.State}} {{.Spec.Availability}}', node.name])).stdout.trim();
}

/** Every service that may move runs its desired replicas on the nodes other than the victim (global ones: one per live node). */
function replicasBack(run: Run, tasks: readonly Task[]): boolean {
  const running = tasks.filter((task) => task.node !== run.victim!.name && task.state.startsWith('Running'));
  const live = run.nodes.filter((node) => node !== run.victim).map((node) => node.name);
  for (const [service, desired] of run.desired) {
    if (run.pinned.has(service)) continue;
    if (running.filter((task) => task.service === service).length < desired) return false;
  }
  for (const service of run.global) if (!live.every((node) => running.some((task) => task.service === service && task.node === node))) return false;
  return true;
}

async function preflight(run: Run): Promise<void> {
  const { target, config, zone } = run.options;
  const existing = await existingNodes(target);
  run.nodes = clusterNodes(config, target.project).filter((node) => existing.get(node.name)?.running);
  if (run.nodes.length < 2) throw new DrillInputError(`the node drill needs a cluster of at least 2 running nodes (found ${run.nodes.length} in project ${target.project}); start one with make cluster-up NODES=3`);
  if (zone !== undefined && !(ZONES as readonly string[]).includes(zone)) throw new DrillInputError(`NODE=${zone}: expected a zone of the cluster: ${run.nodes.map((node) => node.zone).join(', ')}`);
  run.victim = zone ? run.nodes.find((node) => node.zone === zone) : run.nodes.at(-1);
  if (!run.victim) throw new DrillInputError(`NODE=${zone}: no running node in that zone (the cluster has ${run.nodes.map((node) => node.zone).join(', ')})`);
  run.manager = run.nodes.find((node) => node !== run.victim);
  for (const node of run.nodes) {
    const status = await nodeStatus(run, node);
    if (status !== 'ready active') throw new DrillInputError(`node ${node.name} is "${status}", not "ready active": put it back first (make cluster-up starts what is missing)`);
  }
  run.jobs = new Set(buildTopology(config).services.filter((service) => service.job).map((service) => service.name));
  const state = await converged(target, run.nodes, run.jobs);
  if (!state.ready) throw new DrillInputError(`the stack on the cluster has not converged (waiting: ${state.waiting.join(', ')}); wait for make cluster-status to show every service at its replicas`);
  const inspected = await stepSucceeded(docker(run, ['service', 'inspect', '--format', '{{.Spec.Name}}\t{{if .Spec.Mode.Global}}global{{else}}{{.Spec.Mode.Replicated.Replicas}}{{end}}\t{{json .Spec.TaskTemplate.Placement.Constraints}}', ...(await docker(run, ['stack', 'services', '-q', target.project])).stdout.split('\n').filter(Boolean)]), 'docker service inspect');
  for (const line of inspected.split('\n').filter(Boolean)) {
    const [name = '', mode = '', constraints = 'null'] = line.split('\t');
    const service = name.slice(target.project.length + 1);
    if (run.jobs.has(service)) continue;
    if (mode === 'global') run.global.add(service);
    else run.desired.set(service, Number(mode));
    if ((JSON.parse(constraints) as string[] | null)?.some((constraint) => constraint.replace(/\s/g, '') === `node.labels.zone==${run.victim!.zone}`)) run.pinned.add(service);
  }
}

async function startLoad(run: Run): Promise<void> {
  const { target, config, progress } = run.options;
  const users = await openDrillUsers(target.stateDir, config);
  if (users.why) run.notes.push(`no API writes: ${users.why}`);
  const reads = run.options.readsPerSecond ?? 10;
  const writes = users.token ? (run.options.writesPerSecond ?? 5) : 0;
  run.api = startUsersLoad(run, users, { reads, writes, readPaths: ['/', '/api/events?limit=5', '/api/articles'] }, run.apiWriteTimes);
  progress.info(`users: ${reads * 3} reads/s (/, /api/events, /api/articles) + ${writes} writes/s through the front (${users.base}) from ${DRILL_USER_ADDRESSES} client addresses`);
}

async function fault(run: Run): Promise<void> {
  const victim = run.victim!;
  const socket = frontAdminSocket(run.options.target);
  if (NODE_SCENARIO_SPECS[run.scenario].fault === 'drain') {
    // Planned: the front first stops sending the node new connections, then Swarm moves its tasks.
    run.undo.push({ what: `front: ${victim.zone} ready again`, run: () => setServerState(socket, FRONT_BACKENDS, victim.zone, 'ready') });
    run.faultAtMs = run.now();
    await setServerState(socket, FRONT_BACKENDS, victim.zone, 'drain');
    mark(run, 'front drains the node', run.faultAtMs, `${victim.zone}: no new connections`);
    run.undo.push({
      what: `${victim.name} active again, its Traefik running before the front sends it users`,
      run: async () => {
        await stepSucceeded(docker(run, ['node', 'update', '--availability', 'active', victim.name]), `make ${victim.name} active`);
        await waitUntil({ options: { ...run.options, signal: undefined } }, `${victim.name}'s Traefik running again`, () => globalTasksOn(run, victim), 60_000, 250);
      },
    });
    await stepSucceeded(docker(run, ['node', 'update', '--availability', 'drain', victim.name]), `drain ${victim.name}`);
    mark(run, 'node drained', run.now(), `docker node update --availability drain ${victim.name}`);
    return;
  }
  run.undo.push({ what: `${victim.name} started again`, run: async () => void (await stepSucceeded(startNode(victim), `docker start ${victim.name}`)) });
  run.faultAtMs = run.now();
  await stepSucceeded(killNode(victim), `docker kill ${victim.name}`);
  mark(run, 'node killed', run.faultAtMs, `${victim.name} (${victim.zone})`);
}

/** The front's and Swarm's view, then the replicas back; each moment marked as it is seen. */
async function watchRecovery(run: Run): Promise<void> {
  const victim = run.victim!;
  const socket = frontAdminSocket(run.options.target);
  const kill = NODE_SCENARIO_SPECS[run.scenario].fault === 'kill';
  const budgetMs = run.options.config.drills.node.replicasBackSeconds * 1000 + 30_000;
  await waitUntil(
    run,
    'the node gone and its replicas back',
    async () => {
      if (kill && run.frontDownAtMs === undefined) {
        const states = await serverStates(socket).catch(() => undefined);
        if (states && states.get(`traefik-public/${victim.zone}`)?.up === false) mark(run, 'front marked the node down', (run.frontDownAtMs = run.now()));
      }
      const tasks = await runningTasks(run);
      if (run.nodeGoneAtMs === undefined) {
        const gone = kill ? (await nodeStatus(run, victim)).startsWith('down') : !tasks.some((task) => task.node === victim.name && task.state.startsWith('Running'));
        if (gone) mark(run, kill ? 'Swarm marked the node down' : "the node's tasks moved off", (run.nodeGoneAtMs = run.now()));
      }
      if (run.replicasBackAtMs === undefined && replicasBack(run, tasks)) mark(run, 'replicas back at desired', (run.replicasBackAtMs = run.now()));
      return run.replicasBackAtMs !== undefined && run.nodeGoneAtMs !== undefined && (!kill || run.frontDownAtMs !== undefined);
    },
    budgetMs,
    250,
  );
}

/** The node back (started or active) and in the front; then Ready with its pinned tasks running and the stack converged. */
async function restore(run: Run): Promise<void> {
  const started = run.now();
  await undoAll(run);
  const victim = run.victim!;
  const back = await waitUntil(
    run,
    'the node back with its tasks',
    async () => {
      if ((await nodeStatus(run, victim)) !== 'ready active') return false;
      const tasks = await runningTasks(run);
      if (![...run.pinned, ...run.global].every((service) => tasks.some((task) => task.service === service && task.node === victim.name && task.state.startsWith('Running')))) return false;
      return (await converged(run.options.target, run.nodes, run.jobs)).ready;
    },
    120_000,
    500,
  );
  if (back) {
    run.rejoinMs = run.now() - started;
    mark(run, 'node back with its tasks', run.now(), victim.name);
  }
}

/** Each acknowledged API write looked up in the database (through the writer's published port on its node), then the drill's events removed. */
async function verifyAndClean(run: Run): Promise<void> {
  const { target, config } = run.options;
  const writer = databaseEndpoints(config).writer;
  const tasks = await runningTasks(run);
  const node = run.nodes.find((candidate) => tasks.some((task) => task.service === writer && task.node === candidate.name && task.state.startsWith('Running')));
  if (!node) {
    run.notes.push(`acknowledged writes not looked up: ${writer} runs on no node`);
    return;
  }
  const login: PgLogin = { host: node.address, port: config.ports.postgres, user: DATABASE.user, password: await adminPassword(target.stateDir), database: DATABASE.name };
  const rows = await queryPg<{ title: string }>(login, `SELECT title FROM events.events WHERE title LIKE $1`, [`${run.tag} #%`]);
  const present = new Set(rows.map((row) => Number(row.title.slice(`${run.tag} #`.length))));
  const acked = run.samples.filter((sample) => sample.seq !== undefined && sample.outcome === 'ok').map((sample) => sample.seq!);
  const lost = acked.filter((seq) => !present.has(seq));
  run.ackedWritesLost = lost.length;
  if (lost.length) run.notes.push(`acknowledged API writes missing afterwards: ${lost.slice(0, 20).join(', ')}`);
  await queryPg(login, `DELETE FROM events.events WHERE title LIKE $1`, [`${run.tag} #%`]);
}

function findings(run: Run): DrillFindings {
  const { config } = run.options;
  return {
    drill: 'node',
    scenario: run.scenario,
    description: `${NODE_SCENARIO_SPECS[run.scenario].description}${run.victim ? ` (${run.victim.name}, ${run.victim.zone})` : ''}`,
    figures:
      run.faultAtMs !== undefined
        ? nodeFigures(
            {
              scenario: run.scenario,
              faultAtMs: run.faultAtMs,
              samples: run.samples,
              apiWriteTimes: run.apiWriteTimes,
              loadEndMs: run.loadEndMs ?? run.now(),
              ackedWritesLost: run.ackedWritesLost,
              ...(run.nodeGoneAtMs !== undefined ? { nodeGoneAtMs: run.nodeGoneAtMs } : {}),
              ...(run.frontDownAtMs !== undefined ? { frontDownAtMs: run.frontDownAtMs } : {}),
              ...(run.replicasBackAtMs !== undefined ? { replicasBackAtMs: run.replicasBackAtMs } : {}),
              ...(run.rejoinMs !== undefined ? { rejoinMs: run.rejoinMs } : {}),
            },
            config.drills.node,
          )
        : [],
    bands: run.faultAtMs !== undefined && run.replicasBackAtMs !== undefined ? [{ lane: 'api', label: 'replicas short', fromMs: run.faultAtMs, toMs: run.replicasBackAtMs, tone: 'warn' }] : [],
    lanes: ['api'],
    notes: [
      `cluster: ${run.nodes.length} nodes (${run.nodes.map((node) => node.zone).join(', ')}); pinned to the lost zone (they wait for it): ${[...run.pinned].join(', ') || 'none'}`,
      'the front passes TLS through (TCP): a request in flight on a lost node, or sent to it before the front noticed, fails; it cannot be retried at the edge',
    ],
  };
}

/** Run one node drill; resolves with the report, throws `DrillBudgetError` (exit 1) when a budget is exceeded. */
export async function runNodeDrill(options: NodeDrillOptions): Promise<ConcludedDrill> {
  const scenario = validateNodeScenario(options.scenario);
  const run: Run = {
    ...startDrillRun(options, { name: `node drill ${scenario}`, tag: 'node-drill', scenario }),
    scenario,
    apiWriteTimes: new Set(),
    nodes: [],
    desired: new Map(),
    global: new Set(),
    pinned: new Set(),
    jobs: new Set(),
    ackedWritesLost: null,
  };
  options.progress.info(`${run.name}: ${NODE_SCENARIO_SPECS[scenario].description}`);
  const { phase } = run.recorder;
  await phase('preflight (nodes ready, stack converged, users reach the front)', () => preflight(run));
  let failure: Error | undefined;
  try {
    await phase('load and a 3 s baseline', async () => {
      await startLoad(run);
      await systemClock.sleep(3000, options.signal);
    });
    checkAborted(run, 'baseline');
    await phase('fault', () => fault(run));
    await phase('noticed, and replicas back at desired', () => watchRecovery(run));
    checkAborted(run, 'replicas back');
    await systemClock.sleep(3000, options.signal);
    checkAborted(run, 'hold');
    await phase('node back with its tasks', () => restore(run));
    await systemClock.sleep(3000, options.signal);
    checkAborted(run, 'the last 3 s of load');
  } catch (error) {
    failure = error as Error;
  } finally {
    await run.api?.stop();
    run.loadEndMs = run.now();
    await undoAll(run);
    if (run.rejoinMs === undefined && run.victim && run.manager) {
      const calm: Run = { ...run, options: { ...run.options, signal: undefined } };
      const healthy = await waitUntil(calm, 'the stack converged again', async () => (await converged(options.target, run.nodes, run.jobs)).ready, 120_000, 1000);
      run.restored.push(healthy ? 'stack converged: every service at its replicas' : 'WARNING: the stack had not converged 120 s after the drill; see make cluster-status');
    }
  }
  if (run.manager) await verifyAndClean(run).catch((error: Error) => run.notes.push(`could not look up or remove the drill's writes: ${error.message}`));
  return concludeDrill(run, failure, () => findings(run));
}
