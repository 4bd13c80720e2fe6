#!/usr/bin/env -S npx tsx
/** `make rotate-secrets`: a new token-signing key on the running stack, without downtime. */
import { parseCli, runMain } from './runners/cli.js';
import { createProgress } from './runners/progress.js';
import { rotateSecrets } from './runners/rotate-secrets.js';
import { defaultTarget } from './runners/stack.js';

const HELP = `
Usage: node --import tsx scripts/rotate-secrets.ts   (make rotate-secrets)

Needs the stack running (make up). Adds a new Ed25519 signing key (auth signs with it from now on),
keeps the previous one (tokens it signed verify until they expire, at most 15 minutes) and drops
older ones; rewrites the containers' copies in place and waits until auth signs with the new key.
No container restarts. Other secrets (database and Redis passwords, the dashboard's) are not rotated
by this command yet.
`;

await runMain(async () => {
  parseCli(process.argv.slice(2), {}, HELP);
  const progress = createProgress('[rotate]');
  const result = await rotateSecrets(defaultTarget(), progress);
  process.stdout.write(`signing key rotated: ${result.signingKid} signs${result.previousKid ? `, ${result.previousKid} still verifies` : ''}; auth switched in ${(result.tookMs / 1000).toFixed(1)} s, no restart\n`);
});
