/**
 * The platform's audit log (`audit.events`) as the runners see it, pure: what `make audit`
 * accepts and the query it runs, the table it prints, and the rows the deploy runner appends.
 * Every value reaches psql as a variable (`-v name=value`, quoted by psql as `:'name'`): the
 * SQL here is fixed text, never built from what was typed.
 */
import { AuditInputError, formatDuration, suggest } from '../errors.js';
import { formatColumns } from '../backup/format.js';

/** The table, in the schema the admin one-shot creates at `make up` (no service owns it). */
export const AUDIT_TABLE = 'audit.events';

/** Who writes to it: the services (the trigger names them after their role) and the deploy runner. */
export const AUDIT_SERVICES = ['auth', 'ivor', 'events', 'newsroom', 'deploy'] as const;

export type AuditOutcome = 'ok' | 'denied' | 'failed';

/** One row as `make audit` reads it (`at` in UTC, ISO 8601). */
export interface AuditRow {
  readonly id: number;
  readonly at: string;
  readonly service: string;
  readonly action: string;
  readonly actor: string | null;
  readonly subject: string | null;
  readonly address: string | null;
  readonly outcome: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** What `make audit` was given, as typed (each field optional). */
export interface AuditQueryInput {
  readonly limit?: string;
  readonly service?: string;
  readonly action?: string;
  readonly since?: string;
  readonly format?: string;
}

export interface AuditQuery {
  /** The newest N rows. @default 50 */
  readonly limit: number;
  /** Only this service's rows. @default every service */
  readonly service?: string;
  /** Only actions starting with this (`event.` for every event change). @default every action */
  readonly action?: string;
  /** Only rows at or after this moment (ISO 8601, UTC). @default no lower bound */
  readonly since?: string;
  /** @default 'table' */
  readonly format: 'table' | 'json';
}

export const DEFAULT_AUDIT_LIMIT = 50;
const MAX_LIMIT = 10_000;
const UNITS_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `YYYY-MM-DD` names a real day (Date.parse takes 2026-02-30 for 2 March). */
function isCalendarDate(day: string): boolean {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, date)).toISOString().slice(0, 10) === day;
}

/** `1h`, `30m`, `2d`, `45s` ago, or an ISO 8601 time; the moment as ISO (UTC), or a problem. */
export function parseSince(text: string, now: Date): string | { readonly problem: string } {
  const relative = /^(\d{1,6})([smhd])$/.exec(text);
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNITS_MS[relative[2] as keyof typeof UNITS_MS]).toISOString();
  const iso = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(text) && isCalendarDate(text.slice(0, 10)) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(iso)) return { problem: `SINCE: "${text}" is neither a time ago (e.g. 30m, 1h, 2d) nor an ISO 8601 time (e.g. 2026-11-28T09:00:00Z)` };
  if (iso > now.getTime()) return { problem: `SINCE: ${new Date(iso).toISOString()} is in the future` };
  return new Date(iso).toISOString();
}

/** Check every field at once; bad input throws `AuditInputError` listing each problem by its variable. */
export function parseAuditQuery(input: AuditQueryInput, now: Date): AuditQuery {
  const problems: string[] = [];
  let limit = DEFAULT_AUDIT_LIMIT;
  if (input.limit !== undefined) {
    limit = /^\d{1,6}$/.test(input.limit) ? Number(input.limit) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) problems.push(`LIMIT: expected a whole number from 1 to ${MAX_LIMIT}, got "${input.limit}"`);
  }
  if (input.service !== undefined && !(AUDIT_SERVICES as readonly string[]).includes(input.service)) {
    const hint = suggest(input.service, AUDIT_SERVICES);
    problems.push(`SERVICE: unknown "${input.service}"${hint ? ` (did you mean "${hint}"?)` : ''}; one of ${AUDIT_SERVICES.join(', ')}`);
  }
  if (input.action !== undefined && !/^[a-z][a-z0-9.-]{0,59}$/.test(input.action)) {
    problems.push(`ACTION: "${input.action}" is not an action prefix (lower-case letters, digits, "." and "-", e.g. event. or deploy.start)`);
  }
  const since = input.since === undefined ? undefined : parseSince(input.since, now);
  if (typeof since === 'object') problems.push(since.problem);
  const format = input.format ?? 'table';
  if (format !== 'table' && format !== 'json') problems.push(`FORMAT: expected table or json, got "${format}"`);
  if (problems.length) throw new AuditInputError(problems);
  return {
    limit,
    ...(input.service !== undefined ? { service: input.service } : {}),
    ...(input.action !== undefined ? { action: input.action } : {}),
    ...(typeof since === 'string' ? { since } : {}),
    format: format as AuditQuery['format'],
  };
}

