#!/usr/bin/env -S npx tsx
/** `make seed`: the demo data set, loaded through the platform's APIs (idempotent). */
import { formatDuration } from '../services/errors.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { createProgress } from './runners/core/progress.js';
import { describeAccounts, describeCounts, seedStack } from './runners/stack/seed.js';
import { defaultTarget } from './runners/stack/stack.js';

const HELP = `
Usage: make seed      (or: npx tsx scripts/seed.ts)

Loads the demo data set into the running stack through its own APIs (via Traefik), as an
editor and members would: demo accounts (an editor and three members), two more categories,
12 articles with comments and attachments, 32 events over the coming four months with images
in S3 and RSVPs, and IVOR conversations. A second run adds nothing: what exists is matched by
e-mail, slug, title and first question. The demo passwords are generated once per state
directory, printed the first time, and kept in .parity/secrets/demo_accounts.json (0600).
\`make up\` runs this by itself on an empty platform unless parity.yaml says \`demo: false\`.

Exit codes: 0 done, 1 a request failed (the message names it), 2 the stack is not up.
Options:
  -h, --help   show this help
`;

await runMain(async () => {
  parseCli(process.argv.slice(2), {}, HELP);
  const started = Date.now();
  const progress = createProgress('[seed]');
  const result = await seedStack(defaultTarget(), progress);
  progress.info(`${describeCounts(result.counts!)} (${formatDuration(Date.now() - started)})`);
  process.stdout.write(`${describeAccounts(result)}\n`);
});
