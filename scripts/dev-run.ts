#!/usr/bin/env -S npx tsx
/** `make dev-run`: a command on this host with a platform service's environment. */
import { parseCli, runMain } from './runners/core/cli.js';
import { devRun, parseDevRunRequest } from './runners/dev/dev-run.js';
import { loadConfig } from './runners/gen/gen.js';
import { defaultTarget } from './runners/stack/stack.js';

const HELP = `
Usage: npx tsx scripts/dev-run.ts --service NAME -- COMMAND [ARGS…]
       (make dev-run SERVICE=NAME -- COMMAND [ARGS…], or make dev-run SERVICE=NAME CMD='COMMAND ARGS…')

Runs COMMAND on this host with the environment make dev-env writes for the service (the data
stores through their published loopback ports as the service's own role, secrets as the state
directory's files, PORT, services.<name>.env and envMap), passes its output through, and exits
with its status. Ctrl-C and SIGTERM go to the command.

Options:
  --service NAME   frontend, ivor, events or newsroom (auth stays a stub)
  -h, --help       show this help
Exit codes: the command's; 2 bad input (no command, unknown service, the stack not up).
`;

await runMain(async () => {
  const argv = process.argv.slice(2);
  const split = argv.indexOf('--');
  const { values, positionals } = parseCli(split === -1 ? argv : argv.slice(0, split), { service: { type: 'string' } }, HELP);
  const command = split === -1 ? positionals : [...positionals, ...argv.slice(split + 1)];
  const request = parseDevRunRequest(values.service as string | undefined, command);
  const code = await devRun(defaultTarget(), await loadConfig(), request.service, request.command, (line) => process.stderr.write(`${line}\n`));
  process.exitCode = code;
});
