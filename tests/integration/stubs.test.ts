/**
 * The platform service stubs against real Postgres (primary + streaming replica), Redis and
 * S3 (SeaweedFS), each stub in its own container from the stubs runtime image.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FALLBACK_HEADER, READ_FROM_HEADER, VERSION_HEADER } from '../../services/contracts/index.js';
import type { FastifyInstance } from 'fastify';
import { createStubApp, migrateUntilDone } from '../../stubs/src/runtime/app.js';
import { runMigrations } from '../../stubs/src/runtime/migrations.js';
import { loadSettings } from '../../stubs/src/runtime/settings.js';
import { createDatabase } from '../../stubs/src/runtime/database.js';
import { createMetrics } from '../../stubs/src/runtime/metrics.js';
import { auth } from '../../stubs/src/services/auth.js';
import { DATABASE } from '../../services/topology/common.js';
import { ivorMigrations } from '../../stubs/src/services/ivor.js';
import { eventually } from './helpers.js';
import { dbPasswordSecret, dbRole } from '../../services/topology/database-roles.js';
import { call, startPlatform, type Platform } from './platform.js';
import { demoDataset } from '../../services/demo/dataset.js';
import { createClient } from '../../scripts/runners/core/http.js';
import { createProgress } from '../../scripts/runners/core/progress.js';
import { SEED_KINDS, seedDemo } from '../../scripts/runners/stack/seed.js';

let platform: Platform;
const tokens = { member: '', editor: '', admin: '' };
const stamp = Date.now();
const memberEmail = `member-${stamp}@example.org`;
const editorEmail = `editor-${stamp}@example.org`;
const PASSWORD = 'a long enough password';

const api = (service: 'auth' | 'ivor' | 'events' | 'newsroom' | 'frontend') => platform.url(service);

async function login(email: string, password: string): Promise<{ accessToken: string; refreshToken: string }> {
  const response = await call(api('auth'), 'POST', '/auth/login', { body: { email, password } });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

/** The value of one metric series in a stub's /metrics (undefined when absent). */
async function metric(service: 'ivor' | 'events' | 'newsroom' | 'frontend' | 'auth', name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await (await fetch(`${api(service)}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

beforeAll(async () => {
  platform = await startPlatform({ breakerResetMs: 3000 });
  for (const email of [memberEmail, editorEmail]) {
    expect((await call(api('auth'), 'POST', '/auth/register', { body: { email, password: PASSWORD } })).status).toBe(201);
  }
  tokens.admin = (await login(platform.adminEmail, platform.secrets.admin)).accessToken;
  expect((await call(api('auth'), 'PUT', `/auth/users/${editorEmail}/role`, { token: tokens.admin, body: { role: 'editor' } })).status).toBe(200);
  tokens.member = (await login(memberEmail, PASSWORD)).accessToken;
  tokens.editor = (await login(editorEmail, PASSWORD)).accessToken;
});

afterAll(async () => {
  await platform?.stopAll();
});

describe('health hierarchy', () => {
  it('an empty platform: the home page says what is missing and how to add it', async () => {
    const home = await fetch(`${api('frontend')}/`);
    const page = (await home.text()).replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
    expect(home.status).toBe(200);
    expect(page).toContain('No upcoming events yet. Editors add them with POST /api/events (an editor or admin token).');
    expect(page).toContain('No news yet. Editors publish articles with POST /api/articles (an editor or admin token).');
    expect(page).toContain('<code>make seed</code> loads demo events, articles and accounts.');
  });

  it('reports L1 (primary, replica with lag, Redis, S3), L2 (migrations) and L3 (a business check) as JSON', async () => {
    const response = await call(api('events'), 'GET', '/health');
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('pass');
    const { l1, l2, l3 } = response.body.checks;
    expect(l1['postgres-primary'].ok).toBe(true);
    expect(l1['postgres-replica']).toMatchObject({ ok: true, inRecovery: true });
    expect(l1['postgres-replica'].lagSeconds).toBeLessThan(1);
    expect(l1.redis.ok).toBe(true);
    expect(l1.s3.ok).toBe(true);
    expect(l2).toMatchObject({ ok: true, configLoaded: true, migrations: { done: true } });
    expect(l3).toMatchObject({ ok: true });
    expect(typeof l3.listed).toBe('number');
    expect(response.headers.get(VERSION_HEADER)).toBe('it-1');
  });
});

describe('auth', () => {
  it('registers, logs in, refreshes (rotating), and logs out; a reused refresh token revokes the session', async () => {
    const email = `rotate-${stamp}@example.org`;
    expect((await call(api('auth'), 'POST', '/auth/register', { body: { email, password: PASSWORD } })).status).toBe(201);
    const first = await login(email, PASSWORD);
    expect((await call(api('auth'), 'GET', '/auth/me', { token: first.accessToken })).body).toMatchObject({ email, role: 'member' });
    const refreshed = await call(api('auth'), 'POST', '/auth/refresh', { body: { refreshToken: first.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refreshToken).not.toBe(first.refreshToken);
    const reuse = await call(api('auth'), 'POST', '/auth/refresh', { body: { refreshToken: first.refreshToken } });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error).toContain('revoked');
    expect((await call(api('auth'), 'POST', '/auth/refresh', { body: { refreshToken: refreshed.body.refreshToken } })).status).toBe(401);

    const again = await login(email, PASSWORD);
    expect((await call(api('auth'), 'POST', '/auth/logout', { token: again.accessToken })).status).toBe(204);
    expect((await call(api('auth'), 'GET', '/auth/me', { token: again.accessToken })).status).toBe(401);
  });

  it('GIVEN a logout THEN the unexpired access token is refused by every API from the next request on', async () => {
    const email = `revoke-${stamp}@example.org`;
    expect((await call(api('auth'), 'POST', '/auth/register', { body: { email, password: PASSWORD } })).status).toBe(201);
    const session = await login(email, PASSWORD);
    expect((await call(api('ivor'), 'GET', '/api/chat', { token: session.accessToken })).status).toBe(200);
    expect((await call(api('auth'), 'POST', '/auth/logout', { token: session.accessToken })).status).toBe(204);
    const ended = { error: 'session ended (logged out or revoked): log in again' };
    expect(await call(api('ivor'), 'GET', '/api/chat', { token: session.accessToken })).toMatchObject({ status: 401, body: ended });
    expect(await call(api('ivor'), 'POST', '/api/chat', { token: session.accessToken, body: { message: 'housing' } })).toMatchObject({ status: 401, body: ended });
    expect(await call(api('events'), 'POST', '/api/events/00000000-0000-4000-8000-000000000000/rsvp', { token: session.accessToken })).toMatchObject({ status: 401, body: ended });
    expect(await call(api('auth'), 'GET', '/verify?role=member', { token: session.accessToken })).toMatchObject({ status: 401, body: ended });
  });

  it('rejects bad input with the field named, wrong passwords, and duplicate accounts', async () => {
    const bad = await call(api('auth'), 'POST', '/auth/register', { body: { email: 'not-an-email', password: 'short' } });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('body.email');
    expect(bad.body.issues.map((issue: { field: string }) => issue.field)).toEqual(['body.email', 'body.password']);
    expect((await call(api('auth'), 'POST', '/auth/login', { body: { email: memberEmail, password: 'wrong password' } })).status).toBe(401);
    const duplicate = await call(api('auth'), 'POST', '/auth/register', { body: { email: memberEmail, password: PASSWORD } });
    expect(duplicate).toMatchObject({ status: 409, body: { field: 'body.email' } });
  });

  it('forwardAuth /verify: 401 without a token, 403 below the role, 200 with identity headers', async () => {
    expect((await call(api('auth'), 'GET', '/verify?role=admin')).status).toBe(401);
    expect((await call(api('auth'), 'GET', '/verify?role=admin', { token: tokens.member })).status).toBe(403);
    const ok = await call(api('auth'), 'GET', '/verify?role=admin', { token: tokens.admin });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-auth-user')).toBe(platform.adminEmail);
    expect(ok.headers.get('x-auth-role')).toBe('admin');
    expect((await call(api('auth'), 'PUT', `/auth/users/${memberEmail}/role`, { token: tokens.member, body: { role: 'admin' } })).status).toBe(403);
  });
});

describe('IVOR', () => {
  it('answers from the knowledge table, stores the turns, and caches the answer in Redis', async () => {
    const first = await call(api('ivor'), 'POST', '/api/chat', { token: tokens.member, body: { message: 'Where can I get housing advice?' } });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ stored: true, cached: false });
    expect(first.body.answer).toContain('Housing advice');
    const second = await call(api('ivor'), 'POST', '/api/chat', { token: tokens.member, body: { message: 'housing advice where can I get', conversationId: first.body.conversationId } });
    expect(second.body).toMatchObject({ cached: true, stored: true, conversationId: first.body.conversationId });
    // Read-your-writes: the conversation is readable at once, by its owner only.
    const conversation = await call(api('ivor'), 'GET', `/api/chat/${first.body.conversationId}`, { token: tokens.member });
    expect(conversation.status).toBe(200);
    expect(conversation.body.turns.map((turn: { speaker: string }) => turn.speaker)).toEqual(['user', 'ivor', 'user', 'ivor']);
    expect((await call(api('ivor'), 'GET', `/api/chat/${first.body.conversationId}`, { token: tokens.editor })).status).toBe(404);
  });

  it('lists resources with their pathways, and filters by pathway', async () => {
    const all = await call(api('ivor'), 'GET', '/api/resources');
    expect(all.status).toBe(200);
    expect(all.body.pathways.map((p: { pathway: string }) => p.pathway)).toEqual(expect.arrayContaining(['housing', 'wellbeing', 'community']));
    const housing = await call(api('ivor'), 'GET', '/api/resources?pathway=housing');
    expect(housing.body.resources.map((r: { slug: string }) => r.slug)).toEqual(['housing']);
  });

  it('validates input and needs a member token', async () => {
    expect((await call(api('ivor'), 'POST', '/api/chat', { body: { message: 'hi' } })).status).toBe(401);
    const empty = await call(api('ivor'), 'POST', '/api/chat', { token: tokens.member, body: { message: '   ' } });
    expect(empty).toMatchObject({ status: 400, body: { field: 'body.message', error: 'body.message: must not be empty' } });
    const badId = await call(api('ivor'), 'POST', '/api/chat', { token: tokens.member, body: { message: 'hi', conversationId: 'nope' } });
    expect(badId).toMatchObject({ status: 400, body: { field: 'body.conversationId' } });
    expect((await call(api('ivor'), 'GET', '/api/resources?pathway=Not%20Valid')).body.field).toBe('query.pathway');
  });
});

describe('Events', () => {
  let eventId = '';

  it('creates, reads, updates, lists, shows in the month view and deletes (editor)', async () => {
    const created = await call(api('events'), 'POST', '/api/events', {
      token: tokens.editor,
      body: { title: 'Winter social', startsAt: '2026-12-12T18:00:00Z', endsAt: '2026-12-12T22:00:00Z', location: 'Community hall' },
    });
    expect(created.status, created.text).toBe(201);
    eventId = created.body.id;
    const read = await call(api('events'), 'GET', `/api/events/${eventId}`, { token: tokens.editor });
    expect(read.body).toMatchObject({ title: 'Winter social', location: 'Community hall', rsvps: 0 });
    expect((await call(api('events'), 'PATCH', `/api/events/${eventId}`, { token: tokens.editor, body: { location: 'Main hall' } })).body.updated).toEqual(['location']);
    const list = await call(api('events'), 'GET', '/api/events?from=2026-12-01T00:00:00Z&to=2027-01-01T00:00:00Z', { token: tokens.editor });
    expect(list.body.events.find((event: { id: string }) => event.id === eventId)).toMatchObject({ location: 'Main hall' });
    const calendar = await call(api('events'), 'GET', '/api/calendar?month=2026-12', { token: tokens.editor });
    expect(calendar.body.days).toHaveLength(31);
    expect(calendar.body.days[11].events.map((event: { id: string }) => event.id)).toContain(eventId);

    const doomed = await call(api('events'), 'POST', '/api/events', { token: tokens.editor, body: { title: 'Cancelled', startsAt: '2026-12-20T18:00:00Z' } });
    expect((await call(api('events'), 'DELETE', `/api/events/${doomed.body.id}`, { token: tokens.editor })).status).toBe(204);
    expect((await call(api('events'), 'GET', `/api/events/${doomed.body.id}`, { token: tokens.editor })).status).toBe(404);
  });

  it('RSVPs are idempotent per user', async () => {
    const first = await call(api('events'), 'POST', `/api/events/${eventId}/rsvp`, { token: tokens.member, body: { status: 'going' } });
    expect(first).toMatchObject({ status: 201, body: { created: true, going: 1 } });
    const again = await call(api('events'), 'POST', `/api/events/${eventId}/rsvp`, { token: tokens.member, body: { status: 'going' } });
    expect(again).toMatchObject({ status: 200, body: { created: false, going: 1 } });
    expect((await call(api('events'), 'POST', `/api/events/${eventId}/rsvp`, { token: tokens.editor, body: {} })).body.going).toBe(2);
  });

  it('stores event images in S3 and serves them back', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f0c5d90000000049454e44ae426082', 'hex');
    const put = await call(api('events'), 'PUT', `/api/events/${eventId}/image`, { token: tokens.editor, raw: png, contentType: 'image/png' });
    expect(put.status, put.text).toBe(201);
    const image = await fetch(`${api('events')}/api/events/${eventId}/image`);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await image.arrayBuffer()).equals(png)).toBe(true);
    expect((await call(api('events'), 'PUT', `/api/events/${eventId}/image`, { token: tokens.editor, raw: Buffer.from('<svg/>'), contentType: 'text/plain' })).status).toBe(415);
  });

  it('RBAC: anonymous 401, member 403 for editor actions', async () => {
    const body = { title: 'x', startsAt: '2026-12-12T18:00:00Z' };
    expect((await call(api('events'), 'POST', '/api/events', { body })).status).toBe(401);
    const denied = await call(api('events'), 'POST', '/api/events', { token: tokens.member, body });
    expect(denied).toMatchObject({ status: 403, body: { error: 'role editor required (you are member)' } });
    expect((await call(api('events'), 'DELETE', `/api/events/${eventId}`, { token: tokens.member })).status).toBe(403);
  });

  it('validation errors name the field', async () => {
    const bad = await call(api('events'), 'POST', '/api/events', { token: tokens.editor, body: { title: 'x', startsAt: 'next tuesday', colour: 'red' } });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((issue: { field: string }) => issue.field)).toEqual(expect.arrayContaining(['body.startsAt', 'body']));
    expect((await call(api('events'), 'GET', '/api/calendar?month=2026-13')).body).toMatchObject({ field: 'query.month', error: 'query.month: YYYY-MM, e.g. 2026-12' });
    expect((await call(api('events'), 'GET', '/api/events/42')).body.field).toBe('params.id');
    const malformed = await fetch(`${api('events')}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.editor}` }, body: '{"title": ' });
    expect(malformed.status).toBe(400);
    // Parameterised SQL: a quote in input is just text.
    const quoted = await call(api('events'), 'POST', '/api/events', { token: tokens.editor, body: { title: "Robert'); DROP TABLE events.events;--", startsAt: '2026-12-13T18:00:00Z' } });
    expect(quoted.status).toBe(201);
    expect((await call(api('events'), 'GET', `/api/events/${quoted.body.id}`, { token: tokens.editor })).body.title).toBe("Robert'); DROP TABLE events.events;--");
  });
});

describe('Newsroom', () => {
  it('publishes, lists, reads; categories (admin) and comments (member); attachments in S3', async () => {
    expect((await call(api('newsroom'), 'POST', '/api/categories', { token: tokens.editor, body: { slug: 'sport', name: 'Sport' } })).status).toBe(403);
    expect((await call(api('newsroom'), 'POST', '/api/categories', { token: tokens.admin, body: { slug: 'sport', name: 'Sport' } })).status).toBe(201);
    // As the admin who wrote it: read-your-writes is promised to the writer; an anonymous read may
    // come from the asynchronous replica a moment behind (it did, once, on a loaded CI run).
    expect((await call(api('newsroom'), 'GET', '/api/categories', { token: tokens.admin })).body.categories.map((c: { slug: string }) => c.slug)).toContain('sport');

    const article = await call(api('newsroom'), 'POST', '/api/articles', {
      token: tokens.editor,
      body: { title: `Five-a-side league returns ${stamp}`, summary: 'Sign-ups are open.', body: 'Full story.', category: 'sport' },
    });
    expect(article.status, article.text).toBe(201);
    expect(article.body.slug).toBe(`five-a-side-league-returns-${stamp}`);
    const id = article.body.id;
    expect((await call(api('newsroom'), 'GET', '/api/articles?category=sport', { token: tokens.editor })).body.articles.map((a: { id: string }) => a.id)).toContain(id);
    expect((await call(api('newsroom'), 'POST', `/api/articles/${id}/comments`, { token: tokens.member, body: { text: 'Count me in' } })).status).toBe(201);
    const comments = await call(api('newsroom'), 'GET', `/api/articles/${id}/comments`, { token: tokens.member });
    expect(comments.body.comments.map((c: { text: string }) => c.text)).toEqual(['Count me in']);

    const put = await call(api('newsroom'), 'PUT', `/api/articles/${id}/attachments/fixtures.txt`, { token: tokens.editor, raw: Buffer.from('week 1: ...'), contentType: 'text/plain' });
    expect(put.status, put.text).toBe(201);
    const read = await call(api('newsroom'), 'GET', `/api/articles/${id}`, { token: tokens.editor });
    expect(read.body).toMatchObject({ body: 'Full story.', attachments: [{ name: 'fixtures.txt', bytes: 11 }] });
    const file = await fetch(`${api('newsroom')}/api/articles/${id}/attachments/fixtures.txt`);
    expect(await file.text()).toBe('week 1: ...');
    expect(file.headers.get('content-disposition')).toContain('attachment');
  });

  it('validation and RBAC', async () => {
    expect((await call(api('newsroom'), 'POST', '/api/articles', { token: tokens.member, body: {} })).status).toBe(403);
    const bad = await call(api('newsroom'), 'POST', '/api/articles', { token: tokens.editor, body: { title: 'T', summary: 'S', body: 'B', category: 'nope' } });
    expect(bad).toMatchObject({ status: 400, body: { field: 'body.category' } });
    expect((await call(api('newsroom'), 'POST', '/api/articles', { token: tokens.editor, body: { title: 'T', summary: '', body: 'B', category: 'culture' } })).body.field).toBe('body.summary');
  });
});

describe('frontend', () => {
  it('renders pages from the APIs, escaping user text', async () => {
    const hostile = await call(api('events'), 'POST', '/api/events', { token: tokens.editor, body: { title: '<script>alert("x")</script>', startsAt: '2026-12-24T18:00:00Z' } });
    expect(hostile.status).toBe(201);
    // The frontend container reaches the APIs by network alias.
    const page = await fetch(`${api('frontend')}/events`);
    const html = await page.text();
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;&#47;script&#62;');
    // An unknown article is a real 404, not a soft one.
    expect((await fetch(`${api('frontend')}/news/3f1c0f56-4f3b-4a55-9d4e-2b1f1c7e9a10`)).status).toBe(404);
  });
});

describe('database: replica reads, read-your-writes, migrations', () => {
  it('reads go to the replica, but a user reads their own write at once even while the replica lags', async () => {
    const replica = new pg.Client(platform.replicaClientConfig());
    await replica.connect();
    try {
      const anonymous = await call(api('events'), 'GET', '/api/events');
      expect(anonymous.headers.get(READ_FROM_HEADER)).toBe('replica');
      // Freeze replay on the replica: from now on it lags behind every write.
      await replica.query('SELECT pg_wal_replay_pause()');
      const created = await call(api('events'), 'POST', '/api/events', { token: tokens.editor, body: { title: `Lagging ${stamp}`, startsAt: '2026-12-30T18:00:00Z' } });
      expect(created.status).toBe(201);
      const own = await call(api('events'), 'GET', `/api/events/${created.body.id}`, { token: tokens.editor });
      expect(own.status).toBe(200);
      expect(own.headers.get(READ_FROM_HEADER)).toBe('primary');
      const other = await call(api('events'), 'GET', `/api/events/${created.body.id}`);
      expect(other.status).toBe(404);
      expect(other.headers.get(READ_FROM_HEADER)).toBe('replica');
      await replica.query('SELECT pg_wal_replay_resume()');
      await eventually(async () => {
        const caughtUp = await call(api('events'), 'GET', `/api/events/${created.body.id}`, { token: tokens.editor });
        expect(caughtUp.headers.get(READ_FROM_HEADER)).toBe('replica');
        expect(caughtUp.status).toBe(200);
      }, 10_000);
    } finally {
      await replica.query('SELECT pg_wal_replay_resume()').catch(() => {});
      await replica.end();
    }
  });

  it('a slow replica read is answered by the primary after the hedge delay, long before the reader timeout; the slow read still counts against the replica breaker (issue #20 pt 3)', async () => {
    // This checkout's database code in-process, on the platform's real primary and replica.
    const primary = platform.primaryClientConfig();
    const reader = platform.replicaClientConfig();
    const settings = loadSettings({
      SERVICE: 'events',
      DATABASE_HOST: primary.host,
      DATABASE_PORT: String(primary.port),
      DATABASE_REPLICA_HOST: reader.host,
      DATABASE_REPLICA_PORT: String(reader.port),
      DATABASE_NAME: primary.database,
      DATABASE_USER: primary.user,
      DATABASE_PASSWORD: primary.password,
      REDIS_URL: `redis://${platform.redis.getHost()}:${platform.redis.getMappedPort(6379)}`,
      JWT_PUBLIC_KEYS: platform.secrets.publicKeys,
      TIMEOUT_DB_READ_MS: '1500',
      DB_READ_HEDGE_MS: '100',
      LOG_LEVEL: 'warn',
    });
    const metrics = createMetrics({ service: 'events', color: 'test', version: 'test' });
    const db = createDatabase(settings.database!, settings.breakers, metrics);
    // Slow only where it runs on a standby: the replica takes 3 s, the primary answers at once.
    const slowOnReplica = 'SELECT 42 AS n FROM pg_sleep(CASE WHEN pg_is_in_recovery() THEN 3 ELSE 0 END)';
    try {
      expect((await db.read<{ n: number }>(undefined, 'SELECT 1 AS n')).from).toBe('replica');
      const started = performance.now();
      const answer = await db.read<{ n: number }>(undefined, slowOnReplica);
      const tookMs = performance.now() - started;
      expect(answer).toEqual({ rows: [{ n: 42 }], from: 'primary' });
      // The hedge, not the reader's timeout, decided when the user got an answer.
      expect(tookMs).toBeLessThan(settings.breakers.timeoutsMs.dbRead);
      expect((await metrics.registry.getSingleMetricAsString('db_reads_hedged_total')).split('\n').at(-1)).toMatch(/ 1$/);
      // The replica's read ran on to its timeout and was counted as one: the breaker still sees a slow reader.
      await eventually(async () => {
        const timeouts = (await metrics.registry.getSingleMetricAsString('dependency_call_duration_seconds')).split('\n').find((line) => line.startsWith('dependency_call_duration_seconds_count') && line.includes('dependency="postgres-replica"') && line.includes('outcome="timeout"'));
        expect(timeouts).toMatch(/ 1$/);
      }, 5_000);
    } finally {
      await db.close();
    }
  });

  it('migrations are idempotent and locked: concurrent runs apply nothing twice', async () => {
    const pool = new pg.Pool({ ...platform.primaryClientConfig(), max: 4 });
    try {
      const results = await Promise.all([runMigrations(pool, 'ivor', ivorMigrations), runMigrations(pool, 'ivor', ivorMigrations), runMigrations(pool, 'ivor-race-check', ivorMigrations)]);
      expect(results[0]!.applied).toEqual([]);
      expect(results[1]!.applied).toEqual([]);
      expect(results[2]!.applied).toEqual(['1-resources-and-conversations']);
      const rows = await pool.query("SELECT service, count(*)::int AS n FROM parity_migrations WHERE service LIKE 'ivor%' GROUP BY service ORDER BY service");
      expect(rows.rows).toEqual([
        { service: 'ivor', n: 1 },
        { service: 'ivor-race-check', n: 1 },
      ]);
    } finally {
      await pool.end();
    }
  });
});

