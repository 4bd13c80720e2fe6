/**
 * The audit log: `audit.events`, one append-only table for the whole platform, in a schema no
 * service owns (the admin one-shot creates it at `make up`; a trigger sets `service` from the
 * session's role and refuses UPDATE, DELETE and TRUNCATE, superuser included). The services may
 * INSERT and nothing else, so no statement here reads it back (no RETURNING).
 *
 * Who writes what: auth its security events (logins, failed and refused logins, logouts, reused
 * refresh tokens, registrations, role changes); the APIs every editor/admin change, in the
 * change's own transaction, and every refused attempt at one (outcome `denied`); the deploy
 * runner its deploys and rollbacks (scripts/runners/clients/audit.ts). Each row says who acted, on
 * what, from which address.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { Migration } from '../runtime/migrations.js';
import { RoleRefusedError, type StubContext } from '../runtime/app.js';
import { clientAddress } from './lockout.js';

/**
 * Legacy: auth's own audit table, written until the platform-wide `audit.events` took over.
 * Nothing writes to it any more; it stays because applied migrations are never edited (its
 * rows remain readable, and append-only, in databases that have it).
 */
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

/** Auth's security events (their names predate the `<noun>.<verb>` ones and stay as they are). */
export type AuthAction = 'register' | 'login' | 'login-failed' | 'login-locked' | 'logout' | 'refresh-reused' | 'role-change';
/** The APIs' editor/admin changes: `<noun>.<verb>`. */
export type ChangeAction = 'event.create' | 'event.update' | 'event.delete' | 'event.image' | 'article.publish' | 'article.attach' | 'category.create';
export type AuditAction = AuthAction | ChangeAction;
export type AuditOutcome = 'ok' | 'denied' | 'failed';

export interface AuditEntry {
  readonly action: AuditAction;
  /** Who acted (a user id), when known. @default null */
  readonly actor?: string;
  /** Whom or what it was about (an email, an event or article id, a category slug). @default null */
  readonly subject?: string;
  /** @default 'ok' */
  readonly outcome?: AuditOutcome;
  /** @default {} */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** No `service` column: the table's trigger fills it from the session's role. */
export const AUDIT_INSERT = 'INSERT INTO audit.events (action, actor, subject, address, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6)';

/** Append one row in the caller's transaction (a change and its record commit together). */
export async function insertAudit(client: Pick<pg.PoolClient, 'query'>, request: FastifyRequest, entry: AuditEntry): Promise<void> {
  await client.query(AUDIT_INSERT, [entry.action, entry.actor ?? null, entry.subject ?? null, clientAddress(request), entry.outcome ?? 'ok', JSON.stringify(entry.detail ?? {})]);
}

/** Append one row. A request whose audit row can't be written fails: no unrecorded security event. */
export async function recordAudit(context: StubContext, request: FastifyRequest, entry: AuditEntry): Promise<void> {
  await context.db!.write(undefined, (client) => insertAudit(client, request, entry));
}

/**
 * The action each editor/admin route of the route table (services/contracts/routes.ts) records,
 * by `METHOD pattern`. A unit test keeps the two in step: a new editor route needs its action here.
 */
export const ROUTE_ACTIONS: Readonly<Record<string, AuditAction>> = {
  'PUT /auth/users/:email/role': 'role-change',
  'POST /api/events': 'event.create',
  'PATCH /api/events/:id': 'event.update',
  'DELETE /api/events/:id': 'event.delete',
  'PUT /api/events/:id/image': 'event.image',
  'POST /api/articles': 'article.publish',
  'PUT /api/articles/:id/attachments/:name': 'article.attach',
  'POST /api/categories': 'category.create',
};

/** The action a route records (undefined: not an audited route). */
export const routeAction = (method: string, pattern: string | undefined): AuditAction | undefined => ROUTE_ACTIONS[`${method.toUpperCase()} ${pattern ?? ''}`];

/** What a refused request was about, as far as its path says: the object's id or email. */
function pathSubject(request: FastifyRequest): string | undefined {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const subject = params.id ?? params.email;
  return typeof subject === 'string' ? subject.slice(0, 200) : undefined;
}

/**
 * Record every refusal of an audited route the service decides itself: a valid token below the
 * route's role (403, outcome `denied`). Anonymous callers (401) are not recorded: there is no
 * actor, and the edge's access log has them. The row is written before the 403 is sent; if it
 * can't be, the 403 goes out anyway (the request changed nothing) and the failure is logged.
 */
export function auditRefusals(app: FastifyInstance, context: StubContext): void {
  app.addHook('onError', async (request, _reply, error) => {
    if (!(error instanceof RoleRefusedError)) return;
    const action = routeAction(request.method, request.routeOptions.url);
    if (!action || !context.db) return;
    const subject = pathSubject(request);
    const entry: AuditEntry = { action, actor: error.user.id, ...(subject ? { subject } : {}), outcome: 'denied', detail: { role: error.user.role, needed: error.needed } };
    await recordAudit(context, request, entry).catch((failure: unknown) => request.log.error({ err: failure, action }, 'audit: the refusal could not be recorded'));
  });
}
