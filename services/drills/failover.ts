/**
 * The failover drill's scenarios and its figures, pure: which fault each scenario injects, what
 * it expects of the cluster, and how RTO, lost writes, false failovers, rejoin time and a
 * switchover's stall are computed from what the drill observed.
 */
import type { DrillsConfig } from '../config/schema.js';
import type { Figure, Sample } from './model.js';

export const FAILOVER_SCENARIOS = ['kill-primary', 'stop-primary', 'partition-primary', 'kill-replica', 'lose-etcd-member', 'switchover'] as const;
export type FailoverScenario = (typeof FAILOVER_SCENARIOS)[number];

export interface ScenarioSpec {
  readonly description: string;
  /** Does the scenario call for a new leader? (Any other leader change is a false failover.) */
  readonly leaderChanges: 0 | 1;
  /** The node or member the fault hits. */
  readonly victim: 'leader' | 'replica' | 'etcd';
  /** Whether clients may see write errors at all (a lost replica or etcd member must not cause any). */
  readonly writeErrorsAllowed: boolean;
}

export const SCENARIOS: Readonly<Record<FailoverScenario, ScenarioSpec>> = {
  'kill-primary': { description: 'SIGKILL the leader\'s container; a replica must take over and the old leader rejoin as a replica', leaderChanges: 1, victim: 'leader', writeErrorsAllowed: true },
  'stop-primary': { description: 'stop the leader\'s container cleanly (SIGTERM); Patroni hands over, the old leader rejoins', leaderChanges: 1, victim: 'leader', writeErrorsAllowed: true },
  'partition-primary': {
    description: 'cut the leader off the network (etcd and the other nodes); it must demote itself, and no two nodes may accept writes at once',
    leaderChanges: 1,
    victim: 'leader',
    writeErrorsAllowed: true,
  },
  'kill-replica': { description: 'SIGKILL a replica (the synchronous standby when there is one); no failover, no write errors', leaderChanges: 0, victim: 'replica', writeErrorsAllowed: false },
  'lose-etcd-member': { description: 'SIGKILL the etcd leader (one of three members); the quorum elects another: no failover, no write errors', leaderChanges: 0, victim: 'etcd', writeErrorsAllowed: false },
  switchover: { description: 'a planned switchover through Patroni\'s REST API to the synchronous standby; nothing lost, writes stall briefly', leaderChanges: 1, victim: 'leader', writeErrorsAllowed: true },
};

/** What the drill observed, for the figures. Times are milliseconds since the drill started. */
export interface FailoverObservations {
  readonly scenario: FailoverScenario;
  readonly faultAtMs: number;
  /** When the API load stopped (the users' last moment). */
  readonly loadEndMs?: number;
  readonly samples: readonly Sample[];
  /** API samples that were writes (`POST /api/events`), by time. */
  readonly apiWriteTimes: ReadonlySet<number>;
  readonly leaderChanges: readonly { readonly atMs: number; readonly from?: string; readonly to?: string }[];
  /** null: the writes could not be read back afterwards (the drill can't vouch for them). */
  readonly ackedWritesLost: number | null;
  /** Restart of the faulted node → it replicates again (undefined: not restarted, or never rejoined). */
  readonly rejoinMs?: number;
  /** partition-primary: how long the cut-off leader still said writable after the new leader had acknowledged a write (0 = never both). */
  readonly overlapMs?: number;
}

/** Ack time of the first success issued after the last failure since the fault; without failures, the longest gap between acks. */
export function recoveryMs(samples: readonly Sample[], faultAtMs: number): { readonly ms: number; readonly failures: number } {
  const after = samples.filter((s) => s.atMs + s.latencyMs >= faultAtMs).sort((a, b) => a.atMs - b.atMs);
  const failures = after.filter((s) => s.outcome === 'failed');
  if (failures.length === 0) {
    const acks = [faultAtMs, ...after.filter((s) => s.outcome !== 'failed').map((s) => s.atMs + s.latencyMs)].sort((a, b) => a - b);
    let gap = 0;
    for (let index = 1; index < acks.length; index += 1) gap = Math.max(gap, acks[index]! - acks[index - 1]!);
    return { ms: gap, failures: 0 };
  }
  const lastFailure = failures.at(-1)!.atMs;
  const recovered = after.find((s) => s.outcome !== 'failed' && s.atMs >= lastFailure);
  return { ms: recovered ? recovered.atMs + recovered.latencyMs - faultAtMs : Number.NaN, failures: failures.length };
}

/**
 * The longest span users went without an acknowledged write: the largest gap between the
 * acknowledgement times of two consecutive successful writes (a span still open when the drill
 * ended counts up to `endMs`). NaN without any acknowledged write.
 */
