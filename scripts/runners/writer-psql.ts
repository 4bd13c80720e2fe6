/**
 * psql as the admin (`parity`) on the database that takes writes now, from the host: `docker exec`
 * into the Patroni leader (`postgres.ha: patroni`, asked through Patroni's REST API) or into
 * `postgres-primary` (`streaming`), over the container's own unix socket (local trust). The SQL
 * goes in on standard input, because psql expands `:'name'` there and not in `-c`; every value
 * is a psql variable (`-v name=value`), quoted by psql itself. The audit log's reader and the
 * deploy's recorder both come through here.
 */
import type { ParityConfig } from '../../services/config/schema.js';
import type { PsqlScript } from '../../services/audit/log.js';
import { AuditError, AuditLogMissingError, formatDuration } from '../../services/errors.js';
import { DATABASE } from '../../services/topology/common.js';
import { containerOf, leaderNode } from './backup.js';
import { tryRun } from './exec.js';
import type { ComposeTarget } from './stack.js';

/** psql gives up connecting after this long (a stopped server), the whole exec after `PSQL_TIMEOUT_MS`. */
const CONNECT_TIMEOUT_SECONDS = 5;
const PSQL_TIMEOUT_MS = 20_000;

/** The compose service that takes writes now: the Patroni leader, or the streaming primary. */
export async function writerService(target: ComposeTarget, config: ParityConfig): Promise<string> {
  return config.postgres.ha === 'patroni' ? leaderNode(target, config) : 'postgres-primary';
}

/** The writer's container id; `StackNotUpError` when it doesn't run. */
export async function writerContainer(target: ComposeTarget, config: ParityConfig): Promise<{ readonly service: string; readonly container: string }> {
  const service = await writerService(target, config);
  return { service, container: await containerOf(target, service) };
}

/** The argv of `docker exec … psql` with the script's variables; the SQL itself goes to stdin. */
export function psqlArgv(container: string, script: PsqlScript): string[] {
  return [
    'docker', 'exec', '-i', '-e', `PGCONNECT_TIMEOUT=${CONNECT_TIMEOUT_SECONDS}`, container,
    'psql', '-h', '/var/run/postgresql', '-U', DATABASE.user, '-d', DATABASE.name,
    // -X: no ~/.psqlrc; -A -t: bare values, one per line; stop at the first error, with its exit code.
    '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
    ...script.variables.flatMap(([name, value]) => ['-v', `${name}=${value}`]),
  ];
}

/** The audit table is not there: psql's words for a missing relation or schema. */
export const isMissingAuditTable = (stderr: string): boolean => /relation "audit\.events" does not exist|schema "audit" does not exist/.test(stderr);

/**
 * Run `script` on the writer; resolves with psql's stdout. Rejects with `AuditLogMissingError`
 * when the audit table isn't there, `StackNotUpError` when no writer runs, `AuditError` otherwise.
 */
export async function psqlOnWriter(target: ComposeTarget, config: ParityConfig, script: PsqlScript): Promise<string> {
  const { service, container } = await writerContainer(target, config);
  const result = await tryRun(psqlArgv(container, script), { input: script.sql, timeoutMs: PSQL_TIMEOUT_MS });
  if (result.code === 0) return result.stdout;
  const said = result.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' / ') || `no output (exit ${result.code ?? 'signal: timed out'})`;
  if (isMissingAuditTable(result.stderr)) {
    throw new AuditLogMissingError(`the audit table audit.events does not exist in ${DATABASE.name} on ${service}: a stack from before it existed (make up creates it)`);
  }
  throw new AuditError(`psql on ${service} failed after ${formatDuration(result.elapsedMs)}: ${said}`);
}
