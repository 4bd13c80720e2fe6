/**
 * The stubs without containers: settings validation, FAULT parsing, escaping, the breaker
 * wrapper (real opossum), and handlers through Fastify's inject — validation, RBAC, FAULT and
 * the frontend's fallbacks, none of which need a database to answer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { COLOR_HEADER, FALLBACK_HEADER, STUB_PORT, VERSION_HEADER, headerKey } from '../../services/contracts/index.js';
import { createStubApp } from '../../stubs/src/runtime/app.js';
import { createBreaker, DependencyUnavailableError } from '../../stubs/src/runtime/breakers.js';
import { createMetrics } from '../../stubs/src/runtime/metrics.js';
import { loadSettings, parseFault, SettingsError, type Settings } from '../../stubs/src/runtime/settings.js';
import { events, monthView } from '../../stubs/src/services/events.js';
import { frontend } from '../../stubs/src/services/frontend.js';
import { escapeHtml, html, toString } from '../../stubs/src/services/html.js';
import { composeAnswer, normalizeQuestion } from '../../stubs/src/services/ivor.js';
import { slugify } from '../../stubs/src/services/newsroom.js';
import { memoryCache } from './stubs-fakes.js';
import { generateSigningKey, publicKeys } from '../../scripts/runners/stack/signing-keys.js';
import { createSigner, keySource } from '../../stubs/src/runtime/keys.js';

const KEYS = { keys: [await generateSigningKey()] };
const sign = createSigner(keySource(KEYS, { needPrivate: true }));
/** Nothing listens on port 1: every dependency call fails fast. */
const UNREACHABLE = { DATABASE_HOST: '127.0.0.1', DATABASE_PORT: '1', DATABASE_PASSWORD: 'x', JWT_PUBLIC_KEYS: JSON.stringify(publicKeys(KEYS)), REDIS_URL: 'redis://127.0.0.1:1' };

/** Every app gets this in-memory Redis, where each role's token has a live session. */
const sessions = memoryCache();
for (const role of ['member', 'editor', 'admin']) {
  sessions.entries.set(`auth:session:${role}-sid`, { value: JSON.stringify({ userId: `${role}-id`, email: `${role}@example.org`, role, refreshHash: 'x' }), expiresAt: Number.MAX_SAFE_INTEGER });
}

const token = (role: string) =>
  sign({ role, email: `${role}@example.org`, sid: `${role}-sid` }, `${role}-id`, 300);

