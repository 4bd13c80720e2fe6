/**
 * Auth hardening without containers: session checks on every API (revocation within one
 * request; Redis away: reads on the token alone, writes refused), through Fastify's inject
 * with an in-memory Redis.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader, importJWK, SignJWT, type JWK } from 'jose';
import { ensureSigningKeys, generateSigningKey, publicKeys, rotateSigningKeys } from '../../scripts/runners/stack/signing-keys.js';
import { createSigner, keySource } from '../../stubs/src/runtime/keys.js';
import { afterEach, describe, expect, it } from 'vitest';
import { FALLBACK_HEADER, headerKey, ROUTES } from '../../services/contracts/index.js';
import { ROUTE_ACTIONS } from '../../stubs/src/services/audit.js';
import { createStubApp, type StubDefinition } from '../../stubs/src/runtime/app.js';
import { loadSettings } from '../../stubs/src/runtime/settings.js';
import { auth as realAuth, createAuth } from '../../stubs/src/services/auth.js';
import { checkPassword, hashPassword, needsRehash, SCRYPT_COST } from '../../stubs/src/services/passwords.js';
import { events } from '../../stubs/src/services/events.js';
import { AttachmentName, newsroom } from '../../stubs/src/services/newsroom.js';
import { createBreaker } from '../../stubs/src/runtime/breakers.js';
import { createMetrics } from '../../stubs/src/runtime/metrics.js';
import { isS3ClientError } from '../../stubs/src/runtime/store.js';
import { fakeDatabase, memoryCache, type FakeDatabase, type MemoryCache } from './stubs-fakes.js';

const KEYS = { keys: [await generateSigningKey()] };
const sign = createSigner(keySource(KEYS, { needPrivate: true }));
/** Nothing listens on port 1: every database call fails fast. */
const ENV = { DATABASE_HOST: '127.0.0.1', DATABASE_PORT: '1', DATABASE_PASSWORD: 'x', JWT_SIGNING_KEYS: JSON.stringify(KEYS), JWT_PUBLIC_KEYS: JSON.stringify(publicKeys(KEYS)), REDIS_URL: 'redis://127.0.0.1:1' };

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function appFor(definition: StubDefinition, service: 'auth' | 'events' | 'newsroom', cache: MemoryCache, db?: FakeDatabase, env: Record<string, string> = {}) {
  const clients = { ...definition.clients, cache: () => cache, ...(db ? { database: () => db } : {}) };
  const { app } = createStubApp(loadSettings({ SERVICE: service, ...ENV, ...env }), { ...definition, clients });
  apps.push(app);
  return app;
}

async function login(cache: MemoryCache, role: 'member' | 'editor' | 'admin', sid = `${role}-sid`): Promise<string> {
  await cache.set(`auth:session:${sid}`, JSON.stringify({ userId: `${role}-id`, email: `${role}@example.org`, role, refreshHash: 'x' }), 60);
  return sign({ role, email: `${role}@example.org`, sid }, `${role}-id`, 300);
}

/**
 * Auth with a cheap password cost: the real one takes 128 MiB and up to seconds a hash on a
 * loaded machine. 'password hashes' below checks the real cost and the upgrade to it.
 */
const CHEAP = { N: 2 ** 10, r: 8, p: 1 };
const auth = createAuth({ passwordCost: CHEAP });
const SLOW = { timeout: 60_000 };

const bearer = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });
const EVENT = { title: 'Gathering', startsAt: '2026-12-01T18:00:00Z' };

