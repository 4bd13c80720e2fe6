#!/usr/bin/env -S npx tsx
/** `make gen`: the only writer of compose/. */
import { parseCli, runMain } from './runners/core/cli.js';
import { COMPOSE_DIR, configPath, generate, loadConfig } from './runners/gen/gen.js';
import { formatDuration } from '../services/errors.js';

const HELP = `
Usage: make gen [CONFIG=path]     (or: npx tsx scripts/gen.ts [--config path] [--check])

Validates the config file (default: parity.yaml; an empty or missing file means all
defaults) and renders compose/: compose.yaml, Traefik static and dynamic config, Prometheus
config, alert rules and their promtool tests, Alertmanager config, Grafana provisioning.
Every config problem is reported together with its path and line (exit 2); compose/ is
then left untouched. Output is deterministic: a second run changes nothing.

Options:
  --config PATH   config file (also: PARITY_CONFIG)
  --check         render in memory and fail (exit 1) if compose/ differs: the CI drift check
  -h, --help      show this help
`;

await runMain(async () => {
  const { values } = parseCli(process.argv.slice(2), { config: { type: 'string' }, check: { type: 'boolean' } }, HELP);
  const started = Date.now();
  const path = values.config ?? configPath();
  const config = await loadConfig(path);
  if (values.check) {
    const { checkDrift } = await import('./runners/gen/drift.js');
    const drift = await checkDrift(config);
    if (drift.length > 0) {
      process.stderr.write(`compose/ is out of date with the model (run \`make gen\` and commit):\n${drift.map((d) => `  ${d}`).join('\n')}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`[gen] compose/ matches the model (${formatDuration(Date.now() - started)})\n`);
    return;
  }
  const result = await generate(config);
  process.stderr.write(
    `[gen] ${COMPOSE_DIR}: ${result.written.length} written, ${result.unchanged.length} unchanged, ${result.removed.length} removed ` +
      `(${result.topology.services.length} services, profile ${config.profile}) in ${formatDuration(Date.now() - started)}\n`,
  );
  for (const path of result.written) process.stderr.write(`  wrote ${path}\n`);
  for (const path of result.removed) process.stderr.write(`  removed ${path}\n`);
});
