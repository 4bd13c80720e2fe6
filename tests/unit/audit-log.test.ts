/**
 * The audit log from the host, without a database: what `make audit` accepts (and the exact
 * words for what it refuses), the SQL and psql variables it runs, the table it prints, the
 * deploy runner's entries, and its promise to warn once and go on when the log can't be written.
 */
import { runCliSync } from '../cli.js';
import { describe, expect, it } from 'vitest';
import { deployFinishEntry, deployStartEntry, rollbackEntry } from '../../services/audit/deploy.js';
import { auditSelect, canaryVerdict, deployInsert, formatAuditTable, parseAuditQuery, parseAuditRows, parseSince, type AuditRow } from '../../services/audit/log.js';
import { AuditInputError, AuditLogMissingError } from '../../services/errors.js';
import { createDeployAudit } from '../../scripts/runners/clients/audit.js';
import { isMissingAuditTable } from '../../scripts/runners/clients/audit.js';
import { psqlArgv } from '../../scripts/runners/clients/postgres.js';

const NOW = new Date('2026-11-28T12:00:00Z');
const problemsOf = (input: Parameters<typeof parseAuditQuery>[0]): readonly string[] => {
  try {
    parseAuditQuery(input, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(AuditInputError);
    expect((error as AuditInputError).exitCode).toBe(2);
    return (error as AuditInputError).problems;
  }
  return [];
};

describe('make audit: input', () => {
  it('GIVEN nothing THEN the newest 50 of every service, as a table', () => {
    expect(parseAuditQuery({}, NOW)).toEqual({ limit: 50, format: 'table' });
  });

  it('GIVEN every filter THEN each is kept; SINCE as a time ago becomes a UTC moment', () => {
    expect(parseAuditQuery({ limit: '5', service: 'events', action: 'event.', since: '90m', format: 'json' }, NOW)).toEqual({
      limit: 5,
      service: 'events',
      action: 'event.',
      since: '2026-11-28T10:30:00.000Z',
      format: 'json',
    });
  });

  it('GIVEN SINCE as seconds, hours, days or an ISO time (with or without an offset) THEN the moment in UTC', () => {
    expect(['45s', '1h', '2d', '2026-11-27', '2026-11-28T09:00:00Z', '2026-11-28T10:00:00+01:00'].map((since) => parseSince(since, NOW))).toEqual([
      '2026-11-28T11:59:15.000Z',
      '2026-11-28T11:00:00.000Z',
      '2026-11-26T12:00:00.000Z',
      '2026-11-27T00:00:00.000Z',
      '2026-11-28T09:00:00.000Z',
      '2026-11-28T09:00:00.000Z',
    ]);
  });

  it('GIVEN bad values THEN every problem at once, each naming its variable (exit 2)', () => {
    expect(problemsOf({ limit: '0', service: 'evnts', action: 'Event', since: 'yesterday', format: 'csv' })).toEqual([
      'LIMIT: expected a whole number from 1 to 10000, got "0"',
      'SERVICE: unknown "evnts" (did you mean "events"?); one of auth, ivor, events, newsroom, deploy',
      'ACTION: "Event" is not an action prefix (lower-case letters, digits, "." and "-", e.g. event. or deploy.start)',
      'SINCE: "yesterday" is neither a time ago (e.g. 30m, 1h, 2d) nor an ISO 8601 time (e.g. 2026-11-28T09:00:00Z)',
      'FORMAT: expected table or json, got "csv"',
    ]);
    expect(problemsOf({ limit: '20000' })).toEqual(['LIMIT: expected a whole number from 1 to 10000, got "20000"']);
    expect(problemsOf({ limit: '1.5' })).toEqual(['LIMIT: expected a whole number from 1 to 10000, got "1.5"']);
    expect(problemsOf({ since: '2026-12-01T00:00:00Z' })).toEqual(['SINCE: 2026-12-01T00:00:00.000Z is in the future']);
    expect(problemsOf({ since: '2026-02-30' })).toEqual(['SINCE: "2026-02-30" is neither a time ago (e.g. 30m, 1h, 2d) nor an ISO 8601 time (e.g. 2026-11-28T09:00:00Z)']);
    expect(problemsOf({ action: "x'; DROP TABLE audit.events; --" })[0]).toMatch(/^ACTION: /);
  });

  it('GIVEN one problem THEN the message is one line; several THEN a list', () => {
    expect(new AuditInputError(['FORMAT: expected table or json, got "csv"']).message).toBe('make audit: FORMAT: expected table or json, got "csv"');
    expect(new AuditInputError(['a', 'b']).message).toBe('make audit: bad input:\n  - a\n  - b');
  });
});

describe('make audit: the query', () => {
  it('GIVEN no filter THEN only the limit is a variable, and the SQL reads no other', () => {
    const script = auditSelect({ limit: 50, format: 'table' });
    expect(script.variables).toEqual([['limit', '50']]);
    expect(script.sql).toBe(
      [
        `SELECT coalesce(json_agg(row_to_json(picked) ORDER BY picked.at, picked.id), '[]'::json) FROM (`,
        `  SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, service, action, actor, subject, address, outcome, detail`,
        `    FROM audit.events`,
        `   ORDER BY events.at DESC, id DESC LIMIT (:'limit')::int) picked;`,
        '',
      ].join('\n'),
    );
  });

  it('GIVEN every filter THEN one condition each, values only as psql variables', () => {
    const script = auditSelect({ limit: 5, service: 'deploy', action: "deploy.'x", since: '2026-11-28T10:30:00.000Z', format: 'json' });
    expect(script.sql).toContain(`FROM audit.events WHERE service = :'service' AND starts_with(action, :'action') AND at >= (:'since')::timestamptz\n`);
    expect(script.sql).not.toContain("deploy.'x");
    expect(script.variables).toEqual([
      ['limit', '5'],
      ['service', 'deploy'],
      ['action', "deploy.'x"],
      ['since', '2026-11-28T10:30:00.000Z'],
    ]);
  });

  it('GIVEN psql\'s answer THEN the rows; anything but a JSON array says what came', () => {
    expect(parseAuditRows('[]\n')).toEqual([]);
    expect(() => parseAuditRows('ERROR: nope')).toThrow('expected one JSON array of audit rows from psql, got: ERROR: nope');
  });

  it("GIVEN psql's error for a stack without the table THEN it is told apart from other failures", () => {
    expect(isMissingAuditTable('psql:<stdin>:4: ERROR:  relation "audit.events" does not exist\nLINE 3: FROM audit.events')).toBe(true);
    expect(isMissingAuditTable('ERROR:  schema "audit" does not exist')).toBe(true);
    expect(isMissingAuditTable('psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed')).toBe(false);
  });
});

describe('psql from the host (clients/postgres.ts)', () => {
  it('GIVEN the docker exec THEN psql on the socket as the admin, stopping at the first error, one -v per variable', () => {
    expect(psqlArgv({ container: 'abc123', connectTimeoutSeconds: 5 }, { sql: 'SELECT 1;', variables: [['limit', '5'], ['action', "a b'c"]] })).toEqual([
      'docker', 'exec', '-i', '-e', 'PGCONNECT_TIMEOUT=5', 'abc123',
      'psql', '-h', '/var/run/postgresql', '-U', 'parity', '-d', 'platform', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
      '-v', 'limit=5', '-v', "action=a b'c",
    ]);
  });

  it('GIVEN a plain query THEN the same psql, the query as -c (nothing on stdin)', () => {
    expect(psqlArgv({ container: 'restore-1', user: 'postgres', database: 'postgres' }, 'SELECT pg_is_in_recovery()')).toEqual([
      'docker', 'exec', '-u', 'postgres', 'restore-1',
      'psql', '-h', '/var/run/postgresql', '-U', 'parity', '-d', 'postgres', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
      '-c', 'SELECT pg_is_in_recovery()',
    ]);
  });
});

describe('make audit: the table', () => {
  const row = (overrides: Partial<AuditRow>): AuditRow => ({
    id: 1,
    at: '2026-11-28T09:15:02.123Z',
    service: 'events',
    action: 'event.delete',
    actor: '0b3c8a3e-1f7d-4a8e-9a63-6c1b2d9e4f10',
    subject: '7f1d6c1e-55a4-4c53-9a55-0c3e6f1b2a10',
    address: '203.0.113.9',
    outcome: 'ok',
    detail: {},
    ...overrides,
  });

  it('GIVEN rows THEN aligned columns in UTC to the second, "-" for what is missing', () => {
    const rows = [row({}), row({ id: 2, at: '2026-11-28T09:20:00.000Z', service: 'deploy', action: 'deploy.finish', actor: 'ops', subject: '2.0.0', address: null, outcome: 'failed' })];
    expect(formatAuditTable(rows, { limit: 50, format: 'table' })).toBe(
      [
        'AT (UTC)              SERVICE  ACTION         ACTOR                                 SUBJECT                               ADDRESS      OUTCOME',
        '2026-11-28T09:15:02Z  events   event.delete   0b3c8a3e-1f7d-4a8e-9a63-6c1b2d9e4f10  7f1d6c1e-55a4-4c53-9a55-0c3e6f1b2a10  203.0.113.9  ok',
        '2026-11-28T09:20:00Z  deploy   deploy.finish  ops                                   2.0.0                                 -            failed',
      ].join('\n'),
    );
  });

  it('GIVEN a subject longer than 40 characters THEN it is cut with an ellipsis (FORMAT=json has it whole)', () => {
    const table = formatAuditTable([row({ subject: `${'a'.repeat(45)}@example.org` })], { limit: 50, format: 'table' });
    expect(table.split('\n')[1]).toContain(`${'a'.repeat(39)}…`);
  });

  it('GIVEN no rows THEN it says so, with the filters that applied', () => {
    expect(formatAuditTable([], { limit: 50, format: 'table' })).toBe('no audit entries');
    expect(formatAuditTable([], { limit: 50, service: 'auth', action: 'login', since: '2026-11-28T11:00:00.000Z', format: 'table' })).toBe(
      'no audit entries for SERVICE=auth ACTION=login SINCE=2026-11-28T11:00:00.000Z',
    );
  });
});

describe('deploy entries', () => {
  const sides = { from: { color: 'blue' as const, version: '1.0.0' }, to: { color: 'green' as const, version: '2.0.0' }, services: ['events-green'] };
  const detail = { services: ['events-green'], from: sides.from, to: sides.to, color: 'green' };

  it('GIVEN a deploy THEN start, finish (ok or failed, with the canary verdict and duration) and the automatic rollback', () => {
    expect(deployStartEntry(sides, { fault: 'error=20%' })).toEqual({ action: 'deploy.start', subject: '2.0.0', outcome: 'ok', detail: { ...detail, fault: 'error=20%' } });
    expect(deployFinishEntry(sides, 'promoted', 95_400)).toEqual({
      action: 'deploy.finish',
      subject: '2.0.0',
      outcome: 'ok',
      detail: { ...detail, result: 'promoted', canary: 'passed', durationMs: 95_400, duration: '1m35s' },
    });
    expect(deployFinishEntry(sides, 'rolled-back', 12_345, 'canary 25 %', ['p95 900 ms > budget 500 ms'])).toMatchObject({
      outcome: 'failed',
      detail: { canary: 'failed at canary 25 %: p95 900 ms > budget 500 ms', failedGate: 'canary 25 %', reasons: ['p95 900 ms > budget 500 ms'], duration: '12.3s' },
    });
    expect(rollbackEntry({ from: sides.to, to: sides.from, services: sides.services }, 800, true, { failedGate: 'L4' })).toEqual({
      action: 'deploy.rollback',
      subject: '1.0.0',
      outcome: 'ok',
      detail: { services: ['events-green'], from: sides.to, to: sides.from, color: 'blue', automatic: true, failedGate: 'L4', durationMs: 800, duration: '800ms' },
    });
  });

  it('GIVEN a gate before the canary failed THEN the canary was not reached', () => {
    expect(canaryVerdict('rolled-back', 'L4', ['smoke'])).toBe('not reached (L4 failed)');
  });

  it("GIVEN an entry THEN an INSERT with service 'deploy', no address, every value a psql variable", () => {
    const script = deployInsert({ ...deployStartEntry(sides), actor: 'ops' });
    expect(script.sql).toBe(
      "INSERT INTO audit.events (service, action, actor, subject, address, outcome, detail) VALUES ('deploy', :'action', NULLIF(:'actor', ''), NULLIF(:'subject', ''), NULL, :'outcome', (:'detail')::jsonb);\n",
    );
    expect(script.variables).toEqual([
      ['action', 'deploy.start'],
      ['actor', 'ops'],
      ['subject', '2.0.0'],
      ['outcome', 'ok'],
      ['detail', JSON.stringify(detail)],
    ]);
  });

  it('GIVEN the log cannot be written THEN the deploy hears it once, and every entry is still tried', async () => {
    const tried: string[] = [];
    const warnings: string[] = [];
    const audit = createDeployAudit({ project: 'p', composeDir: '/x', stateDir: '/x' }, {} as never, async (_target, _config, script) => {
      tried.push(script.variables[0]![1]);
      throw new AuditLogMissingError('the audit table audit.events does not exist in platform on postgres-primary: a stack from before it existed (make up creates it)');
    });
    await audit.record(deployStartEntry(sides), (message) => warnings.push(message));
    await audit.record(deployFinishEntry(sides, 'promoted', 1), (message) => warnings.push(message));
    expect(tried).toEqual(['deploy.start', 'deploy.finish']);
    expect(warnings).toEqual([
      'audit log: deploy.start not recorded, and later entries of this run may not be either (the audit table audit.events does not exist in platform on postgres-primary: a stack from before it existed (make up creates it)); the deploy goes on',
    ]);
  });
});

describe('scripts/audit.ts', () => {
  it('GIVEN bad input THEN exit 2 naming the fields, before any docker call', () => {
    const result = runCliSync('audit.ts', ['--limit', 'x', '--format', 'csv']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('✖ AuditInputError: make audit: bad input:\n  - LIMIT: expected a whole number from 1 to 10000, got "x"\n  - FORMAT: expected table or json, got "csv"');
  });
});