describe('sessions checked on every API', () => {
  it('GIVEN a logged-out session THEN its still-unexpired token is refused at once by auth and by the APIs (401)', async () => {
    const cache = memoryCache();
    const token = await login(cache, 'editor');
    const authApp = appFor(auth, 'auth', cache, fakeDatabase());
    const eventsApp = appFor(events, 'events', cache);
    expect((await authApp.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) })).json()).toEqual({ id: 'editor-id', email: 'editor@example.org', role: 'editor' });
    expect((await authApp.inject({ method: 'POST', url: '/auth/logout', headers: bearer(token) })).statusCode).toBe(204);
    const ended = { error: 'session ended (logged out or revoked): log in again' };
    for (const response of [
      await authApp.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) }),
      await authApp.inject({ method: 'GET', url: '/verify?role=member', headers: bearer(token) }),
      await eventsApp.inject({ method: 'POST', url: '/api/events', payload: EVENT, headers: bearer(token) }),
    ]) {
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual(ended);
    }
  });

  it('GIVEN a signed token whose session this Redis never saw (a standby region taking over) THEN it is accepted; once denied THEN 401', async () => {
    const cache = memoryCache();
    const token = await sign({ role: 'member', sid: 'from-the-lost-region' }, 'member-id', 300);
    const app = appFor(auth, 'auth', cache);
    expect((await app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) })).statusCode).toBe(200);
    await cache.set('auth:revoked:from-the-lost-region', '1', 300);
    expect((await app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) })).statusCode).toBe(401);
  });

  it('GIVEN Redis away THEN reads are served on the token alone and say auth-stateless; writes get 503 with the reason (forwardAuth judges the forwarded method)', async () => {
    const cache = memoryCache();
    const token = await login(cache, 'editor');
    cache.down = true;
    const authApp = appFor(auth, 'auth', cache);
    const me = await authApp.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) });
    expect(me.statusCode).toBe(200);
    expect(me.headers[headerKey(FALLBACK_HEADER)]).toBe('auth-stateless');
    const read = await authApp.inject({ method: 'GET', url: '/verify?role=editor', headers: bearer(token, { 'x-forwarded-method': 'GET' }) });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({ user: 'editor-id', role: 'editor', degraded: true });
    expect(read.headers[headerKey(FALLBACK_HEADER)]).toBe('auth-stateless');
    expect((await authApp.inject({ method: 'GET', url: '/verify?role=editor', headers: bearer(token) })).statusCode).toBe(200);
    const refused = "sessions can't be checked (redis unavailable): DELETE is refused until it is back; reads still work on the token alone";
    const write = await authApp.inject({ method: 'GET', url: '/verify?role=editor', headers: bearer(token, { 'x-forwarded-method': 'DELETE' }) });
    expect(write.statusCode).toBe(503);
    expect(write.json()).toEqual({ error: refused });
    expect(write.headers['retry-after']).toBe('5');
    // Below the role is 403 whether or not Redis answers.
    expect((await authApp.inject({ method: 'GET', url: '/verify?role=admin', headers: bearer(token, { 'x-forwarded-method': 'POST' }) })).statusCode).toBe(403);

    const eventsApp = appFor(events, 'events', cache);
    const post = await eventsApp.inject({ method: 'POST', url: '/api/events', payload: EVENT, headers: bearer(token) });
    expect(post.statusCode).toBe(503);
    expect(post.json()).toEqual({ error: refused.replace('DELETE', 'POST') });
    const metrics = (await eventsApp.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).not.toContain('fallback_responses_total{fallback="auth-stateless"');
    // A read with a token: the user is taken from the token (the database is away here, so its own fallback follows).
    const list = await eventsApp.inject({ method: 'GET', url: '/api/events', headers: bearer(token) });
    expect(String(list.headers[headerKey(FALLBACK_HEADER)]).split(',')).toContain('auth-stateless');
    expect((await eventsApp.inject({ method: 'GET', url: '/metrics' })).body).toContain('fallback_responses_total{fallback="auth-stateless",service="events"');
  });
});

