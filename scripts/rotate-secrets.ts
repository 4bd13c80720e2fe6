#!/usr/bin/env -S npx tsx
/** `make rotate-secrets`: new secrets on the running stack, without downtime. */
import { UsageError } from '../services/errors.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { createProgress } from './runners/core/progress.js';
import { formatStepLine, ROTATION_STEPS, rotateSecrets } from './runners/rotate/rotate-secrets.js';
import { defaultTarget } from './runners/stack/stack.js';

const HELP = `
Usage: node --import tsx scripts/rotate-secrets.ts [--only STEP,...] [--format text|json]
       (make rotate-secrets [ONLY=redis,dashboard] [FORMAT=json])

Needs the stack running (make up) and root (the containers' copies of the secrets belong to their
users). Rotates, in this order (every step unless --only names some):
${ROTATION_STEPS.map((step) => `  ${step.name.padEnd(13)} ${step.rotates}`).join('\n')}
Each step writes the new secret where its readers find it (the containers' copies in place), then
checks that it is live; no container users reach is restarted. A line per step says what was
rotated and how long it took; no secret is ever printed.

  --only STEP,...         the steps to run (names above, comma-separated); unknown names exit 2
  --format text|json      json prints the result (every step's name, time and checks) as data
`;

await runMain(async () => {
  const { values } = parseCli(process.argv.slice(2), { only: { type: 'string' }, format: { type: 'string' } }, HELP);
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format: expected text or json, got "${format}"`);
  const result = await rotateSecrets(defaultTarget(), createProgress('[rotate]'), { ...(values.only !== undefined ? { only: values.only } : {}) });
  process.stdout.write(format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : `${result.steps.map(formatStepLine).join('\n')}\n`);
});