export function longestAckGapMs(samples: readonly Sample[], endMs: number): number {
  const acks = samples.filter((s) => s.outcome === 'ok').map((s) => s.atMs + s.latencyMs).sort((a, b) => a - b);
  if (acks.length === 0) return Number.NaN;
  let gap = 0;
  for (let index = 1; index < acks.length; index += 1) gap = Math.max(gap, acks[index]! - acks[index - 1]!);
  return Math.max(gap, endMs - acks.at(-1)!);
}

/** The drill's figures with their budgets (exit 1 when one is exceeded). */
export function failoverFigures(observed: FailoverObservations, budgets: DrillsConfig['failover']): Figure[] {
  const spec = SCENARIOS[observed.scenario];
  const writes = observed.samples.filter((s) => s.lane === 'write');
  const api = observed.samples.filter((s) => s.lane === 'api');
  // A write answered with a fallback page was not written: for writes, only an acknowledgement counts.
  const apiWrites = api.filter((s) => observed.apiWriteTimes.has(s.atMs)).map((s): Sample => (s.outcome === 'fallback' ? { ...s, outcome: 'failed' } : s));
  const rto = recoveryMs(writes, observed.faultAtMs);
  const apiRecovery = recoveryMs(apiWrites, observed.faultAtMs);
  const expected = spec.leaderChanges;
  const changes = observed.leaderChanges.length;
  const figures: Figure[] = [
    {
      name: observed.scenario === 'switchover' ? 'switchover write stall' : 'RTO (fault → first acked write)',
      value: Number.isNaN(rto.ms) ? null : Math.round(rto.ms),
      unit: 'ms',
      budget: observed.scenario === 'switchover' ? budgets.switchoverStallMs : budgets.rtoSeconds * 1000,
      required: true,
      how: 'sequence-numbered INSERTs through postgres-writer',
    },
    {
      name: 'API write recovery',
      value: Number.isNaN(apiRecovery.ms) ? null : Math.round(apiRecovery.ms),
      unit: 'ms',
      budget: budgets.apiRecoverySeconds * 1000,
      required: apiWrites.length > 0,
      how: 'POST /api/events through the front',
    },
  ];
  if (apiWrites.length > 0 && spec.writeErrorsAllowed) {
    // What users saw, against what the database did: the extra is the apps', HAProxy's and the edge's.
    const gap = longestAckGapMs(apiWrites, observed.loadEndMs ?? Math.max(...apiWrites.map((s) => s.atMs + s.latencyMs)));
    figures.push({
      name: "users' longest gap without an acked API write",
      value: Number.isNaN(gap) ? null : Math.round(gap),
      unit: 'ms',
      ...(Number.isNaN(rto.ms) ? {} : { budget: Math.round(rto.ms) + budgets.usersGapOverRtoMs }),
      required: true,
      how: `consecutive acknowledged POST /api/events through the front; budget RTO + ${budgets.usersGapOverRtoMs} ms`,
    });
  }
  figures.push(
    { name: 'acked writes lost', value: observed.ackedWritesLost, unit: 'count', budget: budgets.ackedWritesLost, required: true, how: 'acknowledged sequence numbers missing afterwards' },
    {
      name: 'write errors seen by clients',
      value: rto.failures,
      unit: 'count',
      ...(spec.writeErrorsAllowed ? {} : { budget: 0 }),
      how: 'failed INSERTs through postgres-writer',
    },
    { name: 'API non-2xx during the drill', value: api.filter((s) => s.outcome === 'failed').length, unit: 'count', how: 'reads and writes through the front' },
    { name: 'API fallback answers', value: api.filter((s) => s.outcome === 'fallback').length, unit: 'count', how: 'X-Parity-Fallback set' },
    {
      name: 'false failovers',
      value: Math.max(0, changes - expected),
      unit: 'count',
      budget: budgets.falseFailovers,
      how: `leader changes seen: ${changes}, expected ${expected}`,
    },
  );
  if (expected > 0 && changes === 0) {
    figures.push({ name: 'new leader elected', value: null, unit: 'count', required: true, how: 'no leader change was seen' });
  }
  figures.push({ name: 'rejoin as replica', value: observed.rejoinMs ?? null, unit: 'ms', budget: budgets.rejoinSeconds * 1000, required: spec.victim !== 'etcd' && observed.scenario !== 'switchover', how: 'restart → replicating from the leader' });
  if (observed.overlapMs !== undefined) {
    figures.push({ name: 'two writable nodes at once', value: observed.overlapMs, unit: 'ms', budget: 0, how: 'the cut-off leader still writable on its own socket after the new leader acknowledged a write' });
  }
  return figures;
}