describe('refresh rotation', SLOW, () => {
  it('GIVEN ten concurrent refreshes of one token THEN exactly one wins; the others are reuse, which ends the session (the winner\'s new tokens too)', async () => {
    const cache = memoryCache();
    const db = fakeDatabase([{ id: 'u1', email: 'ada@example.org', role: 'member', password_hash: await hashPassword('a long enough password', CHEAP) }]);
    const app = appFor(auth, 'auth', cache, db);
    const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'ada@example.org', password: 'a long enough password' } });
    expect(login.statusCode).toBe(200);
    const { refreshToken } = login.json<{ refreshToken: string }>();
    const answers = await Promise.all(Array.from({ length: 10 }, () => app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken } })));
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 401, 401, 401, 401, 401, 401, 401, 401, 401]);
    // The first loser ends the session; later ones may find it gone already.
    const errors = new Set(answers.filter((answer) => answer.statusCode === 401).map((answer) => answer.json<{ error: string }>().error));
    expect(errors).toContain('refresh token already used: the session has been revoked, log in again');
    expect([...errors].every((error) => ['refresh token already used: the session has been revoked, log in again', 'refresh token expired or revoked: log in again'].includes(error))).toBe(true);
    const winner = answers.find((answer) => answer.statusCode === 200)!.json<{ accessToken: string; refreshToken: string }>();
    expect((await app.inject({ method: 'GET', url: '/auth/me', headers: bearer(winner.accessToken) })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: winner.refreshToken } })).statusCode).toBe(401);
  });

  it('GIVEN one refresh at a time THEN each rotates the token and the session lives on', async () => {
    const cache = memoryCache();
    const db = fakeDatabase([{ id: 'u1', email: 'ada@example.org', role: 'member', password_hash: await hashPassword('a long enough password', CHEAP) }]);
    const app = appFor(auth, 'auth', cache, db);
    let { refreshToken, accessToken } = (await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'ada@example.org', password: 'a long enough password' } })).json<{ refreshToken: string; accessToken: string }>();
    for (let round = 0; round < 3; round += 1) {
      const next = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken } });
      expect(next.statusCode).toBe(200);
      ({ refreshToken, accessToken } = next.json<{ refreshToken: string; accessToken: string }>());
    }
    expect((await app.inject({ method: 'GET', url: '/auth/me', headers: bearer(accessToken) })).json()).toEqual({ id: 'u1', email: 'ada@example.org', role: 'member' });
  });
});

describe('password hashes', SLOW, () => {
  const legacyHash = (password: string) => {
    const salt = randomBytes(16);
    return `scrypt$${salt.toString('base64url')}$${scryptSync(password, salt, 32).toString('base64url')}`;
  };

  it("hash at OWASP's scrypt cost with the parameters in the string; older hashes still verify and are marked for an upgrade", async () => {
    expect(SCRYPT_COST).toEqual({ N: 131072, r: 8, p: 1 });
    const hash = await hashPassword('correct horse battery');
    expect(hash).toMatch(/^scrypt\$N=131072,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await checkPassword('correct horse battery', hash)).toBe(true);
    expect(await checkPassword('correct horse battery!', hash)).toBe(false);
    expect(needsRehash(hash)).toBe(false);
    const legacy = legacyHash('correct horse battery');
    expect(await checkPassword('correct horse battery', legacy)).toBe(true);
    expect(needsRehash(legacy)).toBe(true);
  });

  it('a stored hash asking for more than 256 MiB, or malformed, never verifies (and allocates nothing)', async () => {
    expect(await checkPassword('x', 'scrypt$N=1048576,r=8,p=1$c2FsdA$aGFzaA')).toBe(false);
    expect(await checkPassword('x', 'scrypt$N=1000,r=8,p=1$c2FsdA$aGFzaA')).toBe(false);
    expect(await checkPassword('x', 'bcrypt$whatever')).toBe(false);
    expect(await checkPassword('x', 'scrypt$$')).toBe(false);
  });

  it('GIVEN a user with an older hash THEN a good login upgrades it to the current cost', async () => {
    const db = fakeDatabase([{ id: 'u1', email: 'ada@example.org', role: 'member', password_hash: legacyHash('a long enough password') }]);
    const app = appFor(realAuth, 'auth', memoryCache(), db);
    expect((await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'ada@example.org', password: 'a long enough password' } })).statusCode).toBe(200);
    expect(db.users[0]!.password_hash).toMatch(/^scrypt\$N=131072,r=8,p=1\$/);
    expect(await checkPassword('a long enough password', db.users[0]!.password_hash)).toBe(true);
  });
});

