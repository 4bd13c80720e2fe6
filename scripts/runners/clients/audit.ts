/**
 * The audit log from the host: `make audit` reads it, the deploy runner appends its deploys and
 * rollbacks. Both go through psql as the admin (`parity`) on the database that takes writes now
 * (`writerContainer`, clients/postgres.ts: the Patroni leader, or `postgres-primary`), over the
 * container's own unix socket, every value a psql variable: the apps may only INSERT, reading is
 * for operators.
 */
import { userInfo } from 'node:os';
import { auditSelect, deployInsert, formatAuditTable, parseAuditRows, type AuditQuery, type AuditRow, type DeployAuditEntry, type PsqlScript } from '../../../services/audit/log.js';
import type { ParityConfig } from '../../../services/config/schema.js';
import { AuditError, AuditLogMissingError, formatDuration } from '../../../services/errors.js';
import { DATABASE } from '../../../services/topology/common.js';
import { psql, writerContainer } from './postgres.js';
import type { ComposeTarget } from './engine.js';

/** psql gives up connecting after this long (a stopped server), the whole exec after `PSQL_TIMEOUT_MS`. */
const CONNECT_TIMEOUT_SECONDS = 5;
const PSQL_TIMEOUT_MS = 20_000;

/** The audit table is not there: psql's words for a missing relation or schema. */
export const isMissingAuditTable = (stderr: string): boolean => /relation "audit\.events" does not exist|schema "audit" does not exist/.test(stderr);

/**
 * Run `script` on the writer; resolves with psql's stdout. Rejects with `AuditLogMissingError`
 * when the audit table isn't there, `StackNotUpError` when no writer runs, `AuditError` otherwise.
 */
export async function psqlOnWriter(target: ComposeTarget, config: ParityConfig, script: PsqlScript): Promise<string> {
  const { service, container } = await writerContainer(target, config);
  const result = await psql({ container, connectTimeoutSeconds: CONNECT_TIMEOUT_SECONDS }, script, { timeoutMs: PSQL_TIMEOUT_MS });
  if (result.code === 0) return result.stdout;
  const said = result.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' / ') || `no output (exit ${result.code ?? 'signal: timed out'})`;
  if (isMissingAuditTable(result.stderr)) {
    throw new AuditLogMissingError(`the audit table audit.events does not exist in ${DATABASE.name} on ${service}: a stack from before it existed (make up creates it)`);
  }
  throw new AuditError(`psql on ${service} failed after ${formatDuration(result.elapsedMs)}: ${said}`);
}

/** The newest rows that pass the query's filters, oldest first. */
export async function readAuditLog(target: ComposeTarget, config: ParityConfig, query: AuditQuery): Promise<AuditRow[]> {
  const stdout = await psqlOnWriter(target, config, auditSelect(query));
  try {
    return parseAuditRows(stdout);
  } catch (error) {
    throw new AuditError((error as Error).message);
  }
}

/** `make audit`: the rows as a table, or as JSON (every column, detail included). */
export async function printAuditLog(target: ComposeTarget, config: ParityConfig, query: AuditQuery): Promise<void> {
  const rows = await readAuditLog(target, config, query);
  process.stdout.write(query.format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : `${formatAuditTable(rows, query)}\n`);
}

/** Who runs the command on this host (the deploy entries' actor). */
export function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry for this uid (a container with an arbitrary user).
    return process.env.USER ?? `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** Appends the deploy runner's entries; never fails the deploy. */
export interface DeployAudit {
  /**
   * Append `entry`. When it can't be written (no audit table on an older stack, the database
   * down) the deploy goes on: `warn` hears about it once per run, later failures are quiet.
   */
  record(entry: Omit<DeployAuditEntry, 'actor'>, warn: (message: string) => void): Promise<void>;
}

export function createDeployAudit(target: ComposeTarget, config: ParityConfig, append: typeof psqlOnWriter = psqlOnWriter): DeployAudit {
  const actor = operatorName();
  let warned = false;
  return {
    async record(entry, warn) {
      try {
        await append(target, config, deployInsert({ ...entry, actor }));
      } catch (error) {
        if (warned) return;
        warned = true;
        warn(`audit log: ${entry.action} not recorded, and later entries of this run may not be either (${(error as Error).message}); the deploy goes on`);
      }
    },
  };
}
