/**
 * The audit log on a real Postgres labelled as a compose project's `postgres-primary`
 * (`postgres.ha: streaming`): what `make audit` and the deploy runner do through `docker exec …
 * psql` before the table exists and after (made by the stack's own roles.sql, as db-init runs
 * it), and the stubs' INSERT as an app role that may not read the table back.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import pg from 'pg';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployStartEntry } from '../../services/audit/deploy.js';
import { parseAuditQuery } from '../../services/audit/log.js';
import { DEFAULT_CONFIG, type ParityConfig } from '../../services/config/schema.js';
import { AuditLogMissingError, StackNotUpError } from '../../services/errors.js';
import { DATABASE } from '../../services/topology/common.js';
import { DB_ROLE_SECRETS, dbPasswordSecret, rolesSql } from '../../services/topology/database-roles.js';
import { createDeployAudit, operatorName, readAuditLog } from '../../scripts/runners/clients/audit.js';
import { run } from '../../scripts/runners/core/exec.js';
import { insertAudit } from '../../stubs/src/services/audit.js';
import { imageRef } from './helpers.js';

const project = `parity-audit-${process.pid}`;
const target = { project, composeDir: '/nonexistent', stateDir: '/nonexistent' };
const config: ParityConfig = { ...DEFAULT_CONFIG, postgres: { ...DEFAULT_CONFIG.postgres, ha: 'streaming' } };
const rolePasswords = Object.fromEntries(DB_ROLE_SECRETS.map((secret) => [secret, randomBytes(12).toString('hex')]));
let database: StartedTestContainer;

const admin = (sql: string) => run(['docker', 'exec', '-i', database.getId(), 'psql', '-h', '/var/run/postgresql', '-U', DATABASE.user, '-d', DATABASE.name, '-X', '-q', '-v', 'ON_ERROR_STOP=1'], { input: sql });
const since = () => parseAuditQuery({ since: '1h' }, new Date()).since!;

beforeAll(async () => {
  database = await new GenericContainer(imageRef('postgres'))
    .withLabels({ 'com.docker.compose.project': project, 'com.docker.compose.service': 'postgres-primary', 'com.docker.compose.oneoff': 'False' })
    .withEnvironment({ POSTGRES_USER: DATABASE.user, POSTGRES_DB: DATABASE.name, POSTGRES_PASSWORD: randomBytes(12).toString('hex') })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
});

afterAll(async () => {
  await database?.stop({ remove: true, removeVolumes: true });
});

describe('the audit log through psql on the writer', () => {
  it('GIVEN a stack without the audit table THEN make audit says so (exit 2) and a deploy hears it once and goes on', async () => {
    const query = parseAuditQuery({}, new Date());
    const error = await readAuditLog(target, config, query).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuditLogMissingError);
    expect((error as AuditLogMissingError).exitCode).toBe(2);
    expect((error as Error).message).toBe('the audit table audit.events does not exist in platform on postgres-primary: a stack from before it existed (make up creates it)');
    const warnings: string[] = [];
    const audit = createDeployAudit(target, config);
    const sides = { from: { color: 'blue' as const, version: '1.0.0' }, to: { color: 'green' as const, version: '2.0.0' }, services: ['events-green'] };
    await audit.record(deployStartEntry(sides), (message) => warnings.push(message));
    await audit.record(deployStartEntry(sides), (message) => warnings.push(message));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^audit log: deploy\.start not recorded, .*\(the audit table audit\.events does not exist/);
  });

  it('GIVEN no writer in the project THEN the stack is not up (exit 2)', async () => {
    const error = await readAuditLog({ ...target, project: `${project}-none` }, config, parseAuditQuery({}, new Date())).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StackNotUpError);
    expect((error as Error).message).toBe(`postgres-primary is not running in project ${project}-none: is the stack up? (make up)`);
  });

  it('GIVEN the table THEN a stub appends as its role without reading, the deploy as the admin, and make audit reads both, filtered', async () => {
    // What db-init does on `make up`: the roles, their passwords from the secret files, the audit table.
    await database.copyContentToContainer([
      { content: rolesSql(), target: '/parity/roles.sql', mode: 0o644 },
      ...DB_ROLE_SECRETS.map((secret) => ({ content: rolePasswords[secret]!, target: `/run/secrets/${secret}`, mode: 0o644 })),
    ]);
    await run(['docker', 'exec', database.getId(), 'psql', '-h', '/var/run/postgresql', '-U', DATABASE.user, '-d', DATABASE.name, '-X', '-q', '-f', '/parity/roles.sql']);

    const app = new pg.Client({ host: database.getHost(), port: database.getMappedPort(5432), user: 'app_events', password: rolePasswords[dbPasswordSecret('events')]!, database: DATABASE.name });
    await app.connect();
    try {
      const request = { headers: { 'x-forwarded-for': '203.0.113.5' }, ip: '10.0.0.1' } as unknown as FastifyRequest;
      await app.query('BEGIN');
      await insertAudit(app, request, { action: 'event.delete', actor: 'editor-id', subject: 'event-1' });
      await app.query('COMMIT');
      await expect(app.query('SELECT * FROM audit.events')).rejects.toThrow('permission denied for table events');
    } finally {
      await app.end();
    }

    const warnings: string[] = [];
    const version = "2.0.0'; DROP TABLE audit.events; --";
    await createDeployAudit(target, config).record(deployStartEntry({ from: { color: 'blue', version: '1.0.0' }, to: { color: 'green', version }, services: ['events-green'] }), (message) => warnings.push(message));
    expect(warnings).toEqual([]);

    const all = await readAuditLog(target, config, parseAuditQuery({}, new Date()));
    expect(all.map((row) => [row.service, row.action, row.actor, row.subject, row.address, row.outcome])).toEqual([
      ['events', 'event.delete', 'editor-id', 'event-1', '203.0.113.5', 'ok'],
      ['deploy', 'deploy.start', operatorName(), version, null, 'ok'],
    ]);
    expect(all[1]!.detail).toMatchObject({ to: { color: 'green', version } });
    expect(all[0]!.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    const events = await readAuditLog(target, config, { limit: 50, service: 'events', action: 'event.', since: since(), format: 'table' });
    expect(events.map((row) => row.action)).toEqual(['event.delete']);
    const newest = await readAuditLog(target, config, { limit: 1, format: 'table' });
    expect(newest.map((row) => row.action)).toEqual(['deploy.start']);
    expect(await readAuditLog(target, config, { limit: 50, action: "event.'x", format: 'table' })).toEqual([]);
  });

  it('GIVEN rows THEN UPDATE, DELETE and TRUNCATE are refused, the admin included', async () => {
    for (const statement of ["UPDATE audit.events SET action = 'x';", 'DELETE FROM audit.events;', 'TRUNCATE audit.events;']) {
      await expect(admin(statement), statement).rejects.toThrow(/audit\.events is append-only: (UPDATE|DELETE|TRUNCATE) refused/);
    }
  });
});
