#!/usr/bin/env -S npx tsx
/**
 * Benchmark of blue/green deploys on the running stack (`make up`), under a constant load
 * through Traefik: a good deploy, a rollback right after it, and a bad deploy (FAULT) that the
 * canary rolls back. Prints, per scenario, the requests, non-2xx responses and connection
 * errors; the time from the new color being healthy to 100 %; and how long a rollback took to
 * take effect. Asserts nothing.
 */
import { UsageError, formatDuration } from '../services/errors.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { deploy, discoverEndpoints, rollback, type DeployOptions } from './runners/deploy/index.js';
import { loadConfig } from './runners/gen/gen.js';
import { runWhileLoaded, type LoadResult } from './runners/bench/load.js';
import { createProgress } from './runners/core/progress.js';
import { defaultTarget } from './runners/stack/stack.js';
import { statePath, writeFileAtomic } from './runners/core/state.js';

const HELP = `
Usage: npx tsx scripts/bench-deploy.ts [--rate RPS] [--step-seconds S]    (make bench-deploy)

Needs the stack running (make up, profile full). Under --rate requests/s (default 200) of
GET /api/events through Traefik, measures 35 s of steady state, then runs: (a) a good deploy, (c) make rollback right after it,
(b) a deploy with FAULT=error=20% that the canary must roll back. --step-seconds overrides
deploy.stepSeconds (default: parity.yaml's). Figures go to stdout and .parity/bench/deploy.json.
`;

await runMain(async () => {
  const { values } = parseCli(process.argv.slice(2), { rate: { type: 'string' }, 'step-seconds': { type: 'string' } }, HELP);
  const rate = Number(values.rate ?? 200);
  if (!Number.isInteger(rate) || rate < 1) throw new UsageError(`--rate: expected requests per second ≥ 1, got "${values.rate}"`);
  const loaded = await loadConfig();
  const stepSeconds = values['step-seconds'] === undefined ? loaded.deploy.stepSeconds : Number(values['step-seconds']);
  if (!Number.isInteger(stepSeconds) || stepSeconds < 5) throw new UsageError(`--step-seconds: expected whole seconds ≥ 5, got "${values['step-seconds']}"`);
  const config = { ...loaded, deploy: { ...loaded.deploy, stepSeconds } };
  const target = defaultTarget();
  const progress = createProgress('[bench]');
  const options: DeployOptions = { target, config, progress };
  const { https } = await discoverEndpoints(target).catch(() => {
    throw new UsageError('the stack is not running: start it with `make up` first');
  });

  const underLoad = <T>(work: () => Promise<T>) => runWhileLoaded(`${https}/api/events?limit=5`, rate, work);
  const stamp = Date.now().toString(36);
  const lines: string[] = [];
  const figures: Record<string, unknown> = {};
  let steadyP99 = NaN;
  const record = (name: string, load: LoadResult, extra: string, data: Record<string, unknown>) => {
    const { p50, p95, p99 } = load.latencyMs;
    const ratio = Number.isNaN(steadyP99) ? '' : ` = ${(p99 / steadyP99).toFixed(2)} × steady`;
    lines.push(`  ${name.padEnd(20)} ${String(load.requests).padStart(6)} requests (${load.requestsPerSecond.toFixed(0)}/s), ${load.non2xx} non-2xx, ${load.errors} errors; p50 ${p50} ms, p95 ${p95} ms, p99 ${p99} ms${ratio}${extra ? `; ${extra}` : ''}`);
    figures[name] = { requests: load.requests, non2xx: load.non2xx, errors: load.errors, p50Ms: p50, p95Ms: p95, p99Ms: p99, ...data };
  };

  // The same load with nothing happening: what the deploys' tail is compared with.
  const steady = await underLoad(() => new Promise((resolve) => setTimeout(resolve, 30_000)));
  record('steady state (35 s)', steady.load, '', {});
  steadyP99 = steady.load.latencyMs.p99;

  const good = await underLoad(() => deploy({ version: `bench-${stamp}` }, options));
  if (good.outcome instanceof Error) throw good.outcome;
  record('(a) good deploy', good.load, `healthy → 100 % in ${formatDuration(good.outcome.healthyToFullMs ?? NaN)}`, { healthyToFullMs: good.outcome.healthyToFullMs });

  const back = await underLoad(() => rollback(options));
  if (back.outcome instanceof Error) throw back.outcome;
  record('(c) rollback', back.load, `only ${back.outcome.to.color} answered ${formatDuration(back.outcome.effectiveAfterMs)} after the switch`, { effectiveAfterMs: back.outcome.effectiveAfterMs });

  const bad = await underLoad(() => deploy({ version: `bench-bad-${stamp}`, fault: 'error=20%' }, options));
  const rolledBack = bad.outcome instanceof Error && bad.outcome.name === 'DeployRolledBackError';
  record('(b) bad deploy', bad.load, `${rolledBack ? 'rolled back' : 'NOT rolled back'}; ${((bad.load.non2xx / bad.load.requests) * 100).toFixed(2)} % of requests failed`, { rolledBack });

  process.stdout.write(`\ndeploy benchmark (${rate} req/s through Traefik, canary steps of ${stepSeconds}s)\n${lines.join('\n')}\n`);
  await writeFileAtomic(statePath('bench', 'deploy.json'), `${JSON.stringify({ at: new Date().toISOString(), rate, stepSeconds, ...figures }, null, 2)}\n`);
});
