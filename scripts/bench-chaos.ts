#!/usr/bin/env -S npx tsx
/**
 * `make bench-chaos`: what Toxiproxy costs when idle, and what each declared scenario does to users,
 * on the running stack (`make up`, chaos on). Prints measured figures; asserts nothing.
 *   1. The added latency of one Toxiproxy hop with no toxic: from inside the network (a stub
 *      container), 200 req/s of GET /health/live to an API color directly and through its proxy.
 *   2. Toxiproxy's memory, idle and after that load.
 *   3. Every scenario through the chaos drill's own runner: fault → OPEN, users' p95 while open
 *      against the fault, fault removed → CLOSED, failed requests after open.
 */
import { DrillBudgetError, DrillError, UsageError } from '../services/errors.js';
import { appEndpoint } from '../services/topology/chaos.js';
import { STUB_PORT } from '../services/contracts/index.js';

import { formatFigure } from '../services/drills/model.js';
import { abortOnSignals, parseCli, runMain } from './runners/cli.js';
import { containerRss, mib } from './runners/container-stats.js';
import { runChaosDrill, toxiproxyApi } from './runners/drill/chaos.js';
import { containerOf, docker } from './runners/drill/docker.js';
import { loadConfig } from './runners/gen.js';
import { createProgress } from './runners/progress.js';
import { defaultTarget, readActiveColor } from './runners/stack.js';
import { statePath, writeFileAtomic } from './runners/state.js';

const HELP = `
Usage: node --import tsx scripts/bench-chaos.ts [--scenario NAME] [--rate N] [--seconds S]   (make bench-chaos)

Needs the stack running with chaos on (make up). Measures, and prints:
  - Toxiproxy's added latency per hop with no toxic: --rate GET/s (default 200) for --seconds
    (default 10) from a stub container to events-<color>:${STUB_PORT}/health/live, directly and
    through the events proxy, one after the other; p50/p95/p99 of each and the difference;
  - Toxiproxy's memory (RSS) idle and after that load;
  - every chaos scenario (or --scenario NAME) run by the chaos drill: fault → breakers OPEN, users'
    p95 while OPEN against the fault, fault removed → all CLOSED, failed (no fallback) after OPEN.
Figures go to .parity/bench/chaos.json; each drill's report to .parity/drills/.
`;

/** Run inside a stub container (node 22, fetch with keep-alive): paced GETs, latencies in ms. */
const HOP_SCRIPT = `
const [url, rate, seconds] = process.argv.slice(1);
const latencies = []; let errors = 0; const total = Number(rate) * Number(seconds); const gap = 1000 / Number(rate);
const start = performance.now(); const pending = [];
for (let i = 0; i < total; i++) {
  const due = start + i * gap; const wait = due - performance.now(); if (wait > 0) await new Promise(r => setTimeout(r, wait));
  const t = performance.now();
  pending.push(fetch(url).then(r => r.arrayBuffer()).then(() => latencies.push(performance.now() - t), () => errors++));
}
await Promise.all(pending);
latencies.sort((a, b) => a - b);
const q = p => latencies[Math.min(latencies.length - 1, Math.ceil(p / 100 * latencies.length) - 1)];
console.log(JSON.stringify({ n: latencies.length, errors, p50: q(50), p95: q(95), p99: q(99) }));
`;

