/**
 * The failover drill's faults: each one changes one thing on the engine and returns how to put it
 * back. The drill keeps the undo functions on a stack and runs them whatever happens (success,
 * failure, Ctrl-C, SIGTERM), so a drill never leaves the stack broken.
 */
import { ETCD_MEMBERS } from '../../../services/topology/patroni.js';
import { projectNetwork } from '../../../services/topology/types.js';
import type { FailoverScenario } from '../../../services/drills/failover.js';
import { ServiceAnswerError } from '../../../services/errors.js';
import { etcdLeader } from '../clients/etcd.js';
import { readCluster, switchover, type ClusterView, type RestEndpoints } from '../clients/patroni.js';
import { killContainers, startContainers, stopContainer } from '../clients/compose.js';
import type { RunResult } from '../core/exec.js';
import { done, pending, pollUntil } from '../core/poll.js';
import { engineOf } from '../clients/engine-of.js';
import { type ComposeTarget } from '../clients/engine.js';
import { stepSucceeded, type Undo } from './lifecycle.js';

const must = async (answer: Promise<RunResult>, what: string) => void (await stepSucceeded(answer, what));

/** The synchronous standby when there is one, else the first replica (among `nodes`, when given). */
export function standbyOf(view: ClusterView, nodes?: readonly string[]): string | undefined {
  const replicas = view.members.filter((m) => m.name !== view.leader && (!nodes || nodes.includes(m.name)));
  return (replicas.find((m) => m.role === 'sync_standby') ?? replicas[0])?.name;
}

/**
 * Choose the victim for a scenario from the cluster as it is now. Losing an etcd member means
 * losing the etcd leader when it is known (the worst case: an election before any write), else the last member.
 */
export function pickVictim(scenario: FailoverScenario, view: ClusterView, nodes: readonly string[], etcdLeader?: string): string {
  if (scenario === 'lose-etcd-member') return etcdLeader ?? ETCD_MEMBERS[ETCD_MEMBERS.length - 1]!;
  if (scenario === 'kill-replica') return standbyOf(view, nodes) ?? nodes.find((n) => n !== view.leader)!;
  return view.leader!;
}

/** A fault ready to go: the victim resolved, the undo known before anything changes. */
export interface PreparedFault {
  readonly victim: string;
  /** Registered before `apply` runs: a Ctrl-C in the middle of the docker call still gets it undone. */
  readonly undo?: Undo;
  apply(): Promise<void>;
}

/** Resolve the victim and how to put it back; nothing changes until `apply`. */
export async function prepareFault(scenario: FailoverScenario, target: ComposeTarget, view: ClusterView, nodes: readonly string[], rest: RestEndpoints): Promise<PreparedFault> {
  const victim = pickVictim(scenario, view, nodes, scenario === 'lose-etcd-member' ? await etcdLeader(target) : undefined);
  const engine = engineOf(target);
  const id = await engine.containerOf(victim);
  // Starting a running container changes nothing, so this undo is safe after a fault that never happened.
  const startAgain: Undo = { what: `started ${victim} again`, run: () => must(startContainers([id]), `starting ${victim}`) };
  switch (scenario) {
    case 'kill-primary':
    case 'kill-replica':
    case 'lose-etcd-member':
      return { victim, undo: startAgain, apply: () => must(killContainers([id]), `killing ${victim}`) };
    case 'stop-primary':
      return { victim, undo: startAgain, apply: () => must(stopContainer(id, 10), `stopping ${victim}`) };
    case 'partition-primary': {
      // A Patroni node is on the data network only: leaving it cuts it off everything.
      const network = projectNetwork(target.project, 'data');
      return { victim, undo: { what: `reconnected ${victim} to ${network}`, run: () => engine.reconnect(victim, 'data') }, apply: () => engine.disconnect(victim, 'data') };
    }
    case 'switchover':
      return { victim, apply: () => switchoverToStandby(rest, victim) };
  }
}

/**
 * A switchover to the synchronous standby as Patroni sees it at that moment. In synchronous mode
 * Patroni refuses any other candidate (HTTP 412), and right after a disturbance the standby can be
 * changing: read the cluster again and retry, for a few seconds.
 */
async function switchoverToStandby(rest: RestEndpoints, leader: string): Promise<void> {
  await pollUntil(
    async () => {
      const view = await readCluster(rest, 2000);
      const candidate = view ? standbyOf(view) : undefined;
      if (!view || view.leader !== leader || !candidate) return pending(`${leader} is not the leader, or there is no replica to hand over to`);
      try {
        await switchover(rest, leader, candidate);
        return done(candidate);
      } catch (error) {
        if (error instanceof ServiceAnswerError && /HTTP 412/.test(error.message)) return pending(error.message);
        throw error;
      }
    },
    { subject: `switchover from ${leader}`, expectation: 'Patroni to accept a switchover to its synchronous standby', timeoutMs: 10_000, intervalMs: 1000 },
  );
}