describe('login lockout', SLOW, () => {
  const PASSWORD = 'a long enough password';
  const setup = async (env: Record<string, string>) => {
    const db = fakeDatabase([
      { id: 'u1', email: 'ada@example.org', role: 'member', password_hash: await hashPassword(PASSWORD, CHEAP) },
      { id: 'u2', email: 'bob@example.org', role: 'member', password_hash: await hashPassword(PASSWORD, CHEAP) },
    ]);
    const app = appFor(auth, 'auth', memoryCache(), db, env);
    const login = (email: string, password: string, forwardedFor = '203.0.113.7') =>
      app.inject({ method: 'POST', url: '/auth/login', payload: { email, password }, headers: { 'x-forwarded-for': forwardedFor } });
    const metric = async (name: string) => (await app.inject({ method: 'GET', url: '/metrics' })).body.split('\n').filter((line) => line.startsWith(name));
    return { login, metric };
  };

  it('defaults: 5 failures per email, 20 per address, in 15 minutes', () => {
    expect(loadSettings({ SERVICE: 'auth', ...ENV }).lockout).toEqual({ maxFailures: 5, maxFailuresPerAddress: 20, windowSeconds: 900 });
  });

  it('GIVEN the limit of failed logins for one email THEN 429 with Retry-After, even with the right password; other accounts are unaffected; both counted in Prometheus', async () => {
    const { login, metric } = await setup({ LOGIN_MAX_FAILURES: '3' });
    for (let attempt = 0; attempt < 3; attempt += 1) expect((await login('ada@example.org', 'wrong password')).statusCode).toBe(401);
    const locked = await login('ada@example.org', PASSWORD);
    expect(locked.statusCode).toBe(429);
    const seconds = Number(locked.headers['retry-after']);
    expect(seconds).toBeGreaterThan(800);
    expect(seconds).toBeLessThanOrEqual(900);
    expect(locked.json()).toEqual({ error: `too many failed logins for this account: try again in ${seconds} s` });
    expect((await login('bob@example.org', PASSWORD)).statusCode).toBe(200);
    expect(await metric('parity_auth_failed_logins_total')).toEqual([expect.stringMatching(/^parity_auth_failed_logins_total\{service="auth",.*\} 3$/)]);
    expect(await metric('parity_auth_lockouts_total')).toEqual([expect.stringMatching(/^parity_auth_lockouts_total\{by="email",service="auth",.*\} 1$/)]);
  });

  it('GIVEN a good login THEN the email count starts again', async () => {
    const { login } = await setup({ LOGIN_MAX_FAILURES: '3' });
    for (let attempt = 0; attempt < 2; attempt += 1) expect((await login('ada@example.org', 'wrong password')).statusCode).toBe(401);
    expect((await login('ada@example.org', PASSWORD)).statusCode).toBe(200);
    for (let attempt = 0; attempt < 2; attempt += 1) expect((await login('ada@example.org', 'wrong password')).statusCode).toBe(401);
    expect((await login('ada@example.org', PASSWORD)).statusCode).toBe(200);
  });

  it("GIVEN the limit from one address (Traefik's hop: the last X-Forwarded-For entry) THEN that address gets 429 for every account; another address does not", async () => {
    const { login } = await setup({ LOGIN_MAX_FAILURES_PER_IP: '2' });
    // What a client writes into X-Forwarded-For itself comes first; Traefik appends what it saw.
    expect((await login('ada@example.org', 'wrong', 'spoofed-1, 203.0.113.7')).statusCode).toBe(401);
    expect((await login('nobody@example.org', 'wrong', 'spoofed-2, 203.0.113.7')).statusCode).toBe(401);
    const locked = await login('bob@example.org', PASSWORD, 'spoofed-3, 203.0.113.7');
    expect(locked.statusCode).toBe(429);
    expect(locked.json()).toEqual({ error: `too many failed logins from this address: try again in ${String(locked.headers['retry-after'])} s` });
    expect((await login('bob@example.org', PASSWORD, '198.51.100.1')).statusCode).toBe(200);
  });
});

