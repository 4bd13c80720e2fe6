/**
 * The failover drill's phases after the loads start: the fault, the failover it should cause (or
 * the quiet it should leave), the API's recovery, and putting things back until the faulted node
 * replicates again.
 */
import { recoveryMs, SCENARIOS } from '../../../../services/drills/failover.js';
import type { Sample } from '../../../../services/drills/model.js';
import { isReplicating } from '../../clients/patroni.js';
import { systemClock } from '../../core/poll.js';
import { psql } from '../../clients/postgres.js';
import { engineOf } from '../../clients/engine-of.js';
import { prepareFault } from '../faults.js';
import { undoAll } from '../lifecycle.js';
import { mark, waitUntil, type Run } from './failover-run.js';

export async function fault(run: Run): Promise<void> {
  const prepared = await prepareFault(run.scenario, run.options.target, run.watch!.latest() ?? run.before!, run.nodes, run.rest);
  if (prepared.undo) run.undo.push(prepared.undo);
  // The clock starts right before the docker call (resolving the container took time of its own).
  const atMs = run.now();
  run.fault = { victim: prepared.victim, atMs };
  await prepared.apply();
  mark(run, 'fault injected', atMs, `${run.scenario} on ${prepared.victim}`);
}

/** Until the scenario's expected state: a new leader that takes writes, or (no failover expected) a quiet observation window. */
export async function awaitFailover(run: Run): Promise<void> {
  const { config, signal, target } = run.options;
  const spec = SCENARIOS[run.scenario];
  const { ttl, loopWait } = config.postgres.patroni;
  const faultAt = run.fault!.atMs;
  if (spec.leaderChanges === 0) {
    // Long enough for a wrongly expired lease to show: two ttls and a loop.
    await systemClock.sleep((2 * ttl + loopWait + 2) * 1000, signal);
    return;
  }
  const partition = run.scenario === 'partition-primary' ? watchCutOffLeader(run, await engineOf(target).containerOf(run.fault!.victim)) : undefined;
  // On Ctrl-C both waits end with an InterruptedError: the other one must not become an unhandled rejection.
  partition?.catch(() => undefined);
  const timeoutMs = Math.max(60_000, (ttl * 3 + loopWait * 2) * 1000);
  const lost = await waitUntil(run, 'the leader key changing', () => run.watch!.changes.length > 0, timeoutMs, 100);
  const elected = await waitUntil(run, 'a new leader', () => run.watch!.elections().length > 0, timeoutMs, 100);
  const election = run.watch!.elections()[0];
  run.electedAtMs = election?.atMs;
  await waitUntil(run, 'an acknowledged write after the last failed one', () => run.samples.some((s) => s.lane === 'write' && s.outcome === 'ok' && s.atMs > faultAt && s.atMs >= (lastFailure(run.samples, 'write', faultAt) ?? 0)), timeoutMs, 100);
  // The same arithmetic as the RTO figure, so the marker and the figure agree.
  const rto = recoveryMs(run.samples.filter((s) => s.lane === 'write'), faultAt);
  const firstAck = Number.isNaN(rto.ms) ? undefined : faultAt + rto.ms;
  // The watch sees a change late: it polls every 250 ms, and a replica answers /cluster from its
  // last DCS read (up to loop_wait old), while HAProxy routes writes on each node's own answer. A
  // write acknowledged after failed ones was taken by the new leader, which proves the election had
  // happened by then: neither marker is placed after that acknowledgement.
  const proved = rto.failures > 0 && firstAck !== undefined ? firstAck : Number.POSITIVE_INFINITY;
  const electedAt = elected ? Math.min(election!.atMs, proved) : undefined;
  mark(run, 'leader lost detected', lost ? Math.min(run.watch!.changes[0]!.atMs, electedAt ?? proved) : undefined);
  mark(run, 'new leader elected', electedAt, election?.to);
  mark(run, 'first acked write', firstAck);
  if (partition) {
    const seen = await partition;
    mark(run, 'cut-off leader accepts no writes', seen.refusedAt);
    // Proof of two writable nodes: the cut-off leader still said writable in a probe that began
    // after the new leader had acknowledged a write. That write was issued after the election was
    // seen, and the cut-off leader is unreachable, so the new one took it.
    const newLeaderWrote = run.samples
      .filter((s) => s.lane === 'write' && s.outcome === 'ok' && run.electedAtMs !== undefined && s.atMs >= run.electedAtMs)
      .map((s) => s.atMs + s.latencyMs)
      .sort((a, b) => a - b)[0];
    run.overlapMs = seen.lastWritableProbeAt === undefined || newLeaderWrote === undefined ? 0 : Math.max(0, seen.lastWritableProbeAt - newLeaderWrote);
    if (seen.refusedAt === undefined) run.notes.push('the cut-off leader still accepted writes on its own socket 60 s after the cut');
  }
}

