#!/usr/bin/env -S npx tsx
/**
 * `make bench-failover`: what the HA cluster really gives, measured with the failover drill's own
 * runner on a stack of its own (project parity-bench-failover, removed afterwards). Prints figures;
 * asserts nothing.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParityConfig } from '../services/config/schema.js';
import { parseConfig } from '../services/config/validate.js';
import type { DrillReport } from '../services/drills/model.js';
import { DrillBudgetError, DrillError, formatDuration, ServiceAnswerError, TimeoutError } from '../services/errors.js';
import { done, pending, pollUntil } from './runners/core/poll.js';
import { ETCD_MEMBERS, patroniNodes, TOXIPROXY_API_PORT } from '../services/topology/patroni.js';
import { abortOnSignals, parseCli, runMain } from './runners/core/cli.js';
import { containerRss, mib } from './runners/clients/container-stats.js';
import { runFailoverDrill } from './runners/drill/failover/failover.js';
import { applyDynamicConfig, clusterHealthy, readCluster, patroniRest } from './runners/clients/patroni.js';
import { createProgress, type Progress } from './runners/core/progress.js';
import { downStack, upStack } from './runners/stack/stack.js';
import { engineOf } from './runners/clients/engine-of.js';
import { type ComposeTarget } from './runners/clients/engine.js';
import { addToxic, resetToxics } from './runners/clients/toxiproxy.js';
import { statePath, writeFileAtomic } from './runners/core/state.js';
import { watchCluster } from './runners/drill/failover/watch.js';

const HELP = `
Usage: npx tsx scripts/bench-failover.ts [--kills N] [--jitter-seconds S]     (make bench-failover [KILLS=N])

On a stack of its own (minimal profile + the Patroni cluster, synchronous mode), with the failover
drill's runner:
  - kill-primary N times with parity.yaml's timings and N times with Patroni's defaults
    (ttl 30 / loop_wait 10 / retry_timeout 10): RTO median and worst, rejoin, acked writes lost;
  - false failovers with 1 s of latency jitter (500 ms ± 500 ms towards etcd: 0–1 s per round
    trip) between every Patroni node and etcd for S seconds, then both ways (0–2 s) for S/2,
    through the stack's Toxiproxy (postgres.dcsProxy; this kernel has no netem);
  - switchover write stall; acked writes lost with synchronous_mode off;
  - memory of the HA cluster against a plain primary + replica.
Figures go to stdout and .parity/bench/failover.json. Takes about 15 minutes with N = 10.
`;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : NaN;
};
const figure = (report: DrillReport | undefined, prefix: string) => report?.figures.find((f) => f.name.startsWith(prefix))?.value ?? null;

/** One drill, whatever its budgets say: the bench wants the figures. */
/** Ctrl-C of the benchmark, set once at start: each drill stops and puts back its fault. */
let interrupt: AbortSignal | undefined;

async function measure(target: ComposeTarget, config: ParityConfig, scenario: string, progress: Progress): Promise<DrillReport | undefined> {
  const quiet: Progress = { info: () => {}, step: (m) => progress.step(m), done: () => {} };
  try {
    return (await runFailoverDrill({ target, config, scenario, progress: quiet, ...(interrupt ? { signal: interrupt } : {}) })).report;
  } catch (error) {
    if (error instanceof DrillBudgetError) return JSON.parse(await readFile(join(error.reportDir, 'report.json'), 'utf8')) as DrillReport;
    // One broken drill is a figure too (reported as n/a); Ctrl-C and bad input stop the benchmark.
    if (error instanceof DrillError || error instanceof ServiceAnswerError || error instanceof TimeoutError) {
      progress.info(`${scenario}: the drill broke: ${error.message.split('\n')[0]}`);
      return undefined;
    }
    throw error;
  }
}

async function kills(target: ComposeTarget, config: ParityConfig, label: string, count: number, progress: Progress) {
  const rest = await patroniRest(target, config);
  for (const change of await applyDynamicConfig(rest, config)) progress.info(`${label}: ${change}`);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const rto: number[] = [];
  const rejoin: number[] = [];
  let lost = 0;
  let falseFailovers = 0;
  for (let index = 1; index <= count; index += 1) {
    progress.step(`${label}: kill ${index} of ${count}`);
    const report = await measure(target, config, 'kill-primary', progress);
    const r = figure(report, 'RTO');
    if (r !== null) rto.push(r);
    const j = figure(report, 'rejoin');
    if (j !== null) rejoin.push(j);
    lost += figure(report, 'acked writes lost') ?? 0;
    falseFailovers += figure(report, 'false failovers') ?? 0;
    progress.info(`${label}: kill ${index}: RTO ${r ?? 'n/a'} ms, rejoin ${j ?? 'n/a'} ms, lost ${figure(report, 'acked writes lost')}`);
  }
  return { label, timings: config.postgres.patroni, rtoMs: rto, rtoMedianMs: median(rto), rtoWorstMs: rto.length ? Math.max(...rto) : NaN, rejoinMedianMs: median(rejoin), ackedWritesLost: lost, falseFailovers, failedKills: count - rto.length };
}