describe('newsroom attachments: names and the S3 breaker', () => {
  it('GIVEN an attachment name of only dots THEN 400 naming the field, before S3 is asked', async () => {
    const app = appFor(newsroom, 'newsroom', memoryCache());
    // '.' and '..' themselves: inject resolves such segments as URL parsing does (a raw HTTP
    // client may send them as they are), so the schema is asked directly.
    expect(['.', '..', 'a.b', '.hidden'].map((name) => AttachmentName.safeParse(name).success)).toEqual([false, false, true, true]);
    for (const name of ['...', '....']) {
      const response = await app.inject({ method: 'GET', url: `/api/articles/3f1c0f56-4f3b-4a55-9d4e-2b1f1c7e9a10/attachments/${name}` });
      expect(response.statusCode, name).toBe(400);
      expect(response.json()).toEqual({ error: 'params.name: not only dots (".", "..")', field: 'params.name', issues: [{ field: 'params.name', message: 'not only dots (".", "..")' }] });
    }
    for (const name of ['a%2Fb', 'a%5Cb', '..%2Fetc']) {
      const response = await app.inject({ method: 'GET', url: `/api/articles/3f1c0f56-4f3b-4a55-9d4e-2b1f1c7e9a10/attachments/${name}` });
      expect(response.statusCode, name).toBe(400);
      expect(response.json().field).toBe('params.name');
    }
  });

  it("GIVEN S3 answering 4xx (NoSuchKey, AccessDenied, InvalidKey) THEN the s3 breaker stays closed; 5xx and timeouts open it", async () => {
    const s3Error = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    expect([s3Error('NoSuchKey', 404), s3Error('AccessDenied', 403), s3Error('InvalidArgument', 400)].map(isS3ClientError)).toEqual([true, true, true]);
    expect([s3Error('InternalError', 500), s3Error('SlowDown', 503), new Error('socket hang up')].map(isS3ClientError)).toEqual([false, false, false]);
    const metrics = createMetrics({ service: 't', color: 't', version: 't' });
    const breaker = createBreaker('s3', { resetMs: 60_000, errorThresholdPercentage: 5, volumeThreshold: 3 }, metrics, { timeoutMs: 200, isClientError: isS3ClientError });
    for (let index = 0; index < 20; index += 1) await breaker.call('get', () => Promise.reject(s3Error('AccessDenied', 403))).catch(() => {});
    expect(breaker.state()).toBe('closed');
    for (let index = 0; index < 3; index += 1) await breaker.call('get', () => Promise.reject(s3Error('InternalError', 500))).catch(() => {});
    expect(breaker.state()).toBe('open');
    breaker.shutdown();
  });
});

