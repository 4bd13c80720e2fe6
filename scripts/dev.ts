#!/usr/bin/env -S npx tsx
/** `make dev SERVICE=events`: the stack up with your source built in the stub's place, then live sync. */
import { contractGate, gateCandidates, type GateCandidate } from './runners/dev/contract-gate.js';
import { dirname, relative } from 'node:path';
import { UsageError } from '../services/errors.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { createProgress } from './runners/core/progress.js';
import { parseDevRequest, watchService } from './runners/dev/dev-watch.js';
import { configPath, loadConfig } from './runners/gen/gen.js';
import { defaultTarget, upStack } from './runners/stack/stack.js';

const HELP = `
Usage: npx tsx scripts/dev.ts --service NAME [--no-up]      (make dev SERVICE=NAME)

Brings the stack up with services.<NAME> built from your source (source: build in parity.yaml),
then runs docker compose watch on both of its colors in the foreground: each change under a
build.watch rule is synced into the containers (sync), synced and the container restarted
(sync+restart), or the image rebuilt and the containers replaced (rebuild). One line per change.
A rebuild is held to the platform contract before the edge routes to it: Parity builds the image,
runs the contract on it (make contract; ~30-45 s, or nothing when this build passed before), and
only then replaces both colors; a build that fails it is reported, clause by clause, while the
previous build keeps serving (services.<NAME>.contract: warn lets it through).
Ctrl-C stops watching; the stack stays up (make down stops it).

Options:
  --service NAME   frontend, ivor, events or newsroom
  --no-up          watch a stack that is already up (skip make up)
  -h, --help       show this help
Exit codes: 0 stopped watching; 1 the stack or the watch failed; 2 bad input (no build for the service).
`;

await runMain(async () => {
  const { values, positionals } = parseCli(process.argv.slice(2), { service: { type: 'string' }, 'no-up': { type: 'boolean' } }, HELP);
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')} (see --help)`);
  const config = await loadConfig();
  const app = parseDevRequest(values.service as string | undefined, config, relative(process.cwd(), configPath()) || 'parity.yaml');
  const progress = createProgress('[dev]');
  const target = defaultTarget();
  if (!values['no-up']) {
    const up = await upStack(config, target, progress, 600_000, { gate: contractGate(config, target.stateDir, progress) });
    progress.info(`stack up: ${up.services} services healthy (${(up.totalMs / 1000).toFixed(1)} s); ${app}-blue and ${app}-green run your build`);
  }
  const gate = { config, configDir: dirname(configPath()), check: (candidate: GateCandidate, signal?: AbortSignal) => gateCandidates([candidate], config, target.stateDir, progress, signal).then(() => undefined) };
  process.exitCode = await watchService(target, app, progress, (line) => process.stdout.write(`[dev] ${line}\n`), undefined, gate);
});