const apps: { close(): Promise<unknown> }[] = [];
function appFor(definition: Parameters<typeof createStubApp>[1], env: Record<string, string>) {
  const settings: Settings = loadSettings(env);
  const { app } = createStubApp(settings, { ...definition, clients: { ...definition.clients, cache: () => sessions } });
  apps.push(app);
  return app;
}
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe('settings', () => {
  it('lists every problem at once, naming the variable', () => {
    let error: unknown;
    try {
      loadSettings({ SERVICE: 'events', PORT: '70000', FAULT: 'error=2' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).exitCode).toBe(2);
    expect((error as SettingsError).problems).toEqual([
      'FAULT: error must be a share 0–1 or a percentage (got "2")',
      'PORT: Too big: expected number to be <=65535 (got "70000")',
    ]);
  });

  it('requires what the service needs, and reads secrets from _FILE paths', () => {
    expect(() => loadSettings({ SERVICE: 'auth' })).toThrow(
      [
        'invalid stub settings (environment):',
        '  - DATABASE_HOST: required by auth',
        '  - DATABASE_PASSWORD: required by auth (or DATABASE_PASSWORD_FILE)',
        '  - JWT_SIGNING_KEYS: required by auth (or JWT_SIGNING_KEYS_FILE)',
        '  - JWT_PUBLIC_KEYS: required by auth (or JWT_PUBLIC_KEYS_FILE)',
        '  - REDIS_URL: required by auth',
      ].join('\n'),
    );
    expect(() => loadSettings({ SERVICE: 'frontend', JWT_PUBLIC_KEYS_FILE: '/nonexistent/key' })).toThrow('JWT_PUBLIC_KEYS_FILE: cannot read /nonexistent/key (ENOENT)');
    expect(() => loadSettings({ SERVICE: 'frontend', JWT_PUBLIC_KEYS: '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}' })).toThrow('JWT_PUBLIC_KEYS: expected a JWK set of Ed25519 public keys, each with a kid');
  });

  it('defaults the frontend upstreams to the same color', () => {
    const settings = loadSettings({ SERVICE: 'frontend', COLOR: 'green' });
    expect(settings.upstreams).toEqual({ ivor: `http://ivor-green:${STUB_PORT}`, events: `http://events-green:${STUB_PORT}`, newsroom: `http://newsroom-green:${STUB_PORT}` });
    expect(settings.breakers).toEqual({ resetMs: 60_000, errorThresholdPercentage: 5, volumeThreshold: 10, timeoutsMs: { dbWrite: 5000, dbRead: 1000, redis: 500, s3: 3000, upstream: 2000 }, hedgeReadsMs: 100 });
  });

  it('parses FAULT', () => {
    expect(parseFault('')).toEqual({ errorRate: 0, latencyMs: 0 });
    expect(parseFault('error=20%')).toEqual({ errorRate: 0.2, latencyMs: 0 });
    expect(parseFault('error=0.05, latency=2s')).toEqual({ errorRate: 0.05, latencyMs: 2000 });
    expect(() => parseFault('latency=fast')).toThrow('FAULT: latency must be like 150ms or 2s (got "fast")');
    expect(() => parseFault('boom=1')).toThrow('FAULT: unknown part "boom=1", expected error=<share> and/or latency=<ms>');
  });
});

describe('escaping and pure helpers', () => {
  it('escapes every interpolation but keeps nested templates as markup', () => {
    const title = '<img src=x onerror="alert(1)">';
    expect(toString(html`<li>${title}</li>`)).toBe('<li>&#60;img src&#61;x onerror&#61;&#34;alert(1)&#34;&#62;</li>');
    expect(toString(html`<ul>${[html`<li>${'a&b'}</li>`]}</ul>`)).toBe('<ul><li>a&#38;b</li></ul>');
    expect(escapeHtml("'`")).toBe('&#39;&#96;');
  });

  it('IVOR normalises questions and composes deterministic answers', () => {
    expect(normalizeQuestion('Housing?? HOUSING help, a')).toEqual(['help', 'housing']);
    expect(composeAnswer(['housing'], [{ slug: 'h', title: 'Housing advice', url: '/h', pathway: 'housing', summary: 'Help.' }])).toBe('Here is what I found: Housing advice (Help.).');
  });

  it('month views have every day; slugs are URL-safe', () => {
    const view = monthView('2028-02', [{ id: '1', title: 'Leap', description: '', startsAt: '2028-02-29T10:00:00.000Z', endsAt: null, location: '', hasImage: false, rsvps: 0 }]);
    expect(view.days).toHaveLength(29);
    expect(view.days[28]!.events).toEqual([{ id: '1', title: 'Leap', startsAt: '2028-02-29T10:00:00.000Z', location: '' }]);
    expect(slugify('Pride & Joy: 2027!')).toBe('pride-joy-2027');
  });
});

describe('breakers (opossum)', () => {
  it('open after failures, reject fast while open, half-open after the reset, close on success; the gauge follows', async () => {
    const metrics = createMetrics({ service: 't', color: 't', version: 't' });
    const breaker = createBreaker('dep', { resetMs: 150, errorThresholdPercentage: 50, volumeThreshold: 3 }, metrics, { timeoutMs: 200 });
    const fail = () => breaker.call('op', async () => Promise.reject(new Error('connection refused')));
    const gauge = async () => (await metrics.breakerState.get()).values.find((value) => value.labels.breaker === 'dep')?.value;
    for (let index = 0; index < 3; index += 1) await expect(fail()).rejects.toMatchObject({ reason: 'error', dependency: 'dep' });
    expect(breaker.state()).toBe('open');
    expect(await gauge()).toBe(2);
    const rejected = await breaker.call('op', async () => 'never runs').catch((error: unknown) => error);
    expect(rejected).toBeInstanceOf(DependencyUnavailableError);
    expect((rejected as DependencyUnavailableError).reason).toBe('open');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(breaker.state()).toBe('half-open');
    expect(await breaker.call('op', async () => 'ok')).toBe('ok');
    expect(breaker.state()).toBe('closed');
    expect(await gauge()).toBe(0);
    breaker.shutdown();
  });

  it('time out slow calls, and do not count client errors as failures', async () => {
    const metrics = createMetrics({ service: 't', color: 't', version: 't' });
    const breaker = createBreaker('slow', { resetMs: 1000, errorThresholdPercentage: 40, volumeThreshold: 1 }, metrics, {
      timeoutMs: 50,
      isClientError: (error) => (error as { code?: string }).code === '23505',
    });
    const duplicate = Object.assign(new Error('duplicate key'), { code: '23505' });
    await expect(breaker.call('op', async () => Promise.reject(duplicate))).rejects.toBe(duplicate);
    expect(breaker.state()).toBe('closed');
    await expect(breaker.call('op', () => new Promise((resolve) => setTimeout(resolve, 500)))).rejects.toMatchObject({ reason: 'timeout' });
    expect(breaker.state()).toBe('open');
    breaker.shutdown();
  });

  it('GIVEN a probe THEN an open breaker closes as soon as the probe succeeds, long before its reset timeout (a failover is over in seconds)', async () => {
    const metrics = createMetrics({ service: 't', color: 't', version: 't' });
    let leaderBack = false;
    const probe = { intervalMs: 20, check: async () => { if (!leaderBack) throw new Error('no writable leader'); } };
    const breaker = createBreaker('writer', { resetMs: 60_000, errorThresholdPercentage: 50, volumeThreshold: 2 }, metrics, { timeoutMs: 200, probe });
    for (let index = 0; index < 2; index += 1) await breaker.call('op', async () => Promise.reject(new Error('terminating connection due to administrator command'))).catch(() => {});
    expect(breaker.state()).toBe('open');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(breaker.state()).toBe('open');
    leaderBack = true;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(breaker.state()).toBe('closed');
    expect(await breaker.call('op', async () => 'written')).toBe('written');
    const events = (await metrics.breakerEvents.get()).values.filter((value) => value.labels.breaker === 'writer' && value.labels.event === 'probe-close');
    expect(events.map((value) => value.value)).toEqual([1]);
    breaker.shutdown();
  });
});

describe('API handlers (Fastify inject, no database)', () => {
  const env = { SERVICE: 'events', VERSION: '2.0.0', COLOR: 'green', ...UNREACHABLE };

  it('every response carries the version and color', async () => {
    const response = await appFor(events, env).inject({ method: 'GET', url: '/health/live' });
    expect(response.headers[headerKey(VERSION_HEADER)]).toBe('2.0.0');
    expect(response.headers[headerKey(COLOR_HEADER)]).toBe('green');
    // Migrations haven't run (no database): not live yet.
    expect(response.statusCode).toBe(503);
  });

  it('RBAC: 401 without a token, 403 below the role', async () => {
    const app = appFor(events, env);
    const body = { title: 'x', startsAt: '2026-12-01T18:00:00Z' };
    expect((await app.inject({ method: 'POST', url: '/api/events', payload: body })).json()).toEqual({ error: 'a valid bearer token is required (POST /auth/login)' });
    const member = await app.inject({ method: 'POST', url: '/api/events', payload: body, headers: { authorization: `Bearer ${await token('member')}` } });
    expect(member.statusCode).toBe(403);
    const forged = await app.inject({ method: 'POST', url: '/api/events', payload: body, headers: { authorization: `Bearer ${(await token('admin')).slice(0, -2)}xx` } });
    expect(forged.statusCode).toBe(401);
  });

  it('bad input → 400 naming the field, before any query runs', async () => {
    const response = await appFor(events, env).inject({
      method: 'POST',
      url: '/api/events',
      payload: { title: '', startsAt: '2026-12-01', extra: 1 },
      headers: { authorization: `Bearer ${await token('editor')}` },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: 'body.title: must not be empty',
      field: 'body.title',
      issues: [
        { field: 'body.title', message: 'must not be empty' },
        { field: 'body.startsAt', message: 'an ISO 8601 date-time, e.g. 2026-12-01T18:00:00Z' },
        { field: 'body', message: 'Unrecognized key: "extra"' },
      ],
    });
  });

  it('FAULT fails API requests but never /health', async () => {
    const app = appFor(events, { ...env, FAULT: 'error=1' });
    const response = await app.inject({ method: 'GET', url: '/api/events' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ error: 'injected fault (FAULT setting)' });
    expect((await app.inject({ method: 'GET', url: '/health/live' })).json()).toMatchObject({ l2: { configLoaded: true } });
  });

  it('metrics expose request counts by route and status, and breaker gauges', async () => {
    const app = appFor(events, env);
    await app.inject({ method: 'GET', url: '/api/calendar?month=bad' });
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toContain('http_requests_total{method="GET",route="/api/calendar",status="400",service="events",color="green",version="2.0.0"} 1');
    expect(text).toContain('circuit_breaker_state{breaker="postgres-primary",service="events",color="green",version="2.0.0"} 0');
  });
});

describe('frontend admin page', () => {
  it('checks the token and the role itself, not only the edge: no token 401, identity headers alone 401, a member 403, an admin by bearer or by cookie 200', async () => {
    const app = appFor(frontend, { SERVICE: 'frontend', JWT_PUBLIC_KEYS: JSON.stringify(publicKeys(KEYS)), IVOR_URL: 'http://127.0.0.1:1', EVENTS_URL: 'http://127.0.0.1:1', NEWSROOM_URL: 'http://127.0.0.1:1' });
    expect((await app.inject({ method: 'GET', url: '/admin' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/admin', headers: { 'x-auth-user': 'admin@example.org', 'x-auth-role': 'admin' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/admin', headers: { authorization: `Bearer ${await token('member')}` } })).statusCode).toBe(403);
    const byBearer = await app.inject({ method: 'GET', url: '/admin', headers: { authorization: `Bearer ${await token('admin')}` } });
    expect(byBearer.statusCode).toBe(200);
    expect(byBearer.body).toContain('Signed in as admin@example.org');
    expect((await app.inject({ method: 'GET', url: '/admin', headers: { cookie: `theme=dark; parity_token=${await token('admin')}` } })).statusCode).toBe(200);
  });
});

describe('frontend fallbacks (APIs unreachable)', () => {
  it('serves the architecture fallbacks, says so in a header and on the page, and escapes', async () => {
    const app = appFor(frontend, { SERVICE: 'frontend', IVOR_URL: 'http://127.0.0.1:1', EVENTS_URL: 'http://127.0.0.1:1', NEWSROOM_URL: 'http://127.0.0.1:1' });
    const home = await app.inject({ method: 'GET', url: '/' });
    expect(home.statusCode).toBe(200);
    expect(home.headers[headerKey(FALLBACK_HEADER)]).toBe('events,newsroom,ivor');
    expect(home.body).toContain('Events are offline.');
    expect(home.body).toContain('events@example.org');
    expect(home.body).toContain('Community discussion board');
    expect(home.body).toContain('Wellbeing and mental health support');
    const summary = (await app.inject({ method: 'GET', url: '/frontend/summary' })).json();
    expect(summary.fallback).toBe(true);
    expect(Object.keys(summary.sections)).toEqual(['ivor', 'events', 'newsroom']);
    expect((await app.inject({ method: 'GET', url: '/static/app.js' })).headers['content-type']).toContain('javascript');
    expect((await app.inject({ method: 'GET', url: '/static/../../etc/passwd' })).statusCode).toBe(404);
    // An article page while the newsroom is down: a fallback page, not an error.
    const article = await app.inject({ method: 'GET', url: '/news/3f1c0f56-4f3b-4a55-9d4e-2b1f1c7e9a10' });
    expect(article.statusCode).toBe(200);
    expect(article.headers[headerKey(FALLBACK_HEADER)]).toBe('newsroom');
  });
});