describe('audit log', SLOW, () => {
  const auditRows = (db: FakeDatabase) => db.statements.filter((statement) => statement.sql.startsWith('INSERT INTO audit.events'));

  it('GIVEN logins, a failure, a lockout, a role change and a logout THEN each appends an audit.events row with actor, subject, address and outcome', async () => {
    const db = fakeDatabase([
      { id: 'admin-id', email: 'admin@example.org', role: 'admin', password_hash: await hashPassword('the admin password', CHEAP) },
      { id: 'u1', email: 'ada@example.org', role: 'member', password_hash: await hashPassword('a long enough password', CHEAP) },
    ]);
    const app = appFor(auth, 'auth', memoryCache(), db, { LOGIN_MAX_FAILURES: '1' });
    const from = { 'x-forwarded-for': '203.0.113.9' };
    const admin = (await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'admin@example.org', password: 'the admin password' }, headers: from })).json<{ accessToken: string }>();
    expect((await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'ada@example.org', password: 'wrong' }, headers: from })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'ada@example.org', password: 'a long enough password' }, headers: from })).statusCode).toBe(429);
    expect((await app.inject({ method: 'PUT', url: '/auth/users/ada@example.org/role', payload: { role: 'editor' }, headers: bearer(admin.accessToken, from) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(admin.accessToken, from) })).statusCode).toBe(204);
    // No `service` column: the table's trigger sets it from the session's role.
    expect(auditRows(db)[0]!.sql).toBe('INSERT INTO audit.events (action, actor, subject, address, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6)');
    expect(auditRows(db).map((statement) => statement.params)).toEqual([
      ['login', 'admin-id', 'admin@example.org', '203.0.113.9', 'ok', '{}'],
      ['login-failed', null, 'ada@example.org', '203.0.113.9', 'failed', '{"knownEmail":true}'],
      ['login-locked', null, 'ada@example.org', '203.0.113.9', 'denied', '{}'],
      ['role-change', 'admin-id', 'ada@example.org', '203.0.113.9', 'ok', '{"role":"editor"}'],
      ['logout', 'admin-id', 'admin@example.org', '203.0.113.9', 'ok', '{}'],
    ]);
    // The role change and its record: one transaction.
    const roleChange = db.statements.find((statement) => statement.sql.startsWith('UPDATE auth.users SET role'))!;
    expect(auditRows(db)[3]!.transaction).toBe(roleChange.transaction);
    expect(roleChange.transaction).toBeGreaterThan(0);
  });

  it('GIVEN an editor creating, updating and deleting an event THEN each change and its row share one transaction, with the editor as actor and the event as subject', async () => {
    const cache = memoryCache();
    const eventId = '7f1d6c1e-55a4-4c53-9a55-0c3e6f1b2a10';
    const db = fakeDatabase([], (sql) => {
      if (sql.startsWith('INSERT INTO events.events')) return [{ id: eventId }];
      if (sql.startsWith('UPDATE events.events') || sql.startsWith('DELETE FROM events.events')) return [{}];
      return undefined;
    });
    const app = appFor(events, 'events', cache, db);
    const headers = bearer(await login(cache, 'editor'), { 'x-forwarded-for': '198.51.100.7' });
    expect((await app.inject({ method: 'POST', url: '/api/events', payload: EVENT, headers })).statusCode).toBe(201);
    expect((await app.inject({ method: 'PATCH', url: `/api/events/${eventId}`, payload: { title: 'Renamed' }, headers })).statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: `/api/events/${eventId}`, headers })).statusCode).toBe(204);
    expect(auditRows(db).map((statement) => statement.params)).toEqual([
      ['event.create', 'editor-id', eventId, '198.51.100.7', 'ok', JSON.stringify({ title: 'Gathering', startsAt: EVENT.startsAt })],
      ['event.update', 'editor-id', eventId, '198.51.100.7', 'ok', '{"fields":["title"]}'],
      ['event.delete', 'editor-id', eventId, '198.51.100.7', 'ok', '{}'],
    ]);
    const changes = db.statements.filter((statement) => /^(INSERT INTO|UPDATE|DELETE FROM) events\.events/.test(statement.sql));
    expect(auditRows(db).map((statement) => statement.transaction)).toEqual(changes.map((statement) => statement.transaction));
  });

  it('GIVEN a member on editor routes and an editor on an admin route THEN 403 and a denied row naming the caller; anonymous (401) and a missing event (404) add none', async () => {
    const cache = memoryCache();
    const db = fakeDatabase([], (sql) => (sql.startsWith('DELETE FROM events.events') ? [] : undefined));
    const eventsApp = appFor(events, 'events', cache, db);
    const newsroomApp = appFor(newsroom, 'newsroom', cache, db);
    const authApp = appFor(auth, 'auth', cache, db);
    const eventId = '7f1d6c1e-55a4-4c53-9a55-0c3e6f1b2a10';
    const member = bearer(await login(cache, 'member'), { 'x-forwarded-for': '198.51.100.8' });
    const editor = bearer(await login(cache, 'editor'), { 'x-forwarded-for': '198.51.100.9' });
    expect((await eventsApp.inject({ method: 'DELETE', url: `/api/events/${eventId}`, headers: member })).statusCode).toBe(403);
    expect((await newsroomApp.inject({ method: 'POST', url: '/api/articles', payload: {}, headers: member })).statusCode).toBe(403);
    expect((await newsroomApp.inject({ method: 'POST', url: '/api/categories', payload: {}, headers: editor })).statusCode).toBe(403);
    expect((await authApp.inject({ method: 'PUT', url: '/auth/users/ada@example.org/role', payload: { role: 'admin' }, headers: editor })).statusCode).toBe(403);
    expect((await eventsApp.inject({ method: 'DELETE', url: `/api/events/${eventId}` })).statusCode).toBe(401);
    expect((await eventsApp.inject({ method: 'DELETE', url: `/api/events/${eventId}`, headers: editor })).statusCode).toBe(404);
    // A role check that isn't an audited route (forwardAuth) records nothing either.
    expect((await authApp.inject({ method: 'GET', url: '/verify?role=admin', headers: member })).statusCode).toBe(403);
    expect(auditRows(db).map((statement) => statement.params)).toEqual([
      ['event.delete', 'member-id', eventId, '198.51.100.8', 'denied', '{"role":"member","needed":"editor"}'],
      ['article.publish', 'member-id', null, '198.51.100.8', 'denied', '{"role":"member","needed":"editor"}'],
      ['category.create', 'editor-id', null, '198.51.100.9', 'denied', '{"role":"editor","needed":"admin"}'],
      ['role-change', 'editor-id', 'ada@example.org', '198.51.100.9', 'denied', '{"role":"editor","needed":"admin"}'],
    ]);
  });

  it('GIVEN every editor or admin route of the route table THEN an audit action names it (a new one must be added to ROUTE_ACTIONS)', () => {
    const guarded = ROUTES.filter((route) => route.service !== 'frontend' && (route.access === 'editor' || route.access === 'admin'));
    expect(guarded.map((route) => `${route.method} ${route.path}`).sort()).toEqual(Object.keys(ROUTE_ACTIONS).sort());
    expect(Object.values(ROUTE_ACTIONS).filter((action) => action !== 'role-change').every((action) => /^[a-z]+\.[a-z]+$/.test(action))).toBe(true);
  });
});