interface HopResult {
  readonly n: number;
  readonly errors: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

async function measureHop(container: string, url: string, rate: number, seconds: number): Promise<HopResult> {
  const result = await docker(['exec', container, 'node', '--input-type=module', '-e', HOP_SCRIPT, url, String(rate), String(seconds)]);
  if (result.code !== 0) throw new DrillError(`measuring ${url} from ${container} failed: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as HopResult;
}


await runMain(async () => {
  const { values } = parseCli(process.argv.slice(2), { scenario: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' } }, HELP);
  const rate = Number(values.rate ?? 200);
  const seconds = Number(values.seconds ?? 10);
  if (!Number.isInteger(rate) || rate < 1 || rate > 2000) throw new UsageError(`--rate: expected whole requests per second from 1 to 2000, got "${values.rate}"`);
  if (!Number.isInteger(seconds) || seconds < 1) throw new UsageError(`--seconds: expected whole seconds ≥ 1, got "${values.seconds}"`);
  const config = await loadConfig();
  const target = defaultTarget();
  await toxiproxyApi(target, config);
  const scenarios = values.scenario ? [values.scenario] : Object.keys(config.chaos.scenarios);
  const progress = createProgress('[bench]');
  const signal = abortOnSignals(progress, 'stopping the benchmark; the running drill removes its toxics');
  const color = (await readActiveColor(target.stateDir))?.color ?? config.activeColor;

  progress.step(`Toxiproxy hop: ${rate} req/s for ${seconds} s, direct and through the proxy`);
  const client = await containerOf(target, `frontend-${color}`);
  const toxiproxy = await containerOf(target, 'toxiproxy');
  const fullId = (await docker(['inspect', '-f', '{{.Id}}', toxiproxy])).stdout.trim();
  const idleRss = containerRss(fullId);
  const proxied = appEndpoint(config, 'events', color);
  const direct = await measureHop(client, `http://events-${color}:${STUB_PORT}/health/live`, rate, seconds);
  const through = await measureHop(client, `http://${proxied.host}:${proxied.port}/health/live`, rate, seconds);
  const loadedRss = containerRss(fullId);
  const hop = { direct, through, addedP50Ms: through.p50 - direct.p50, addedP95Ms: through.p95 - direct.p95, idleRssBytes: idleRss, loadedRssBytes: loadedRss };
  progress.info(`hop: direct p50 ${direct.p50.toFixed(2)} ms, through Toxiproxy p50 ${through.p50.toFixed(2)} ms (+${hop.addedP50Ms.toFixed(2)} ms); memory ${mib(idleRss)} idle, ${mib(loadedRss)} after`);

  const drills: Record<string, { result: string; figures: Record<string, string>; dir?: string }> = {};
  for (const scenario of scenarios) {
    if (signal.aborted) break;
    try {
      const { report, dir } = await runChaosDrill({ target, config, scenario, progress, signal });
      drills[scenario] = { result: report.result, figures: Object.fromEntries(report.figures.map((f) => [f.name, formatFigure(f)])), dir };
    } catch (error) {
      if (error instanceof DrillBudgetError) {
        drills[scenario] = { result: 'fail', figures: { error: error.message.split('\n').slice(1).join('; ') } };
        continue;
      }
      throw error;
    }
  }

  const row = (cells: string[]) => `  ${cells[0]!.padEnd(26)}${cells.slice(1).map((c) => c.padStart(14)).join('')}`;
  const lines = [
    `chaos benchmark (this machine, ${new Date().toISOString()}; app breaker reset ${config.breakers.app.resetSeconds} s)`,
    `  Toxiproxy hop, no toxic, ${rate} req/s for ${seconds} s (GET /health/live from frontend-${color} to events-${color}):`,
    `    direct          p50 ${direct.p50.toFixed(2)} ms  p95 ${direct.p95.toFixed(2)} ms  p99 ${direct.p99.toFixed(2)} ms  (${direct.n} ok, ${direct.errors} errors)`,
    `    through proxy   p50 ${through.p50.toFixed(2)} ms  p95 ${through.p95.toFixed(2)} ms  p99 ${through.p99.toFixed(2)} ms  (${through.n} ok, ${through.errors} errors)`,
    `    added per hop   p50 ${hop.addedP50Ms.toFixed(2)} ms  p95 ${hop.addedP95Ms.toFixed(2)} ms`,
    `    Toxiproxy RSS   ${mib(idleRss)} idle, ${mib(loadedRss)} after the load`,
    '',
    row(['scenario', 'fault→OPEN', 'p95 before', 'p95 OPEN', 'failed/OPEN', 'fault off→CLOSED', 'result']),
    ...Object.entries(drills).map(([name, d]) =>
      row([
        name,
        d.figures['fault → breakers OPEN'] ?? '-',
        d.figures["users' p95 before the fault"] ?? '-',
        d.figures["users' p95 while OPEN"] ?? '-',
        d.figures['failed (no fallback) after OPEN'] ?? '-',
        d.figures['fault removed → all CLOSED'] ?? '-',
        d.result,
      ]),
    ),
    ...Object.entries(drills).filter(([, d]) => d.figures.error).map(([name, d]) => `  ${name}: ${d.figures.error}`),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  await writeFileAtomic(statePath('bench', 'chaos.json'), `${JSON.stringify({ at: new Date().toISOString(), rate, seconds, hop, drills }, null, 2)}\n`);
});
