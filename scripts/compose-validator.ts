#!/usr/bin/env -S npx tsx
/** `make compose-validator`: compile compose-spec.json into the validator module `make gen` loads. */
import { relative } from 'node:path';
import { parseCli, runMain } from './runners/core/cli.js';
import { COMPOSE_VALIDATOR, renderComposeValidator } from './runners/gen/compose-spec-code.js';
import { repoRoot, writeFileAtomic } from './runners/core/state.js';

const HELP = `
Usage: make compose-validator     (or: npx tsx scripts/compose-validator.ts)

Compiles services/render/compose-spec.json with ajv's standalone code into
services/render/compose-spec.validate.cjs, which \`make gen\` validates the rendered compose file
with. Run it after updating the schema or ajv; a unit test fails while the module is stale.
`;

await runMain(async () => {
  parseCli(process.argv.slice(2), {}, HELP);
  await writeFileAtomic(COMPOSE_VALIDATOR, renderComposeValidator());
  process.stderr.write(`[compose-validator] wrote ${relative(repoRoot, COMPOSE_VALIDATOR)}\n`);
});