describe('token keys: EdDSA only, kid, audience, rotation', () => {
  const context = () => {
    const { app, context } = createStubApp(loadSettings({ SERVICE: 'events', ...ENV }), { ...events, clients: { ...events.clients, cache: () => memoryCache() } });
    apps.push(app);
    return context;
  };
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = { sub: 'admin-id', role: 'admin', sid: 's', iss: 'parity-auth', aud: 'parity-platform', exp: Math.floor(Date.now() / 1000) + 300 };

  it('GIVEN a token signed by auth THEN it verifies; alg none, HS256, another key, a wrong aud or iss, an unknown kid or an expired one do not', async () => {
    const verify = context().verifyToken;
    expect(await verify(await sign({ role: 'admin', sid: 's' }, 'admin-id', 300))).toMatchObject({ id: 'admin-id', role: 'admin' });
    const kid = KEYS.keys[0]!.kid!;
    const refused = [
      `${b64({ alg: 'none', kid })}.${b64(claims)}.`,
      await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode(KEYS.keys[0]!.x!)),
      await createSigner(keySource({ keys: [{ ...(await generateSigningKey()), kid }] }, { needPrivate: true }))({ role: 'admin', sid: 's' }, 'admin-id', 300),
      await createSigner(keySource({ keys: [await generateSigningKey()] }, { needPrivate: true }))({ role: 'admin', sid: 's' }, 'admin-id', 300),
      await new SignJWT({ ...claims, aud: 'another-platform' }).setProtectedHeader({ alg: 'EdDSA', kid }).sign(await importJWK(KEYS.keys[0]!, 'EdDSA')),
      await new SignJWT({ ...claims, iss: 'someone-else' }).setProtectedHeader({ alg: 'EdDSA', kid }).sign(await importJWK(KEYS.keys[0]!, 'EdDSA')),
      await new SignJWT({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }).setProtectedHeader({ alg: 'EdDSA', kid }).sign(await importJWK(KEYS.keys[0]!, 'EdDSA')),
    ];
    expect(await Promise.all(refused.map((token) => verify(token)))).toEqual(refused.map(() => undefined));
  });

  it('GIVEN the key files rotated while running THEN tokens of the new key verify at once (unknown kid and a changed file → it is read again, even right after another unknown kid), the previous key still verifies, and auth signs with the new one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-stub-keys-'));
    try {
      await ensureSigningKeys(dir);
      const env = { ...ENV, JWT_SIGNING_KEYS: '', JWT_PUBLIC_KEYS: '', JWT_SIGNING_KEYS_FILE: join(dir, 'secrets', 'jwt_signing_keys'), JWT_PUBLIC_KEYS_FILE: join(dir, 'secrets', 'jwt_public_keys') };
      const { app, context: running } = createStubApp(loadSettings({ SERVICE: 'auth', ...env }), { ...auth, clients: { ...auth.clients, cache: () => memoryCache() } });
      apps.push(app);
      const before = await running.signToken!({ role: 'member', sid: 's' }, 'u1', 300);
      // A token naming a kid nobody has reads the file once; right after, the keys rotate.
      const other = await createSigner(keySource({ keys: [{ ...(await generateSigningKey()), kid: 'nobody' }] }, { needPrivate: true }))({ role: 'member', sid: 's' }, 'u9', 300);
      expect(await running.verifyToken(other)).toBeUndefined();
      const [newest, previous] = await rotateSigningKeys(dir);
      const newKey = JSON.parse(readFileSync(join(dir, 'secrets', 'jwt_signing_keys'), 'utf8')) as { keys: JWK[] };
      const fresh = await createSigner(keySource(newKey, { needPrivate: true }))({ role: 'member', sid: 's' }, 'u2', 300);
      expect(decodeProtectedHeader(fresh).kid).toBe(newest);
      expect(decodeProtectedHeader(before).kid).toBe(previous);
      // At once, within the second: the file changed, so the new key's first token is not refused.
      expect(await running.verifyToken(fresh)).toMatchObject({ id: 'u2' });
      expect(await running.verifyToken(before)).toMatchObject({ id: 'u1' });
      const health = await running.signToken!({ role: 'member', sid: 's' }, 'u3', 10);
      // The signer re-reads its file every 10 s: within that it may still sign with the previous key, which verifies too.
      expect([newest, previous]).toContain(decodeProtectedHeader(health).kid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
