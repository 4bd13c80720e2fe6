#!/usr/bin/env -S npx tsx
/** `make dev-env`: a platform service's environment, for a process on this host. */
import { UsageError } from '../services/errors.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { parseDevEnvRequest, writeDevEnv } from './runners/dev/dev-env.js';
import { loadConfig } from './runners/gen/gen.js';
import { defaultTarget } from './runners/stack/stack.js';

const HELP = `
Usage: npx tsx scripts/dev-env.ts --service NAME [--format dotenv|sh|json]
       (make dev-env SERVICE=NAME [FORMAT=dotenv|sh|json])

Writes the environment the service's container has in the running stack, rewritten for a process
on this host, to .parity/dev/<service>.env (.sh, .json), mode 0600:
  - the database's writer and reader endpoints, Redis and S3 through their published loopback
    ports, with the service's own role and ACL user;
  - secrets stay files (DATABASE_PASSWORD_FILE, REDIS_PASSWORD_FILE, …): the state directory's
    copies, so make rotate-secrets reaches your process too;
  - PORT: services.<name>.host.port from parity.yaml (else 3000), and services.<name>.env on top.
Use it: set -a; . .parity/dev/events.env; set +a   (or FORMAT=sh and . the file)

Options:
  --service NAME   frontend, ivor, events or newsroom (auth stays a stub)
  --format F       dotenv (default), sh (export lines) or json
  -h, --help       show this help
Exit codes: 0 written; 2 bad input or the stack not up (nothing written).
`;

await runMain(async () => {
  const { values, positionals } = parseCli(process.argv.slice(2), { service: { type: 'string' }, format: { type: 'string' } }, HELP);
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')} (see --help)`);
  const { service, format } = parseDevEnvRequest(values.service as string | undefined, values.format as string | undefined);
  const result = await writeDevEnv(defaultTarget(), await loadConfig(), service, format);
  process.stdout.write(`dev-env: ${result.variables} variables for ${service} in ${result.path} (0600)\n`);
  for (const note of result.notes) process.stdout.write(`  note: ${note}\n`);
  process.stdout.write(format === 'json' ? '' : `  use: set -a; . ${result.path}; set +a\n`);
});
