#!/usr/bin/env -S npx tsx
/**
 * Benchmark of the generator and the stack: `make gen` time, `make up` warm (images present)
 * until every service is healthy, and the stack's memory (sum of container RSS) for the
 * minimal and the full profile. Prints measured figures; asserts nothing.
 * Runs its stacks under the project name `parity-bench`, and removes them (with volumes).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { containerRss, mib } from './runners/clients/container-stats.js';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../services/config/validate.js';
import { CommandError, formatDuration } from '../services/errors.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { createProgress } from './runners/core/progress.js';
import { defaultTarget, downStack, upStack } from './runners/stack/stack.js';
import { engineOf } from './runners/clients/engine-of.js';
import { type ComposeTarget } from './runners/clients/engine.js';
import { repoRoot, statePath, writeFileAtomic } from './runners/core/state.js';

const HELP = `
Usage: npx tsx scripts/bench-stack.ts [--runs N]

Prints: make gen time (median of N runs of make gen), make up time until all services are
healthy (from empty volumes), and the RSS per container and in total for the minimal profile,
the full profile, and the full profile without the HA cluster and Toxiproxy (read from each
container's cgroup after a 20 s settle). Leaves compose/ regenerated from parity.yaml.
`;


await runMain(async () => {
  const { values } = parseCli(process.argv.slice(2), { runs: { type: 'string' } }, HELP);
  const runs = Number(values.runs ?? 5);
  const progress = createProgress('[bench]');
  const lines: string[] = [];
  const figures: Record<string, unknown> = {};

  const genTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = Date.now();
    // make itself, so the figure is what a user waits for (the bundle, not tsx: see the Makefile).
    const result = spawnSync('make', ['--no-print-directory', '-s', 'gen'], { cwd: repoRoot, encoding: 'utf8' });
    if (result.status !== 0) throw new CommandError('make gen', result.status, result.stderr, Date.now() - started);
    genTimes.push(Date.now() - started);
  }
  genTimes.sort((a, b) => a - b);
  figures.genMs = genTimes;
  lines.push(`make gen (CLI, incl. node start): median ${formatDuration(genTimes[Math.floor(runs / 2)]!)}, min ${formatDuration(genTimes[0]!)}, max ${formatDuration(genTimes.at(-1)!)} over ${runs} runs`);

  const target: ComposeTarget = { ...defaultTarget(), project: 'parity-bench', stateDir: statePath('bench-state') };
  const base = readFileSync(join(repoRoot, 'parity.yaml'), 'utf8');
  try {
    // The third is the full profile as it was before the HA cluster and Toxiproxy (plain
    // streaming replica, no chaos proxy): the topology the 900 MiB goal of issue #14 was set for.
    const variants = {
      minimal: 'profile: minimal\n',
      full: 'profile: full\n',
      'full without HA and Toxiproxy': 'profile: full\npostgres:\n  ha: streaming\nchaos:\n  enabled: false\n',
    } as const;
    for (const [profile, yaml] of Object.entries(variants)) {
      const config = parseConfig(`${base}\n${yaml}`);
      await downStack(target, true);
      const up = await upStack(config, target, progress, 300_000);
      progress.info(`${profile}: ${up.services} services healthy ${formatDuration(up.healthyAfterMs)} after compose up (${formatDuration(up.totalMs)} in all)`);
      await new Promise((resolve) => setTimeout(resolve, 20_000));
      const containers = (await engineOf(target).listContainers())
        .filter((c) => c.state === 'running')
        .map(({ service, id }) => ({ service, rss: containerRss(id) }))
        .sort((a, b) => b.rss - a.rss || a.service.localeCompare(b.service));
      const total = containers.reduce((sum, container) => sum + container.rss, 0);
      figures[profile] = { services: up.services, upMs: up.totalMs, healthyAfterMs: up.healthyAfterMs, rssBytes: total, perContainer: Object.fromEntries(containers.map((c) => [c.service, c.rss])) };
      lines.push(`${profile}: make up warm ${formatDuration(up.totalMs)} (healthy ${formatDuration(up.healthyAfterMs)} after compose up), ${up.services} containers, RSS sum ${mib(total)}`);
      lines.push(`  RSS per container: ${containers.map((c) => `${c.service} ${mib(c.rss)}`).join(', ')}`);
    }
  } finally {
    await downStack(target, true).catch(() => undefined);
    // The bench stack's secrets and CA belong to a stack that no longer exists.
    await rm(target.stateDir, { recursive: true, force: true });
    spawnSync('make', ['--no-print-directory', '-s', 'gen'], { cwd: repoRoot });
  }
  process.stdout.write(`\nstack benchmark\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
  await writeFileAtomic(statePath('bench', 'stack.json'), `${JSON.stringify({ at: new Date().toISOString(), ...figures }, null, 2)}\n`);
});