/** Probe the cut-off leader on its own socket until it refuses writes: when it last said writable, and when it first refused. */
async function watchCutOffLeader(run: Run, container: string): Promise<{ lastWritableProbeAt?: number; refusedAt?: number }> {
  const seen: { lastWritableProbeAt?: number; refusedAt?: number } = {};
  await waitUntil(run, `${run.fault!.victim} refusing writes on its own socket`, async () => {
    const probeAt = run.now();
    if (await localWritable(container)) {
      seen.lastWritableProbeAt = probeAt;
      return false;
    }
    seen.refusedAt = run.now();
    return true;
  }, 60_000, 100);
  return seen;
}

/**
 * Does the node's Postgres accept writes? Asked on its own unix socket, so it works while the node
 * is cut off the network. Only a server that answers and is not in recovery does: one that refuses
 * connections (shutting down while it demotes itself) accepts no writes either.
 */
async function localWritable(container: string): Promise<boolean> {
  const result = await psql({ container }, 'SELECT NOT pg_is_in_recovery()');
  return result.code === 0 && result.stdout.trim() === 't';
}

const lastFailure = (samples: readonly Sample[], lane: Sample['lane'], after: number): number | undefined =>
  samples.filter((s) => s.lane === lane && s.outcome === 'failed' && s.atMs >= after).reduce<number | undefined>((latest, s) => Math.max(latest ?? 0, s.atMs), undefined);

export async function awaitApiHealthy(run: Run): Promise<void> {
  const { config } = run.options;
  const faultAt = run.fault!.atMs;
  // Healthy: 3 s without a failed API answer, with at least one API write (when writes run) in it.
  const healthy = await waitUntil(run, 'the API answering reads and writes', () => {
    const now = run.now();
    const recent = run.samples.filter((s) => s.lane === 'api' && s.atMs >= now - 3000 && s.atMs >= faultAt);
    const writes = run.apiWriteTimes.size === 0 || recent.some((s) => run.apiWriteTimes.has(s.atMs) && s.outcome === 'ok');
    return now - faultAt >= 3000 && recent.length > 0 && recent.every((s) => s.outcome !== 'failed') && writes;
  }, config.drills.failover.apiRecoverySeconds * 2000 + 10_000);
  // At acknowledgement time, the same arithmetic as the "API write recovery" figure: the first API
  // write answered after the last failed one (reads alone when the drill has no writes). A write
  // can't be acknowledged before a leader exists, so the marker can't come before the election.
  const api = run.samples.filter((s) => s.lane === 'api');
  const writes = api.filter((s) => run.apiWriteTimes.has(s.atMs));
  const recovery = recoveryMs(writes.length ? writes : api, faultAt).ms;
  mark(run, 'API reads and writes healthy', healthy && !Number.isNaN(recovery) ? faultAt + recovery : undefined);
}

/** Put back what the fault changed (the undo stack), then wait until the victim is back in the cluster. */
export async function restoreAndRejoin(run: Run): Promise<void> {
  const { config } = run.options;
  const victim = run.fault!.victim;
  const restartedAt = run.now();
  await undoAll(run);
  if (run.restored.length) mark(run, 'fault removed', restartedAt, run.restored.join('; '));
  if (!run.nodes.includes(victim)) return;
  const rejoined = await waitUntil(run, `${victim} replicating`, () => isReplicating(run.watch!.latest()?.members.find((m) => m.name === victim)), config.drills.failover.rejoinSeconds * 2000 + 30_000, 250);
  const at = rejoined ? run.now() : undefined;
  if (at !== undefined) run.rejoinMs = at - (run.scenario === 'switchover' ? run.fault!.atMs : restartedAt);
  mark(run, `${victim} rejoined as replica`, at);
}