/**
 * Latency jitter of 500 ms ± 500 ms on the consensus path (every Patroni node to every etcd
 * member, through the stack's Toxiproxy) for `seconds`, on the given directions: `upstream` alone
 * adds 0–1 s to each round trip, both add 0–2 s. Counts leader elections, then waits until the
 * cluster has a leader and replicating replicas again (how long, too). The toxics are always removed.
 */
async function jitter(target: ComposeTarget, config: ParityConfig, seconds: number, streams: readonly ('upstream' | 'downstream')[], progress: Progress) {
  const port = await engineOf(target).publishedPort('toxiproxy', TOXIPROXY_API_PORT);
  if (port === undefined) return { skipped: 'no toxiproxy in the stack (postgres.dcsProxy: true)' };
  const api = `http://127.0.0.1:${port}`;
  const rest = await patroniRest(target, config);
  const before = await readCluster(rest);
  if (!before) return { skipped: 'no cluster view' };
  const origin = performance.now();
  const watch = watchCluster(rest, before, () => performance.now() - origin, 500);
  try {
    for (const member of ETCD_MEMBERS) {
      for (const stream of streams) await addToxic(api, member, { name: `jitter-${stream}`, type: 'latency', stream, attributes: { latency: 500, jitter: 500 } });
    }
    progress.step(`jitter: 500 ms ± 500 ms ${streams.join(' + ')}, Patroni → etcd, for ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  } finally {
    await resetToxics(api).catch((error: Error) => progress.info(`WARNING: could not remove the jitter toxics: ${error.message} (restart toxiproxy)`));
  }
  const nodes = patroniNodes(config);
  const healthyAfterMs = await pollUntil(async () => (clusterHealthy(await readCluster(rest), nodes) ? done(true) : pending('no leader, or a replica not replicating')), {
    subject: 'the cluster after the jitter',
    expectation: 'one leader and every replica replicating',
    timeoutMs: 120_000,
  }).then(
    (result) => result.elapsedMs,
    (error: unknown) => {
      if (error instanceof TimeoutError) return null;
      throw error;
    },
  );
  await watch.stop();
  // A leader lost and found again is one change of the key; an election is a new leader.
  return { seconds, streams, elections: watch.elections().length, keyChanges: watch.changes.length, healthyAfterRemovalMs: healthyAfterMs, changes: watch.changes };
}

async function memory(target: ComposeTarget, services: readonly string[]): Promise<number> {
  let total = 0;
  for (const service of services) {
    const [id] = await engineOf(target).containerIds(service, { running: true });
    if (id) total += containerRss(id);
  }
  return total;
}

await runMain(async () => {
  const { values } = parseCli(process.argv.slice(2), { kills: { type: 'string' }, 'jitter-seconds': { type: 'string' } }, HELP);
  const count = Number(values.kills ?? 10);
  const jitterSeconds = Number(values['jitter-seconds'] ?? 60);
  const progress = createProgress('[bench-failover]');
  // Ctrl-C: the drill in progress puts back its fault, then the finally below removes the stack.
  interrupt = abortOnSignals(progress, 'stopping the benchmark and removing its stack');
  const stateDir = statePath('bench-failover');
  const target: ComposeTarget = { project: 'parity-bench-failover', composeDir: join(stateDir, 'compose'), stateDir };
  const base = 'profile: minimal\npostgres:\n  ha: patroni\n  synchronous: true\n  dcsProxy: true\n';
  const ours = parseConfig(base);
  const defaults = parseConfig(`${base}  patroni:\n    ttl: 30\n    loopWait: 10\n    retryTimeout: 10\n`);
  const asyncConfig = parseConfig(base.replace('synchronous: true', 'synchronous: false'));
  const figures: Record<string, unknown> = { at: new Date().toISOString() };
  try {
    const up = await upStack(ours, target, progress, 300_000);
    figures.upMs = up.totalMs;
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const ha = await memory(target, ['etcd-1', 'etcd-2', 'etcd-3', ...patroniNodes(ours), 'postgres-writer', 'postgres-reader']);
    figures.ours = await kills(target, ours, `ttl ${ours.postgres.patroni.ttl}/${ours.postgres.patroni.loopWait}/${ours.postgres.patroni.retryTimeout}`, count, progress);
    const switchovers = [];
    for (let index = 0; index < 3; index += 1) switchovers.push(figure(await measure(target, ours, 'switchover', progress), 'switchover write stall'));
    figures.switchoverStallMs = switchovers;
    const asyncLoss = [];
    await applyDynamicConfig(await patroniRest(target, asyncConfig), asyncConfig);
    for (let index = 0; index < 3; index += 1) asyncLoss.push(figure(await measure(target, asyncConfig, 'kill-primary', progress), 'acked writes lost'));
    figures.asyncAckedWritesLost = asyncLoss;
    figures.defaults = await kills(target, defaults, 'Patroni defaults 30/10/10', count, progress);
    await applyDynamicConfig(await patroniRest(target, ours), ours);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    figures.jitter = await jitter(target, ours, jitterSeconds, ['upstream'], progress);
    figures.jitterBothWays = await jitter(target, ours, Math.ceil(jitterSeconds / 2), ['upstream', 'downstream'], progress);
    await downStack(target, true);
    const plain = parseConfig('profile: minimal\n');
    await upStack(plain, target, progress, 300_000);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const streaming = await memory(target, ['postgres-primary', 'postgres-replica']);
    figures.memory = { haClusterBytes: ha, primaryReplicaBytes: streaming };
  } finally {
    await downStack(target, true).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  }
  const o = figures.ours as Awaited<ReturnType<typeof kills>>;
  const d = figures.defaults as Awaited<ReturnType<typeof kills>>;
  const m = figures.memory as { haClusterBytes: number; primaryReplicaBytes: number };
  type Jitter = { elections?: number; keyChanges?: number; seconds?: number; skipped?: string; healthyAfterRemovalMs?: number | null };
  const j = figures.jitter as Jitter;
  const j2 = figures.jitterBothWays as Jitter;
  const jitterLine = (what: string, x: Jitter) =>
    x.skipped ? `${what}: skipped (${x.skipped})` : `${what} for ${x.seconds} s: ${x.elections} elections (${x.keyChanges} leader-key changes); cluster healthy ${x.healthyAfterRemovalMs === null ? 'NOT within 120 s' : `${x.healthyAfterRemovalMs} ms`} after the toxics were removed`;
  const lines = [
    `kill-primary RTO, Parity's default timings (${o.label}): median ${formatDuration(o.rtoMedianMs)}, worst ${formatDuration(o.rtoWorstMs)} over ${o.rtoMs.length} kills; rejoin median ${formatDuration(o.rejoinMedianMs)}; acked writes lost ${o.ackedWritesLost}; false failovers ${o.falseFailovers}`,
    `kill-primary RTO, Patroni's defaults (${d.label}): median ${formatDuration(d.rtoMedianMs)}, worst ${formatDuration(d.rtoWorstMs)} over ${d.rtoMs.length} kills; rejoin median ${formatDuration(d.rejoinMedianMs)}; acked writes lost ${d.ackedWritesLost}`,
    `ratio of medians: ${(o.rtoMedianMs / d.rtoMedianMs).toFixed(2)} × Patroni's defaults`,
    jitterLine('jitter 500 ms ± 500 ms Patroni → etcd (0–1 s per round trip)', j),
    jitterLine('jitter 500 ms ± 500 ms both ways (0–2 s per round trip)', j2),
    `switchover write stall: ${(figures.switchoverStallMs as (number | null)[]).map((v) => `${v} ms`).join(', ')}`,
    `acked writes lost: synchronous ${o.ackedWritesLost + d.ackedWritesLost} over ${o.rtoMs.length + d.rtoMs.length} kills; asynchronous ${(figures.asyncAckedWritesLost as (number | null)[]).join(', ')} (3 kills)`,
    `memory: HA cluster (3 etcd + ${patroniNodes(ours).length} Patroni + 2 HAProxy) ${mib(m.haClusterBytes)} vs primary + replica ${mib(m.primaryReplicaBytes)}`,
  ];
  process.stdout.write(`\nfailover benchmark\n${lines.map((line) => `  ${line}`).join('\n')}\n`);
  await writeFileAtomic(statePath('bench', 'failover.json'), `${JSON.stringify(figures, null, 2)}\n`);
});
