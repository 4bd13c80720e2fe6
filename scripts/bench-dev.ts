#!/usr/bin/env -S npx tsx
/** `make bench-dev`: edit → new code answering through the edge, for sync+restart and rebuild (median, worst). */
import { UsageError } from '../services/errors.js';
import { abortOnSignals, parseCli, runMain } from './runners/core/cli.js';
import { createProgress } from './runners/core/progress.js';
import { benchDev } from './runners/dev/bench-dev.js';

const HELP = `
Usage: npx tsx scripts/bench-dev.ts [--edits N] [--format table|json]      (make bench-dev [EDITS=N])

Starts a stack of its own (profile minimal, ports 48xxx, project parity-bench-dev) with the example
Events API built from a copy of its source (source: build), watches it as make dev does, and times
N edits of each kind from the file write to the first users' answer through the front carrying
the new code: app.py under a sync+restart rule, build.txt under a rebuild rule (at most 3: each
rebuild waits for the platform contract on the new image, as make dev does). Removes its stack
and copy at the end (also on Ctrl-C).

Options:
  --edits N       edits per kind (default 10)
  --format F      table (default) or json
  -h, --help      show this help
`;

await runMain(async () => {
  const { values, positionals } = parseCli(process.argv.slice(2), { edits: { type: 'string' }, format: { type: 'string' } }, HELP);
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')} (see --help)`);
  const edits = Number(values.edits ?? 10);
  if (!Number.isInteger(edits) || edits < 1 || edits > 100) throw new UsageError(`--edits ${values.edits}: expected a whole number from 1 to 100`);
  const format = (values.format as string | undefined) ?? 'table';
  if (!['table', 'json'].includes(format)) throw new UsageError(`--format ${format}: expected table or json`);
  const progress = createProgress('[bench-dev]');
  const signal = abortOnSignals(progress, 'removing the bench stack');
  const results = await benchDev({ edits, progress, say: (line) => progress.info(line), signal });
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  process.stdout.write(`\nedit → new code answering users through the edge (the example Events API, Python; a rebuild includes the platform contract on the new image)\n`);
  process.stdout.write(`${'mode'.padEnd(14)}${'median'.padStart(10)}${'worst'.padStart(10)}   samples (s)\n`);
  for (const r of results) {
    process.stdout.write(`${r.mode.padEnd(14)}${`${(r.medianMs / 1000).toFixed(2)} s`.padStart(10)}${`${(r.worstMs / 1000).toFixed(2)} s`.padStart(10)}   ${r.samplesMs.map((ms) => (ms / 1000).toFixed(2)).join(' ')}\n`);
  }
});
