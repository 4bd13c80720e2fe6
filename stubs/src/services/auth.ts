/**
 * Auth: register and login, short-lived JWTs (EdDSA: only auth holds the private keys, the
 * APIs verify with the public ones, runtime/keys.ts) plus rotating refresh tokens, sessions in Redis, roles member < editor < admin, and
 * the `/verify` endpoint Traefik's forwardAuth calls on admin routes. Security events go to
 * the platform's append-only `audit.events` table (audit.ts); failed logins back off (lockout.ts).
 */
import { ensureSchema } from '../runtime/migrations.js';
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, ROLES, parseInput, type Role, type StubContext, type StubDefinition } from '../runtime/app.js';
import { createCache } from '../runtime/cache.js';
import { createDatabase } from '../runtime/database.js';
import { acceptCookieToken, endSession, sessionKey, type SessionRecord } from '../runtime/sessions.js';
import { AUDIT_MIGRATION, auditRefusals, insertAudit, recordAudit } from './audit.js';
import { loginGuard } from './lockout.js';
import { checkPassword, dummyHash, hashPassword, needsRehash, SCRYPT_COST, type ScryptCost } from './passwords.js';

export const authMigrations = [
  {
    id: 1,
    name: 'users',
    sql: `
      ${ensureSchema('auth')}
      CREATE TABLE IF NOT EXISTS auth.users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text NOT NULL UNIQUE, display_name text NOT NULL,
        password_hash text NOT NULL, role text NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'editor', 'admin')),
        created_at timestamptz NOT NULL DEFAULT now());`,
  },
  AUDIT_MIGRATION,
] as const;

const Email = z.email('an email address').max(200).transform((email) => email.toLowerCase());
const Credentials = z.object({ email: Email, password: z.string().min(1, 'must not be empty').max(200) }).strict();
const Registration = z
  .object({
    email: Email,
    password: z.string().min(10, 'at least 10 characters').max(200, 'at most 200 characters'),
    displayName: z.string().trim().min(1).max(80).optional(),
  })
  .strict();

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

/** A new access token and refresh token for `user` in session `sessionId`, and the session record that goes with them. */
async function mintTokens(context: StubContext, user: { id: string; email: string; role: Role }, sessionId: string) {
  const { settings } = context;
  const accessToken = await context.signToken!({ role: user.role, email: user.email, sid: sessionId }, user.id, settings.accessTokenTtlSeconds);
  const secret = randomBytes(32).toString('base64url');
  const session: SessionRecord = { userId: user.id, email: user.email, role: user.role, refreshHash: sha256(secret) };
  const body = {
    tokenType: 'Bearer',
    accessToken,
    expiresIn: settings.accessTokenTtlSeconds,
    refreshToken: `${sessionId}.${secret}`,
    user: { id: user.id, email: user.email, role: user.role },
  };
  return { body, session };
}

const REFRESH_REUSED = 'refresh token already used: the session has been revoked, log in again';

export interface AuthOptions {
  /** The scrypt cost new hashes get (tests pass a cheap one). @default SCRYPT_COST */
  readonly passwordCost?: ScryptCost;
}

