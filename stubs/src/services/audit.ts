/**
 * The security audit log: `auth.audit`, append-only (a trigger refuses UPDATE, DELETE and
 * TRUNCATE, whoever asks: the services connect as a superuser, whom REVOKE doesn't bind).
 * Auth records logins, failed and refused logins, logouts, reused refresh tokens, registrations
 * and role changes; each row says who acted, on whom, from which address.
 */
import type { FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { Migration } from '../runtime/migrations.js';
import type { StubContext } from '../runtime/app.js';
import { clientAddress } from './lockout.js';

export const AUDIT_MIGRATION: Migration = {
  id: 2,
  name: 'audit',
  sql: `
    CREATE TABLE IF NOT EXISTS auth.audit (
      id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), action text NOT NULL,
      actor text, subject text, address text, detail jsonb NOT NULL DEFAULT '{}'::jsonb);
    CREATE OR REPLACE FUNCTION auth.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'auth.audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege'; END $$;
    CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON auth.audit FOR EACH ROW EXECUTE FUNCTION auth.audit_append_only();
    CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON auth.audit FOR EACH STATEMENT EXECUTE FUNCTION auth.audit_append_only();
    REVOKE UPDATE, DELETE, TRUNCATE ON auth.audit FROM PUBLIC;`,
};

export type AuditAction = 'register' | 'login' | 'login-failed' | 'login-locked' | 'logout' | 'refresh-reused' | 'role-change';

export interface AuditEntry {
  readonly action: AuditAction;
  /** Who acted (a user id), when known. */
  readonly actor?: string;
  /** Whom or what it was about (an email). */
  readonly subject?: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** Append one row in the caller's transaction (a change and its record commit together). */
export async function insertAudit(client: Pick<pg.PoolClient, 'query'>, request: FastifyRequest, entry: AuditEntry): Promise<void> {
  await client.query('INSERT INTO auth.audit (action, actor, subject, address, detail) VALUES ($1, $2, $3, $4, $5)', [
    entry.action,
    entry.actor ?? null,
    entry.subject ?? null,
    clientAddress(request),
    JSON.stringify(entry.detail ?? {}),
  ]);
}

/** Append one row. A request whose audit row can't be written fails: no unrecorded security event. */
export async function recordAudit(context: StubContext, request: FastifyRequest, entry: AuditEntry): Promise<void> {
  await context.db!.write(undefined, (client) => insertAudit(client, request, entry));
}
