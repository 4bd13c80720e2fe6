#!/usr/bin/env -S npx tsx
/**
 * `make bench-chaos`: what Toxiproxy costs when idle, and what each declared scenario does to users,
 * on the running stack (`make up`, chaos on). Prints measured figures; asserts nothing.
 *   1. The added latency of one Toxiproxy hop with no toxic: from inside the network (a stub
 *      container), 200 Redis PINGs/s straight to Redis and 200/s through its proxy, side by side.
 *   2. Toxiproxy's memory, idle and after that load.
 *   3. Every scenario through the chaos drill's own runner: fault → OPEN, users' p95 while open
 *      against the fault, fault removed → CLOSED, failed requests after open.
 */
import { DrillBudgetError, DrillError, UsageError } from '../services/errors.js';
import { dataEndpoint } from '../services/topology/chaos.js';

import { formatFigure, type DrillReport } from '../services/drills/model.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { abortOnSignals, parseCli, runMain } from './runners/core/cli.js';
import { containerRss, mib } from './runners/clients/container-stats.js';
import { runChaosDrill, toxiproxyApi } from './runners/drill/chaos/chaos.js';
import { execIn } from './runners/clients/compose.js';
import { fullContainerId } from './runners/clients/docker-host.js';
import { engineOf } from './runners/clients/engine-of.js';
import { loadConfig } from './runners/gen/gen.js';
import { createProgress } from './runners/core/progress.js';
import { defaultTarget, readActiveColor } from './runners/stack/stack.js';
import { statePath, writeFileAtomic } from './runners/core/state.js';

const HELP = `
Usage: node --import tsx scripts/bench-chaos.ts [--scenario NAME | --hop-only] [--rate N] [--seconds S] [--load N]   (make bench-chaos)

Needs the stack running with chaos on (make up). Measures, and prints:
  - Toxiproxy's added latency per hop with no toxic: from a stub container, --rate (default 200)
    Redis PINGs per second for --seconds (default 10) on a connection straight to Redis and as many
    through its proxy, sent in the same tick; p50/p95/p99 of each and the difference;
  - Toxiproxy's memory (RSS) idle and after that load;
  - every chaos scenario (or --scenario NAME) run by the chaos drill: fault → breakers OPEN, users'
    p95 while OPEN against the fault, fault removed → all CLOSED, failed (no fallback) after OPEN;
    each scenario twice: idle, and with --load (default 50) other users' GET/s on /, /api/events
    and /api/articles through the front from 250 addresses (--load 0: idle only).
Figures go to .parity/bench/chaos.json; each drill's report to .parity/drills/.
`;

/**
 * Run inside a stub container (node 22): Redis PINGs on two kept-open connections, one straight to
 * Redis and one through its Toxiproxy proxy, sent in the same tick so both see the same machine;
 * `rate` of each per second. Prints the round trips' percentiles per path, in ms.
 */
const HOP_SCRIPT = `
import net from 'node:net';
const [directHost, directPort, proxyHost, proxyPort, rate, seconds] = process.argv.slice(1);
import { readFileSync } from 'node:fs';
// Redis' default user is off: each connection logs in as the apps do (their secret, in this container).
const auth = \`AUTH app \${readFileSync('/run/secrets/redis_app_password', 'utf8').trim()}\\r\\n\`;
const open = (host, port) => new Promise((resolve, reject) => { const s = net.connect(Number(port), host, () => { s.write(auth); s.once('data', () => resolve(s)); }); s.setNoDelay(true); s.on('error', reject); });
const paths = { direct: await open(directHost, directPort), proxied: await open(proxyHost, proxyPort) };
const rtts = { direct: [], proxied: [] }; let errors = 0;
const ping = (name) => new Promise((resolve) => {
  const socket = paths[name]; const t = process.hrtime.bigint();
  const onData = (chunk) => { if (!chunk.toString().includes('PONG')) errors++; rtts[name].push(Number(process.hrtime.bigint() - t) / 1e6); resolve(); };
  socket.once('data', onData); socket.write('PING\\r\\n');
});
const total = Number(rate) * Number(seconds); const gap = 1000 / Number(rate); const start = performance.now();
for (let i = 0; i < total; i++) {
  const wait = start + i * gap - performance.now(); if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  // Alternate which path goes first, so neither always waits for the other.
  if (i % 2) { await ping('direct'); await ping('proxied'); } else { await ping('proxied'); await ping('direct'); }
}
const q = (list, p) => { const s = [...list].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)]; };
const summary = (list) => ({ n: list.length, errors, p50: q(list, 50), p95: q(list, 95), p99: q(list, 99) });
console.log(JSON.stringify({ direct: summary(rtts.direct), proxied: summary(rtts.proxied) }));
paths.direct.destroy(); paths.proxied.destroy();
`;

