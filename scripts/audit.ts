#!/usr/bin/env -S npx tsx
/** `make audit`: the platform's audit log, newest entries, filtered. */
import { parseAuditQuery } from '../services/audit/log.js';
import { UsageError } from '../services/errors.js';
import { printAuditLog } from './runners/clients/audit.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { loadConfig } from './runners/gen/gen.js';
import { defaultTarget } from './runners/stack/stack.js';

const HELP = `
Usage: npx tsx scripts/audit.ts [--limit N] [--service S] [--action PREFIX] [--since T] [--format table|json]
       (make audit [LIMIT=N] [SERVICE=S] [ACTION=PREFIX] [SINCE=T] [FORMAT=json])

The platform's append-only audit log (audit.events): logins and their failures, role changes,
the editors' and admins' changes and refused attempts (outcome denied), deploys and rollbacks.
Prints the newest entries, oldest first: time (UTC), service, action, actor (a user id, or the
operator for deploys), subject, client address, outcome. Read as the admin on the database's
writer (the Patroni leader, or postgres-primary): the services may only append.

Options:
  --limit N           how many entries, 1–10000 (default 50)
  --service S         only one writer: auth, ivor, events, newsroom or deploy
  --action PREFIX     only actions starting with PREFIX: event. (every event change), deploy.start, login
  --since T           only entries since T: a time ago (30m, 1h, 2d) or an ISO 8601 time
  --format table|json table for people (default); json has every column, detail included
  -h, --help          show this help
Exit codes: 0 done; 1 psql failed (its error is shown); 2 bad input, the stack not up, or no
audit table yet (a stack from before it: make up creates it).
`;

await runMain(async () => {
  const { values, positionals } = parseCli(
    process.argv.slice(2),
    { limit: { type: 'string' }, service: { type: 'string' }, action: { type: 'string' }, since: { type: 'string' }, format: { type: 'string' } },
    HELP,
  );
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')} (see --help)`);
  // Make passes an unset variable as an empty string: the same as not giving it.
  const given = Object.fromEntries(Object.entries(values).filter(([, value]) => typeof value === 'string' && value !== ''));
  const query = parseAuditQuery(given, new Date());
  await printAuditLog(defaultTarget(), await loadConfig(), query);
});