describe('demo data through the APIs (make seed)', () => {
  it('the first run creates the data set, a second adds nothing; the home page lists seeded events and news', async () => {
    const today = new Date();
    const dataset = demoDataset(today);
    const options = {
      urls: { auth: api('auth'), events: api('events'), newsroom: api('newsroom'), ivor: api('ivor') },
      http: createClient('/the-seed-needs-no-ca-over-http'),
      admin: { email: platform.adminEmail, password: platform.secrets.admin },
      passwords: Object.fromEntries(dataset.accounts.map((account) => [account.email, `demo-password-${stamp}`])),
      progress: createProgress('[seed]'),
      today,
    };
    const first = await seedDemo(options);
    expect(first).toEqual({
      accounts: { created: 4, existing: 0 },
      categories: { created: 2, existing: 0 },
      articles: { created: 12, existing: 0 },
      comments: { created: dataset.articles.reduce((sum, article) => sum + article.comments.length, 0), existing: 0 },
      attachments: { created: dataset.articles.filter((article) => article.attachment).length, existing: 0 },
      events: { created: 32, existing: 0 },
      images: { created: 32, existing: 0 },
      rsvps: { created: dataset.events.reduce((sum, event) => sum + event.going.length, 0), existing: 0 },
      conversations: { created: 3, existing: 0 },
    });
    const second = await seedDemo(options);
    for (const kind of SEED_KINDS) expect(second[kind], kind).toEqual({ created: 0, existing: first[kind].created });

    // What the APIs hold after both runs: each demo item once.
    const editor = (await login(dataset.accounts[0]!.email, `demo-password-${stamp}`)).accessToken;
    const events = (await call(api('events'), 'GET', '/api/events?limit=200&from=1970-01-01T00:00:00Z', { token: editor })).body.events as { title: string; hasImage: boolean; id: string }[];
    const seededEvents = events.filter((event) => dataset.events.some((demo) => demo.title === event.title));
    expect(seededEvents).toHaveLength(32);
    expect(seededEvents.every((event) => event.hasImage)).toBe(true);
    const image = await fetch(`${api('events')}/api/events/${seededEvents[0]!.id}/image`);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await image.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
    const articles = (await call(api('newsroom'), 'GET', '/api/articles?limit=100', { token: editor })).body.articles as { slug: string }[];
    expect(articles.filter((article) => dataset.articles.some((demo) => demo.slug === article.slug))).toHaveLength(12);
    const member = dataset.conversations[0]!.by;
    const chats = (await call(api('ivor'), 'GET', '/api/chat', { token: (await login(member, `demo-password-${stamp}`)).accessToken })).body.conversations as { firstQuestion: string }[];
    expect(chats.map((chat) => chat.firstQuestion)).toEqual([dataset.conversations[0]!.questions[0]]);

    // The home page shows the latest news (the seed's, newest) and the next five events, which
    // this suite's own fixed-date events may crowd out: the events page lists fifty.
    const home = await (await fetch(`${api('frontend')}/`)).text();
    expect(dataset.articles.filter((article) => home.includes(`<strong>${article.title}</strong>`))).toHaveLength(5);
    expect(home).not.toContain('No news yet.');
    const eventsPage = await (await fetch(`${api('frontend')}/events`)).text();
    expect(dataset.events.filter((event) => eventsPage.includes(`<strong>${event.title.replace('&', '&#38;')}</strong>`))).toHaveLength(32);
  });
});