interface HopResult {
  readonly n: number;
  readonly errors: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

async function measureHop(container: string, direct: string, proxied: string, rate: number, seconds: number): Promise<{ direct: HopResult; proxied: HopResult }> {
  const [directHost, directPort] = direct.split(':');
  const [proxyHost, proxyPort] = proxied.split(':');
  const result = await execIn(container, ['node', '--input-type=module', '-e', HOP_SCRIPT, directHost!, directPort!, proxyHost!, proxyPort!, String(rate), String(seconds)]);
  if (result.code !== 0) throw new DrillError(`measuring the Toxiproxy hop from ${container} failed: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { direct: HopResult; proxied: HopResult };
}

await runMain(async () => {
  const { values } = parseCli(process.argv.slice(2), { scenario: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' }, load: { type: 'string' }, 'hop-only': { type: 'boolean' } }, HELP);
  const load = Number(values.load ?? 50);
  if (!Number.isInteger(load) || load < 0 || load > 1000) throw new UsageError(`--load: expected whole requests per second from 0 to 1000, got "${values.load}"`);
  const rate = Number(values.rate ?? 200);
  const seconds = Number(values.seconds ?? 10);
  if (!Number.isInteger(rate) || rate < 1 || rate > 2000) throw new UsageError(`--rate: expected whole requests per second from 1 to 2000, got "${values.rate}"`);
  if (!Number.isInteger(seconds) || seconds < 1) throw new UsageError(`--seconds: expected whole seconds ≥ 1, got "${values.seconds}"`);
  const config = await loadConfig();
  const target = defaultTarget();
  await toxiproxyApi(target, config);
  const scenarios = values['hop-only'] ? [] : values.scenario ? [values.scenario] : Object.keys(config.chaos.scenarios);
  const progress = createProgress('[bench]');
  const signal = abortOnSignals(progress, 'stopping the benchmark; the running drill removes its toxics');
  const color = (await readActiveColor(target.stateDir))?.color ?? config.activeColor;

  progress.step(`Toxiproxy hop: ${rate} Redis PINGs/s for ${seconds} s, direct and through the proxy side by side`);
  const client = await engineOf(target).containerOf(`frontend-${color}`);
  const toxiproxy = await engineOf(target).containerOf('toxiproxy');
  const fullId = await fullContainerId(toxiproxy);
  const idleRss = containerRss(fullId);
  const proxied = dataEndpoint(config, 'redis');
  const { direct, proxied: through } = await measureHop(client, 'redis:6379', `${proxied.host}:${proxied.port}`, rate, seconds);
  const loadedRss = containerRss(fullId);
  const hop = { direct, through, addedP50Ms: through.p50 - direct.p50, addedP95Ms: through.p95 - direct.p95, idleRssBytes: idleRss, loadedRssBytes: loadedRss };
  progress.info(`hop: direct p50 ${direct.p50.toFixed(2)} ms, through Toxiproxy p50 ${through.p50.toFixed(2)} ms (+${hop.addedP50Ms.toFixed(2)} ms); memory ${mib(idleRss)} idle, ${mib(loadedRss)} after`);

  const drills: Record<string, { result: string; figures: Record<string, string>; dir?: string }> = {};
  const runs = scenarios.flatMap((scenario) => [{ scenario, load: 0, key: `${scenario} idle` }, ...(load ? [{ scenario, load, key: `${scenario} +${load}/s` }] : [])]);
  for (const { scenario, load: rate, key } of runs) {
    if (signal.aborted) break;
    try {
      const { report, dir } = await runChaosDrill({ target, config, scenario, progress, signal, ...(rate ? { background: { rate } } : {}) });
      drills[key] = { result: report.result, figures: Object.fromEntries(report.figures.map((f) => [f.name, formatFigure(f)])), dir };
    } catch (error) {
      if (error instanceof DrillBudgetError) {
        // Over a budget is a figure too: read it back from the drill's own report.
        const report = JSON.parse(await readFile(join(error.reportDir, 'report.json'), 'utf8')) as DrillReport;
        drills[key] = { result: 'fail', figures: { ...Object.fromEntries(report.figures.map((f) => [f.name, formatFigure(f)])), over: error.reasons.join('; ') }, dir: error.reportDir };
        continue;
      }
      throw error;
    }
  }

  const row = (cells: string[]) => `  ${cells[0]!.padEnd(34)}${cells.slice(1).map((c) => c.padStart(14)).join('')}`;
  const lines = [
    `chaos benchmark (this machine, ${new Date().toISOString()}; app breaker reset ${config.breakers.app.resetSeconds} s)`,
    `  Toxiproxy hop, no toxic, ${rate} Redis PINGs/s each way for ${seconds} s (from frontend-${color}):`,
    `    direct          p50 ${direct.p50.toFixed(2)} ms  p95 ${direct.p95.toFixed(2)} ms  p99 ${direct.p99.toFixed(2)} ms  (${direct.n} ok, ${direct.errors} errors)`,
    `    through proxy   p50 ${through.p50.toFixed(2)} ms  p95 ${through.p95.toFixed(2)} ms  p99 ${through.p99.toFixed(2)} ms  (${through.n} ok, ${through.errors} errors)`,
    `    added per hop   p50 ${hop.addedP50Ms.toFixed(2)} ms  p95 ${hop.addedP95Ms.toFixed(2)} ms`,
    `    Toxiproxy RSS   ${mib(idleRss)} idle, ${mib(loadedRss)} after the load`,
    '',
    row(['scenario', 'fault→OPEN', 'p95 before', 'p95 OPEN', 'failed/OPEN', 'off→CLOSED', 'result']),
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
    ...Object.entries(drills).filter(([, d]) => d.figures.over).map(([name, d]) => `  ${name} over budget: ${d.figures.over}`),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  await writeFileAtomic(statePath('bench', 'chaos.json'), `${JSON.stringify({ at: new Date().toISOString(), rate, seconds, load, hop, drills }, null, 2)}\n`);
});
