#!/usr/bin/env -S npx tsx
/** `make engine`: make sure a Docker engine answers and `docker compose` (v2) exists. */
import { ensureEngine } from './runners/engine/engine.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { createProgress } from './runners/core/progress.js';

const HELP = `
Usage: make engine            (or: npx tsx scripts/engine.ts)

Makes sure a container engine answers and \`docker compose\` (v2) is installed.
  - If \`docker info\` answers, that engine is used.
  - Otherwise, on a Debian/Ubuntu host as root: installs Debian's docker.io, starts dockerd in
    the background (log: .parity/engine/dockerd.log) and waits until it answers.
  - Anywhere else it stops with a message saying what to install (exit 2).
  - If \`docker compose\` is missing, builds Compose v2 from its Go module source and installs
    it as a CLI plugin (needs Go).
A second run changes nothing and says so.

Options:
  -h, --help   show this help
Environment:
  PARITY_STATE_DIR   where local state lives (default: .parity)
  DOCKER_CONFIG      where the compose plugin goes (default: ~/.docker)
`;

await runMain(async () => {
  parseCli(process.argv.slice(2), {}, HELP);
  const progress = createProgress('[engine]');
  const report = await ensureEngine(progress);
  for (const change of report.changes) progress.info(`changed: ${change}`);
  progress.info(
    `engine ${report.serverVersion} (API ${report.apiVersion}), compose ${report.composeVersion}` +
      (report.changes.length === 0 ? ': already in place, nothing to do' : ''),
  );
});