describe("auth hardening: this checkout's auth code in-process, on the platform's Redis and Postgres", () => {
  // The containers run the baked image; these cases run the worktree's code, so they prove it
  // before the image is rebuilt.
  let local: { app: FastifyInstance; url: string } | undefined;
  const url = () => local!.url;

  beforeAll(async () => {
    const settings = loadSettings({
      SERVICE: 'auth',
      DATABASE_HOST: platform.primary.getHost(),
      DATABASE_PORT: String(platform.primary.getMappedPort(5432)),
      DATABASE_NAME: DATABASE.name,
      DATABASE_USER: DATABASE.user,
      DATABASE_PASSWORD: platform.secrets.postgres,
      REDIS_URL: `redis://${platform.redis.getHost()}:${platform.redis.getMappedPort(6379)}`,
      JWT_SIGNING_KEYS: platform.secrets.signingKeys,
      JWT_PUBLIC_KEYS: platform.secrets.publicKeys,
      LOG_LEVEL: 'warn',
    });
    const { app, context } = createStubApp(settings, auth);
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    local = { app, url: address };
    await migrateUntilDone(context, auth, () => {});
  });
  afterAll(async () => {
    await local?.app.close();
  });

  it('GIVEN ten concurrent refreshes of one token (real Redis, a Lua swap) THEN exactly one 200, nine 401, and the session is ended', async () => {
    const email = `race-${stamp}@example.org`;
    expect((await call(url(), 'POST', '/auth/register', { body: { email, password: PASSWORD } })).status).toBe(201);
    const session = (await call(url(), 'POST', '/auth/login', { body: { email, password: PASSWORD } })).body as { refreshToken: string };
    const answers = await Promise.all(Array.from({ length: 10 }, () => call(url(), 'POST', '/auth/refresh', { body: { refreshToken: session.refreshToken } })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 401, 401, 401, 401, 401, 401, 401, 401, 401]);
    const winner = answers.find((answer) => answer.status === 200)!.body as { accessToken: string };
    expect((await call(url(), 'GET', '/auth/me', { token: winner.accessToken })).status).toBe(401);
  });

  it('GIVEN five failed logins for one email THEN 429 with Retry-After (counted in real Redis), even with the right password', async () => {
    const email = `lockout-${stamp}@example.org`;
    expect((await call(url(), 'POST', '/auth/register', { body: { email, password: PASSWORD } })).status).toBe(201);
    for (let attempt = 0; attempt < 5; attempt += 1) expect((await call(url(), 'POST', '/auth/login', { body: { email, password: 'wrong password' } })).status).toBe(401);
    const locked = await call(url(), 'POST', '/auth/login', { body: { email, password: PASSWORD } });
    expect(locked.status).toBe(429);
    const seconds = Number(locked.headers.get('retry-after'));
    expect(seconds).toBeGreaterThan(800);
    expect(locked.body).toEqual({ error: `too many failed logins for this account: try again in ${seconds} s` });
  });

  // Needs audit.events, which the platform's admin one-shot creates (the DDL is not the stubs'):
  // the platform fixture applies it before the stubs start.
  it('GIVEN logins THEN audit.events holds them with their outcomes, and refuses UPDATE, DELETE and TRUNCATE even from the superuser', async () => {
    const email = `lockout-${stamp}@example.org`;
    const client = new pg.Client(platform.primaryClientConfig());
    await client.connect();
    try {
      const rows = (await client.query<{ action: string; outcome: string }>('SELECT action, outcome FROM audit.events WHERE subject = $1 ORDER BY id', [email])).rows.map((row) => `${row.action} ${row.outcome}`);
      expect(rows).toEqual(['register ok', ...Array.from({ length: 5 }, () => 'login-failed failed'), 'login-locked denied']);
      for (const statement of ["UPDATE audit.events SET action = 'login'", 'DELETE FROM audit.events', 'TRUNCATE audit.events']) {
        await expect(client.query(statement), statement).rejects.toThrow();
      }
      expect((await client.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.events WHERE subject = $1', [email])).rows[0]!.n).toBe(rows.length);
    } finally {
      await client.end();
    }
  });
});

// Before the breaker cases: they stop and start the primary, and a restarted container gets another host port.
describe('least privilege in the database: each service its own role (what db-init makes)', () => {
  const as = async <T>(user: 'superuser' | 'events', work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const config = platform.primaryClientConfig();
    const client = new pg.Client(user === 'superuser' ? config : { ...config, user: dbRole('events'), password: platform.rolePasswords[dbPasswordSecret('events')]! });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };

  it("GIVEN the events role THEN it is no superuser, owns its schema, and every other service's data, new schemas and the audit log's rows are refused", async () => {
    await as('events', async (client) => {
      expect((await client.query('SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user')).rows).toEqual([{ rolsuper: false, rolcreaterole: false, rolcreatedb: false }]);
      expect((await client.query("SELECT count(*)::int AS n FROM events.events")).rows[0].n).toBeGreaterThanOrEqual(0);
      for (const [statement, error] of [
        ['SELECT count(*) FROM auth.users', /^permission denied for schema auth$/],
        ['SELECT count(*) FROM newsroom.articles', /^permission denied for schema newsroom$/],
        ['CREATE SCHEMA stolen', /^permission denied for database platform$/],
        ['CREATE TABLE public.stolen (id int)', /^permission denied for schema public$/],
        ['SELECT count(*) FROM audit.events', /^permission denied for table events$/],
        ["UPDATE audit.events SET action = 'x'", /^permission denied for table events$/],
        ["INSERT INTO public.parity_migrations (service, id, name) VALUES ('auth', 999, 'forged')", /^new row violates row-level security policy for table "parity_migrations"$/],
      ] as const) {
        await expect(client.query(statement), statement).rejects.toThrow(error);
      }
      // It sees its own migrations only.
      expect(new Set((await client.query<{ service: string }>('SELECT service FROM public.parity_migrations')).rows.map((row) => row.service))).toEqual(new Set(['events']));
      // It may append to the audit log; the row names its service whatever it claims.
      await client.query("INSERT INTO audit.events (service, action, subject) VALUES ('auth', 'least-privilege-test', $1)", [String(stamp)]);
    });
    await as('superuser', async (client) => {
      expect((await client.query('SELECT service FROM audit.events WHERE action = $1 AND subject = $2', ['least-privilege-test', String(stamp)])).rows).toEqual([{ service: 'events' }]);
      for (const statement of ["UPDATE audit.events SET action = 'x'", 'DELETE FROM audit.events', 'TRUNCATE audit.events']) {
        await expect(client.query(statement), statement).rejects.toThrow(/^audit\.events is append-only: (UPDATE|DELETE|TRUNCATE) refused$/);
      }
    });
  });

  it('GIVEN objects the superuser made in a service schema (a cluster from before the roles) THEN db-init hands them to the role, and running it again changes nothing', async () => {
    await as('superuser', (client) => client.query('CREATE TABLE IF NOT EXISTS events.made_by_superuser (id serial PRIMARY KEY)'));
    for (let run = 0; run < 2; run += 1) {
      const init = await platform.primary.exec(['psql', '-X', '-q', '-U', DATABASE.user, '-d', DATABASE.name, '-f', '/parity/roles.sql']);
      expect(init.exitCode, init.output).toBe(0);
    }
    const owners = await as('superuser', (client) =>
      client.query<{ name: string; owner: string }>("SELECT c.relname AS name, pg_get_userbyid(c.relowner) AS owner FROM pg_class c WHERE c.relnamespace = 'events'::regnamespace AND c.relkind IN ('r', 'S') ORDER BY 1"),
    );
    expect(owners.rows.filter((row) => row.owner !== dbRole('events'))).toEqual([]);
    expect(owners.rows.map((row) => row.name)).toEqual(expect.arrayContaining(['made_by_superuser', 'made_by_superuser_id_seq', 'events']));
    await as('events', (client) => client.query('DROP TABLE events.made_by_superuser'));
  });
});

describe('circuit breakers: dependencies stopped and started again', () => {
  const hammer = async (times: number, request: () => Promise<unknown>) => {
    for (let index = 0; index < times; index += 1) await request();
  };

  it('Redis stopped: the redis breaker opens, auth and IVOR serve reads on the token alone (auth-stateless) and refuse writes (503); it closes after recovery', async () => {
    platform.stop(platform.redis);
    try {
      await hammer(12, () => call(api('auth'), 'GET', '/verify?role=member', { token: tokens.member }));
      expect(await metric('auth', 'circuit_breaker_state', { breaker: 'redis' })).toBe(2);
      const verify = await call(api('auth'), 'GET', '/verify?role=member', { token: tokens.member });
      expect(verify.status).toBe(200);
      expect(verify.headers.get(FALLBACK_HEADER)).toBe('auth-stateless');
      expect(verify.body.degraded).toBe(true);
      // Sessions can't be looked up: writes fail closed, reads go on the token alone and say so.
      const chat = await call(api('ivor'), 'POST', '/api/chat', { token: tokens.member, body: { message: 'mentor for my career' } });
      expect(chat.status).toBe(503);
      expect(chat.body.error).toBe("sessions can't be checked (redis unavailable): POST is refused until it is back; reads still work on the token alone");
      const history = await call(api('ivor'), 'GET', '/api/chat', { token: tokens.member });
      expect(history.status).toBe(200);
      expect(history.headers.get(FALLBACK_HEADER)).toBe('auth-stateless');
      const forwardedWrite = await fetch(`${api('auth')}/verify?role=member`, { headers: { authorization: `Bearer ${tokens.member}`, 'x-forwarded-method': 'POST' } });
      expect(forwardedWrite.status).toBe(503);
      const health = await call(api('ivor'), 'GET', '/health');
      expect(health.status).toBe(200);
      expect(health.body.status).toBe('warn');
    } finally {
      platform.start(platform.redis);
    }
    await eventually(async () => {
      await call(api('auth'), 'GET', '/verify?role=member', { token: tokens.member });
      expect(await metric('auth', 'circuit_breaker_state', { breaker: 'redis' })).toBe(0);
    }, 30_000);
    expect((await call(api('auth'), 'GET', '/verify?role=member', { token: tokens.member })).headers.get(FALLBACK_HEADER)).toBeNull();
  });

  it('S3 stopped: event images fall back to a placeholder, the s3 breaker opens, then closes after recovery', async () => {
    const events = (await call(api('events'), 'GET', '/api/events?limit=200')).body.events as { id: string; hasImage: boolean }[];
    const withImage = events.find((event) => event.hasImage)!;
    platform.stop(platform.s3);
    try {
      await hammer(12, () => fetch(`${api('events')}/api/events/${withImage.id}/image`).then((r) => r.arrayBuffer()));
      expect(await metric('events', 'circuit_breaker_state', { breaker: 's3' })).toBe(2);
      const image = await fetch(`${api('events')}/api/events/${withImage.id}/image`);
      expect(image.status).toBe(200);
      expect(image.headers.get(FALLBACK_HEADER)).toBe('events-image');
      expect(await image.text()).toContain('image unavailable');
    } finally {
      platform.start(platform.s3);
    }
    await eventually(async () => {
      const image = await fetch(`${api('events')}/api/events/${withImage.id}/image`);
      expect(image.headers.get('content-type')).toBe('image/png');
      expect(await metric('events', 'circuit_breaker_state', { breaker: 's3' })).toBe(0);
    }, 60_000, 1000);
  });

  it('Postgres stopped: Events, Newsroom and IVOR serve their fallbacks, the frontend shows them; all recover', async () => {
    // A listing while healthy is what the fallbacks will show.
    expect((await call(api('events'), 'GET', '/api/events')).body.fallback).toBeUndefined();
    expect((await call(api('newsroom'), 'GET', '/api/articles')).body.fallback).toBeUndefined();
    platform.stop(platform.replica);
    platform.stop(platform.primary);
    try {
      await hammer(12, () => call(api('events'), 'GET', '/api/events'));
      expect(await metric('events', 'circuit_breaker_state', { breaker: 'postgres-primary' })).toBe(2);

      const events = await call(api('events'), 'GET', '/api/events');
      expect(events.status).toBe(200);
      expect(events.headers.get(FALLBACK_HEADER)).toBe('events');
      expect(events.body).toMatchObject({ fallback: true, contact: { email: expect.any(String) } });
      expect(events.body.events.length + events.body.archive.length).toBeGreaterThan(0);
      const calendar = await call(api('events'), 'GET', '/api/calendar?month=2026-12');
      expect(calendar.body.fallback).toBe(true);
      expect(calendar.body.days[11].events.length).toBeGreaterThan(0);

      const news = await call(api('newsroom'), 'GET', '/api/articles');
      expect(news.headers.get(FALLBACK_HEADER)).toBe('newsroom');
      expect(news.body.articles.length).toBeGreaterThan(0);
      expect(news.body.externalSources.length).toBeGreaterThan(0);
      expect(news.body.discussions.length).toBeGreaterThan(0);

      const chat = await call(api('ivor'), 'POST', '/api/chat', { token: tokens.member, body: { message: 'Where can I get housing advice?' } });
      expect(chat.status).toBe(200);
      expect(chat.headers.get(FALLBACK_HEADER)).toBe('ivor');
      // Asked before: the cached answer; and the turn could not be stored.
      expect(chat.body).toMatchObject({ fallback: true, cached: true, stored: false });
      expect(chat.body.answer).toContain('Housing advice');
      const unknown = await call(api('ivor'), 'POST', '/api/chat', { token: tokens.member, body: { message: 'something never asked before' } });
      expect(unknown.body.answer).toContain("IVOR can't look that up right now");
      expect(unknown.body.resources.length).toBeGreaterThan(0);

      const health = await call(api('events'), 'GET', '/health');
      expect(health.status).toBe(503);
      expect(health.body.checks.l1['postgres-primary'].ok).toBe(false);
      expect((await call(api('events'), 'GET', '/health/live')).status).toBe(200);

      const home = await fetch(`${api('frontend')}/`);
      expect(home.status).toBe(200);
      expect(home.headers.get(FALLBACK_HEADER)).toContain('events');
      expect(await home.text()).toContain('showing saved or offline content');
    } finally {
      platform.start(platform.primary);
      platform.start(platform.replica);
    }
    await eventually(async () => {
      const events = await call(api('events'), 'GET', '/api/events');
      expect(events.headers.get(FALLBACK_HEADER)).toBeNull();
      // Reads are served by the replica; a write is what tries the primary's breaker again.
      const rsvp = await call(api('events'), 'POST', `/api/events/${events.body.events[0].id}/rsvp`, { token: tokens.member, body: { status: 'interested' } });
      expect(rsvp.status).toBe(200);
      expect(await metric('events', 'circuit_breaker_state', { breaker: 'postgres-primary' })).toBe(0);
      expect(await metric('events', 'circuit_breaker_state', { breaker: 'postgres-replica' })).toBe(0);
    }, 60_000, 1000);
    await eventually(async () => expect((await call(api('events'), 'GET', '/health')).body.status).toBe('pass'), 60_000, 1000);
  });
});