export function createAuth(options: AuthOptions = {}): StubDefinition {
  const cost = options.passwordCost ?? SCRYPT_COST;
  return {
    clients: { database: createDatabase, cache: createCache },
    migrations: authMigrations,
    requires: ['postgres-primary', 'redis'],
    async businessCheck(context) {
      // A real token round trip: sign, then verify it the way the APIs do.
      const probe = { id: randomUUID(), email: 'health@parity.invalid', role: 'member' as Role };
      const token = await context.signToken!({ role: probe.role, sid: 'health' }, probe.id, 10);
      const user = await context.verifyToken(token);
      if (user?.id !== probe.id) throw new Error('a freshly signed token did not verify with the public keys');
      const users = await context.db!.read<{ n: number }>(undefined, 'SELECT count(*)::int AS n FROM auth.users');
      return { tokenRoundTrip: true, signingKey: decodeProtectedHeader(token).kid, users: users.rows[0]!.n };
    },
    async afterMigrations(context) {
      const admin = context.settings.admin;
      if (!admin) return;
      const hash = await hashPassword(admin.password, cost);
      await context.db!.write(undefined, (client) =>
        client.query(
          `INSERT INTO auth.users (email, display_name, password_hash, role) VALUES ($1, 'Administrator', $2, 'admin')
             ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, role = 'admin'`,
          [admin.email, hash],
        ),
      );
    },
    routes(app, context) {
      const db = context.db!;
      const cache = context.cache!;
      auditRefusals(app, context);

      app.post('/auth/register', async (request, reply) => {
        const input = parseInput(Registration, request.body, 'body');
        const hash = await hashPassword(input.password, cost);
        const user = await db
          .write(undefined, async (client) =>
            (
              await client.query<{ id: string; email: string; role: Role }>(
                'INSERT INTO auth.users (email, display_name, password_hash) VALUES ($1, $2, $3) RETURNING id, email, role',
                [input.email, input.displayName ?? input.email.split('@')[0], hash],
              )
            ).rows[0]!,
          )
          .catch((error: unknown) => {
            if ((error as { code?: string }).code === '23505') throw new HttpError(409, 'body.email: already registered', 'body.email');
            throw error;
          });
        await recordAudit(context, request, { action: 'register', actor: user.id, subject: user.email });
        return reply.code(201).send(user);
      });

      app.post('/auth/login', async (request, reply) => {
        const input = parseInput(Credentials, request.body, 'body');
        const guard = loginGuard(context, request, input.email);
        await guard.refuseIfLocked().catch(async (error: unknown) => {
          await recordAudit(context, request, { action: 'login-locked', subject: input.email, outcome: 'denied' });
          throw error;
        });
        // Logins read the primary: a user who just registered must be able to log in at once.
        const found = await db.primaryBreaker.call('query', () =>
          db.primary.query<{ id: string; email: string; role: Role; password_hash: string }>('SELECT id, email, role, password_hash FROM auth.users WHERE email = $1', [input.email]),
        );
        const user = found.rows[0];
        // Unknown emails pay for a hash too, so timing doesn't tell which accounts exist.
        const matches = await checkPassword(input.password, user?.password_hash ?? dummyHash(cost));
        if (!user || !matches) {
          await guard.recordFailure();
          await recordAudit(context, request, { action: 'login-failed', subject: input.email, outcome: 'failed', detail: { knownEmail: Boolean(user) } });
          throw new HttpError(401, 'email or password is wrong');
        }
        await guard.recordSuccess();
        await recordAudit(context, request, { action: 'login', actor: user.id, subject: user.email });
        if (needsRehash(user.password_hash, cost)) {
          // Made at an older cost: the password is at hand now, so store it at today's.
          const upgraded = await hashPassword(input.password, cost);
          await db.write(user.id, (client) => client.query('UPDATE auth.users SET password_hash = $2 WHERE id = $1', [user.id, upgraded]));
        }
        const sessionId = randomUUID();
        const { body, session } = await mintTokens(context, user, sessionId);
        await cache.set(sessionKey(sessionId), JSON.stringify(session), context.settings.refreshTokenTtlSeconds);
        return reply.send(body);
      });

      app.post('/auth/refresh', async (request, reply) => {
        const { refreshToken } = parseInput(z.object({ refreshToken: z.string().regex(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{20,}$/, 'a refresh token from /auth/login') }).strict(), request.body, 'body');
        const [sessionId, secret] = refreshToken.split('.') as [string, string];
        const raw = await cache.get(sessionKey(sessionId));
        if (!raw) throw new HttpError(401, 'refresh token expired or revoked: log in again');
        const session = JSON.parse(raw) as SessionRecord;
        const presented = sha256(secret);
        if (session.refreshHash !== presented) {
          // A rotated-out token came back: someone holds a copy. End the session for both.
          await endSession(cache, sessionId, context.settings.accessTokenTtlSeconds);
          await recordAudit(context, request, { action: 'refresh-reused', actor: session.userId, subject: session.email, outcome: 'denied', detail: { sessionId } });
          throw new HttpError(401, REFRESH_REUSED);
        }
        const current = await db.read<{ role: Role; email: string }>(session.userId, 'SELECT role, email FROM auth.users WHERE id = $1', [session.userId]);
        if (!current.rows[0]) throw new HttpError(401, 'the account no longer exists');
        const next = await mintTokens(context, { id: session.userId, email: current.rows[0].email, role: current.rows[0].role }, sessionId);
        // The check above and this swap are apart: two requests with one token may both pass the
        // check. The swap is atomic (a Lua script) and only succeeds for the hash it was given, so
        // exactly one wins; the other finds the hash changed, which is reuse: the session ends.
        const outcome = await cache.replaceIfField(sessionKey(sessionId), 'refreshHash', presented, JSON.stringify(next.session), context.settings.refreshTokenTtlSeconds);
        if (outcome === 'missing') throw new HttpError(401, 'refresh token expired or revoked: log in again');
        if (outcome === 'mismatch') {
          await endSession(cache, sessionId, context.settings.accessTokenTtlSeconds);
          await recordAudit(context, request, { action: 'refresh-reused', actor: session.userId, subject: session.email, outcome: 'denied', detail: { sessionId, concurrent: true } });
          throw new HttpError(401, REFRESH_REUSED);
        }
        return reply.send(next.body);
      });

      app.post('/auth/logout', async (request, reply) => {
        const user = await context.requireUser(request);
        await endSession(cache, user.sessionId, context.settings.accessTokenTtlSeconds);
        await recordAudit(context, request, { action: 'logout', actor: user.id, subject: user.email });
        return reply.code(204).send();
      });

      app.get('/auth/me', async (request, reply) => {
        const user = await context.requireUser(request);
        return reply.send({ id: user.id, email: user.email, role: user.role });
      });

      app.put('/auth/users/:email/role', async (request, reply) => {
        const admin = await context.requireUser(request, 'admin');
        const { email } = parseInput(z.object({ email: Email }), request.params, 'params');
        const { role } = parseInput(z.object({ role: z.enum(ROLES) }).strict(), request.body, 'body');
        const updated = await db.write(admin.id, async (client) => {
          const count = (await client.query('UPDATE auth.users SET role = $2 WHERE email = $1', [email, role])).rowCount;
          if (count) await insertAudit(client, request, { action: 'role-change', actor: admin.id, subject: email, detail: { role } });
          return count;
        });
        if (!updated) throw new HttpError(404, `params.email: no user ${email}`, 'params.email');
        return reply.send({ email, role, note: 'takes effect at the next login or refresh' });
      });

      // forwardAuth: 200 with the user's identity, 401 without a valid token or session, 403
      // without the role. Traefik sends the guarded request's method: with Redis away a read is
      // let through on the token alone, a write is refused (503), as on every API.
      const verify = async (request: FastifyRequest, reply: FastifyReply) => {
        const { role } = parseInput(z.object({ role: z.enum(ROLES).optional() }), request.query, 'query');
        acceptCookieToken(request);
        const forwarded = request.headers['x-forwarded-method'];
        const user = await context.requireUser(request, role, typeof forwarded === 'string' && forwarded ? forwarded : request.method);
        reply.header('x-auth-user', user.email || user.id).header('x-auth-role', user.role);
        return reply.code(200).send({ user: user.id, role: user.role, degraded: context.isStateless(request) });
      };
      app.get('/verify', verify);
      app.get('/auth/verify', verify);
    },
  };
}

export const auth = createAuth();