/** SQL for psql's standard input, and the variables it reads (`-v name=value`). */
export interface PsqlScript {
  readonly sql: string;
  readonly variables: readonly (readonly [name: string, value: string])[];
}

/**
 * The query: the newest `limit` rows that pass the filters, oldest first, as one JSON array
 * (one line for psql to print, whatever the rows hold). A filter's condition is there only when
 * the filter is, so each variable it reads is always set.
 */
export function auditSelect(query: AuditQuery): PsqlScript {
  const conditions = [
    ...(query.service !== undefined ? ["service = :'service'"] : []),
    ...(query.action !== undefined ? ["starts_with(action, :'action')"] : []),
    ...(query.since !== undefined ? ["at >= (:'since')::timestamptz"] : []),
  ];
  const sql = [
    `SELECT coalesce(json_agg(row_to_json(picked) ORDER BY picked.at, picked.id), '[]'::json) FROM (`,
    `  SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, service, action, actor, subject, address, outcome, detail`,
    `    FROM ${AUDIT_TABLE}${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''}`,
    `   ORDER BY events.at DESC, id DESC LIMIT (:'limit')::int) picked;`,
  ].join('\n');
  const variables: [string, string][] = [['limit', String(query.limit)]];
  if (query.service !== undefined) variables.push(['service', query.service]);
  if (query.action !== undefined) variables.push(['action', query.action]);
  if (query.since !== undefined) variables.push(['since', query.since]);
  return { sql: `${sql}\n`, variables };
}

/** psql's answer to `auditSelect`: the rows, or a message saying what it printed instead. */
export function parseAuditRows(stdout: string): AuditRow[] {
  const text = stdout.trim();
  try {
    const rows: unknown = JSON.parse(text);
    if (Array.isArray(rows)) return rows as AuditRow[];
  } catch {
    // Not JSON: reported below with what came instead.
  }
  throw new Error(`expected one JSON array of audit rows from psql, got: ${text.slice(0, 200) || 'nothing'}`);
}

const HEADER = ['AT (UTC)', 'SERVICE', 'ACTION', 'ACTOR', 'SUBJECT', 'ADDRESS', 'OUTCOME'];
/** Long ids and emails are cut: the JSON format has them whole. */
const MAX_CELL = 40;
const cell = (value: string | null): string => (value === null || value === '' ? '-' : value.length > MAX_CELL ? `${value.slice(0, MAX_CELL - 1)}…` : value);

/** The rows as `make audit` prints them (oldest first); an empty log says so and what filters applied. */
export function formatAuditTable(rows: readonly AuditRow[], query: AuditQuery): string {
  if (rows.length === 0) {
    const filters = [query.service && `SERVICE=${query.service}`, query.action && `ACTION=${query.action}`, query.since && `SINCE=${query.since}`].filter(Boolean);
    return `no audit entries${filters.length ? ` for ${filters.join(' ')}` : ''}`;
  }
  const at = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z');
  return formatColumns([HEADER, ...rows.map((row) => [at(row.at), row.service, row.action, cell(row.actor), cell(row.subject), cell(row.address), row.outcome])]);
}

/** A row the deploy runner appends (`service` is always `deploy`; there is no client address). */
export interface DeployAuditEntry {
  /** `contract.run`: a `make contract` run (its subject the service and image; passed or failed clauses in detail). */
  readonly action: 'deploy.start' | 'deploy.finish' | 'deploy.rollback' | 'contract.run';
  /** The operator: the OS user who ran the command. */
  readonly actor: string;
  /** The version the entry is about. */
  readonly subject: string;
  readonly outcome: AuditOutcome;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** The INSERT for one deploy entry; `service` is set here (the admin may), not by the trigger. */
export function deployInsert(entry: DeployAuditEntry): PsqlScript {
  return {
    sql: `INSERT INTO ${AUDIT_TABLE} (service, action, actor, subject, address, outcome, detail) VALUES ('deploy', :'action', NULLIF(:'actor', ''), NULLIF(:'subject', ''), NULL, :'outcome', (:'detail')::jsonb);\n`,
    variables: [
      ['action', entry.action],
      ['actor', entry.actor],
      ['subject', entry.subject],
      ['outcome', entry.outcome],
      ['detail', JSON.stringify(entry.detail)],
    ],
  };
}

/** How the canary judged a finished deploy, in words. */
export function canaryVerdict(result: 'promoted' | 'rolled-back', failedGate?: string, reasons: readonly string[] = []): string {
  if (result === 'promoted') return 'passed';
  if (failedGate?.startsWith('canary')) return `failed at ${failedGate}: ${reasons.join('; ')}`;
  return `not reached (${failedGate ?? 'an earlier gate'} failed)`;
}

/** `12.3s` and the exact milliseconds, for people and for tools. */
export const durationDetail = (ms: number) => ({ durationMs: Math.round(ms), duration: formatDuration(ms) });
