/**
 * The node drill (`make drill-node`), pure: its scenarios and, from what the runner saw, its
 * figures against the budgets of `drills.node`. The runner (scripts/runners/drill/node/) loses or
 * drains one node of the cluster (`make cluster-up`) while users keep working through the front.
 */
import type { DrillsConfig } from '../config/schema.js';
import type { Figure, Sample } from './model.js';
import { longestAckGapMs } from './failover.js';

export const NODE_SCENARIOS = ['drain-node', 'lose-node', 'lose-zone'] as const;
export type NodeScenario = (typeof NODE_SCENARIOS)[number];

export interface NodeScenarioSpec {
  readonly description: string;
  /** `drain`: planned (the front stops sending new connections first, Swarm moves the tasks); `kill`: the node's container is killed. */
  readonly fault: 'drain' | 'kill';
}

export const NODE_SCENARIO_SPECS: Readonly<Record<NodeScenario, NodeScenarioSpec>> = {
  'drain-node': {
    description: 'a node drained for maintenance: the front stops sending it new connections, then Swarm moves its tasks to the other nodes',
    fault: 'drain',
  },
  'lose-node': {
    description: "a node lost (its container killed): the front notices by its checks, Swarm marks it down and starts its replicas on the nodes left",
    fault: 'kill',
  },
  'lose-zone': {
    description: 'a zone lost: every node of it killed (one node per zone here, so the same fault as lose-node, named for the architecture)',
    fault: 'kill',
  },
};

export interface NodeObservations {
  readonly scenario: NodeScenario;
  readonly faultAtMs: number;
  readonly samples: readonly Sample[];
  /** Acknowledged API writes' start times. */
  readonly apiWriteTimes: ReadonlySet<number>;
  /** Swarm marked the node down (kill) / its last task stopped (drain). */
  readonly nodeGoneAtMs?: number;
  /** The front marked the node's Traefik down (its own checks). */
  readonly frontDownAtMs?: number;
  /** Every service that may move ran its desired replicas on the nodes left. */
  readonly replicasBackAtMs?: number;
  /** The node back (started again / active) → Ready with its pinned tasks running. */
  readonly rejoinMs?: number;
  /** When the users' load stopped. */
  readonly loadEndMs: number;
  /** Acknowledged API writes missing afterwards (null: not looked up). */
  readonly ackedWritesLost: number | null;
}

const after = (at: number | undefined, from: number) => (at === undefined ? null : Math.max(0, Math.round(at - from)));

function writeGap(observed: NodeObservations): number | null {
  const writes = observed.samples.filter((sample) => sample.lane === 'api' && observed.apiWriteTimes.has(sample.atMs));
  const gap = writes.length ? longestAckGapMs(writes, observed.loadEndMs) : Number.NaN;
  return Number.isNaN(gap) ? null : Math.round(gap);
}

export function nodeFigures(observed: NodeObservations, budgets: DrillsConfig['node']): Figure[] {
  const spec = NODE_SCENARIO_SPECS[observed.scenario];
  const users = observed.samples.filter((sample) => sample.lane === 'api');
  const failed = users.filter((sample) => sample.outcome === 'failed').length;
  const percent = users.length ? (failed / users.length) * 100 : null;
  const figures: Figure[] =
    spec.fault === 'kill'
      ? [{ name: "users' requests failed", value: percent === null ? null : Math.round(percent * 100) / 100, unit: 'percent', budget: budgets.lostFailedPercent, required: true, how: `${failed} of ${users.length} through the front (reads and writes, many client addresses)` }]
      : [{ name: "users' requests failed", value: users.length ? failed : null, unit: 'count', budget: budgets.drainFailed, required: true, how: `of ${users.length} through the front (reads and writes, many client addresses)` }];
  if (spec.fault === 'kill') {
    figures.push(
      { name: 'front noticed (node out of its backends)', value: after(observed.frontDownAtMs, observed.faultAtMs), unit: 'ms', how: "the front's own health checks of the node's Traefik" },
      { name: 'Swarm marked the node down', value: after(observed.nodeGoneAtMs, observed.faultAtMs), unit: 'ms', how: 'docker node ls: Down (dispatcher heartbeat 1 s)' },
    );
  } else {
    figures.push({ name: "the node's tasks moved off", value: after(observed.nodeGoneAtMs, observed.faultAtMs), unit: 'ms', how: 'docker node ps: nothing left running on it' });
  }
  figures.push(
    { name: 'replicas back at desired', value: after(observed.replicasBackAtMs, observed.faultAtMs), unit: 'ms', budget: budgets.replicasBackSeconds * 1000, required: true, how: 'every service that may move runs its desired replicas on the nodes left (those pinned to the zone wait for it)' },
    { name: 'longest gap without an acknowledged API write', value: writeGap(observed), unit: 'ms', how: 'POST /api/events through the front' },
    { name: 'acked API writes lost', value: observed.ackedWritesLost, unit: 'count', budget: 0, how: "each acknowledged POST /api/events looked up in the database afterwards" },
  );
  if (observed.rejoinMs !== undefined) figures.push({ name: 'node back (Ready, its pinned tasks running)', value: Math.round(observed.rejoinMs), unit: 'ms', how: spec.fault === 'kill' ? 'docker start of the node → Ready with its tasks' : 'availability active → its pinned tasks running' });
  return figures;
}
