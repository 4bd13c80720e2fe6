#!/usr/bin/env -S npx tsx
/** `make example`: build an example service's image (code that is not a stub) for image mode. */
import { UsageError } from '../services/errors.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { createProgress } from './runners/core/progress.js';
import { EXAMPLES, buildExample, exampleNamed } from './runners/dev/example.js';

const HELP = `
Usage: npx tsx scripts/example.ts [--name NAME]      (make example [EXAMPLE=NAME])

Builds an example service's image from examples/<name> on the catalog's Debian base (Debian's
packages only; nothing is pulled). Put it in a stub's place with parity.yaml (docs/own-services.md):
${Object.entries(EXAMPLES).map(([name, e]) => `  ${name}: ${e.ref}  → services.${e.service}: { source: image, image: ${e.ref}, port: ${e.port}, envMap: … }`).join('\n')}

Options:
  --name NAME   ${Object.keys(EXAMPLES).join(', ')} (default: events-python)
  -h, --help    show this help
Exit codes: 0 built; 1 the build failed (its last lines are shown); 2 bad input.
`;

await runMain(async () => {
  const { values, positionals } = parseCli(process.argv.slice(2), { name: { type: 'string' } }, HELP);
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')} (see --help)`);
  const name = exampleNamed((values.name as string | undefined) ?? 'events-python');
  const built = await buildExample(name, createProgress('[example]'));
  process.stdout.write(`example: ${built.ref} built (${built.id.slice(7, 19)}, ${built.seconds} s)\n`);
});
