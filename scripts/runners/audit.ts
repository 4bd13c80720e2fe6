/**
 * The audit log from the host: `make audit` reads it, the deploy runner appends its deploys and
 * rollbacks. Both go through psql on the writer (writer-psql.ts) as the admin: the apps may only
 * INSERT, reading is for operators.
 */
import { userInfo } from 'node:os';
import { auditSelect, deployInsert, formatAuditTable, parseAuditRows, type AuditQuery, type AuditRow, type DeployAuditEntry } from '../../services/audit/log.js';
import type { ParityConfig } from '../../services/config/schema.js';
import { AuditError } from '../../services/errors.js';
import type { ComposeTarget } from './stack.js';
import { psqlOnWriter } from './writer-psql.js';

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
