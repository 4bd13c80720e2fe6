/**
 * What every stub shares: the Fastify server with identity headers (VERSION, color), FAULT
 * injection, prom-client metrics, JSON errors that name the field, JWT checks (EdDSA, keys.ts)
 * with a session lookup per request (sessions.ts), the health
 * hierarchy (L1 dependencies, L2 application, L3 business check) and fallback responses.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { COLOR_HEADER, FALLBACK_HEADER, ParityError, SERVICE_HEADER, VERSION_HEADER } from '../../../services/contracts/index.js';
import { DependencyUnavailableError } from './breakers.js';
import type { Cache, createCache } from './cache.js';
import type { Database, createDatabase } from './database.js';
import { createMetrics, type Metrics } from './metrics.js';
import { runMigrations, type Migration, type MigrationResult } from './migrations.js';
import type { Settings } from './settings.js';
import type { Store, createStore } from './store.js';
import { createSigner, createVerifier, keySource, type Signer } from './keys.js';
import { isWriteMethod, sessionState, STATELESS_FALLBACK } from './sessions.js';
import { withTimeout } from './timeout.js';

export const ROLES = ['member', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  readonly id: string;
  readonly email: string;
  readonly role: Role;
  readonly sessionId: string;
}

/** An error with an HTTP status and a JSON body; `field` names the input at fault. */
export class HttpError extends ParityError {
  // Spelled out: a bundler may rename the class, and the name is part of what the logs show.
  override readonly name: string = 'HttpError';
  /** 2 for the caller's fault (4xx), 1 for the service's (5xx), like every ParityError. */
  readonly exitCode: number;
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly details?: unknown,
    /** Response headers that go with the answer (e.g. `retry-after`). */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.exitCode = status < 500 ? 2 : 1;
  }
}

/** A valid token whose role is below the route's: 403. Carries the caller, so the refusal can be audited with its actor. */
export class RoleRefusedError extends HttpError {
  override readonly name = 'RoleRefusedError';
  constructor(
    readonly user: User,
    readonly needed: Role,
  ) {
    super(403, `role ${needed} required (you are ${user.role})`);
  }
}

/** Parse `value` (the request's `where`: body, query, params) or throw a 400 naming the first bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params'): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ field: [where, ...issue.path].join('.'), message: issue.message }));
  throw new HttpError(400, `${issues[0]!.field}: ${issues[0]!.message}`, issues[0]!.field, issues);
}

export interface HealthCheck {
  readonly ok: boolean;
  /** Failing an optional check degrades (`warn`, still 200); failing a required one fails (503). */
  readonly required: boolean;
  readonly latencyMs?: number;
  readonly error?: string;
  readonly [detail: string]: unknown;
}

/**
 * The clients a service connects with. Each service passes in the ones it uses instead of this
 * module importing them all, so its bundle holds only those drivers (pg, ioredis, and the AWS
 * SDK: 1.4 MB of code and about 10 MiB of an idle stub's memory). A client is created only
 * when its settings are present too: a client the service doesn't name is never created, even
 * if its settings are (compose gives every data service the S3 endpoint).
 */
export interface StubClients {
  /** Postgres primary and replica (`DATABASE_*`). @default none */
  readonly database?: typeof createDatabase;
  /** Redis (`REDIS_URL`). @default none */
  readonly cache?: typeof createCache;
  /** The S3 store (`S3_*`). @default none */
  readonly store?: typeof createStore;
}

export interface StubDefinition {
  /** What the service connects with (see `StubClients`). */
  readonly clients: StubClients;
  /** Schema changes, applied at start under a lock. */
  readonly migrations: readonly Migration[];
  /** Dependencies without which the service can't do its job: their failure makes /health 503. */
  readonly requires: readonly ('postgres-primary' | 'redis')[];
  /** L3: a real request through the service's own logic. */
  readonly businessCheck: (context: StubContext) => Promise<Record<string, unknown>>;
  /** Runs once migrations are done (e.g. auth creates the admin account). */
  readonly afterMigrations?: (context: StubContext) => Promise<void>;
  readonly routes: (app: FastifyInstance, context: StubContext) => void;
}

export interface StubContext {
  readonly settings: Settings;
  readonly metrics: Metrics;
  readonly db?: Database;
  readonly cache?: Cache;
  readonly store?: Store;
  /**
   * The verified caller with a live session, or a 401/403. With Redis unavailable a read is
   * served on the token alone (the answer says `auth-stateless`) and a write is refused (503).
   * `method` is the request's unless given (forwardAuth judges the forwarded request's).
   */
  requireUser(request: FastifyRequest, role?: Role, method?: string): Promise<User>;
  /** The caller if a valid token with a live session came with the request (never throws for a bad one). */
  optionalUser(request: FastifyRequest): Promise<User | undefined>;
  /** The token's claims only, no session lookup (the health check's round trip). */
  verifyToken(token: string): Promise<User | undefined>;
  /** Sign a token with the newest private key (auth only: the others have no private keys). */
  readonly signToken?: Signer;
  /** Whether this request's user was accepted on the token alone (Redis unavailable). */
  isStateless(request: FastifyRequest): boolean;
  /** Send a fallback response: it says so in a header and in the body. */
  sendFallback(reply: FastifyReply, fallback: string, reason: unknown, body: Record<string, unknown>, status?: number): FastifyReply;
  readonly migration: { done: boolean; result?: MigrationResult; lastError?: string; attempts: number };
}

/** Requests served on the token alone (Redis unavailable): their answers say so in FALLBACK_HEADER. */
const statelessRequests = new WeakSet<FastifyRequest>();

function createContext(settings: Settings, metrics: Metrics, clients: StubClients): StubContext {
  const cache = settings.redisUrl && clients.cache ? clients.cache(settings.redisUrl, settings.breakers, metrics, settings.redisPasswordFile) : undefined;
  const db = settings.database && clients.database ? clients.database(settings.database, settings.breakers, metrics, cache) : undefined;
  const store = settings.s3 && clients.store ? clients.store(settings.s3, settings.breakers, metrics) : undefined;
  // Auth verifies its own tokens with the public set too; one without it uses its private keys' public halves.
  const publicSet = settings.publicKeys ?? settings.signingKeys;
  const verifier = publicSet ? createVerifier(keySource(publicSet.set, { ...(publicSet.file ? { path: publicSet.file } : {}), needPrivate: publicSet === settings.signingKeys })) : undefined;
  const signer = settings.signingKeys ? createSigner(keySource(settings.signingKeys.set, { ...(settings.signingKeys.file ? { path: settings.signingKeys.file } : {}), needPrivate: true })) : undefined;

  const verifyToken = async (token: string): Promise<User | undefined> => {
    if (!token || !verifier) return undefined;
    try {
      const payload = await verifier(token);
      const role = ROLES.includes(payload.role as Role) ? (payload.role as Role) : undefined;
      if (!payload.sub || !role) return undefined;
      return { id: payload.sub, email: String(payload.email ?? ''), role, sessionId: String(payload.sid ?? '') };
    } catch {
      return undefined;
    }
  };
  const bearer = (request: FastifyRequest) => {
    const header = request.headers.authorization ?? '';
    return header.startsWith('Bearer ') ? header.slice(7) : '';
  };
  const markStateless = (request: FastifyRequest) => {
    if (statelessRequests.has(request)) return;
    statelessRequests.add(request);
    metrics.fallbacks.inc({ fallback: STATELESS_FALLBACK });
  };

  return {
    settings,
    metrics,
    ...(db ? { db } : {}),
    ...(cache ? { cache } : {}),
    ...(store ? { store } : {}),
    migration: { done: false, attempts: 0 },
    verifyToken,
    ...(signer ? { signToken: signer } : {}),
    isStateless: (request) => statelessRequests.has(request),
    async optionalUser(request) {
      const user = await verifyToken(bearer(request));
      if (!user) return undefined;
      const state = await sessionState(cache, user.sessionId, user.id);
      if (state === 'live') return user;
      // A write with sessions unknown proceeds as anonymous: whatever it may do, anyone may.
      if (state === 'ended' || isWriteMethod(request.method)) return undefined;
      markStateless(request);
      return user;
    },
    async requireUser(request, role, method = request.method) {
      const user = await verifyToken(bearer(request));
      if (!user) throw new HttpError(401, 'a valid bearer token is required (POST /auth/login)');
      if (role && ROLES.indexOf(user.role) < ROLES.indexOf(role)) throw new RoleRefusedError(user, role);
      const state = await sessionState(cache, user.sessionId, user.id);
      if (state === 'ended') throw new HttpError(401, 'session ended (logged out or revoked): log in again');
      if (state === 'unavailable') {
        if (isWriteMethod(method)) {
          throw new HttpError(503, `sessions can't be checked (redis unavailable): ${method.toUpperCase()} is refused until it is back; reads still work on the token alone`);
        }
        markStateless(request);
      }
      return user;
    },
    sendFallback(reply, fallback, reason, body, status = 200) {
      metrics.fallbacks.inc({ fallback });
      const why = reason instanceof Error ? reason.message : String(reason);
      return reply.code(status).header(FALLBACK_HEADER, fallback).send({ fallback: true, fallbackReason: why, ...body });
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The L1 checks this context's dependencies support. */
async function checkDependencies(context: StubContext, definition: StubDefinition): Promise<Record<string, HealthCheck>> {
  const checks: Record<string, Promise<HealthCheck>> = {};
  const timed = async (required: boolean, work: () => Promise<Record<string, unknown>>): Promise<HealthCheck> => {
    const started = performance.now();
    try {
      const detail = await withTimeout(work(), 1000, 'check');
      return { ok: detail.ok !== false, required, latencyMs: Math.round(performance.now() - started), ...detail };
    } catch (error) {
      return { ok: false, required, latencyMs: Math.round(performance.now() - started), error: (error as Error).message };
    }
  };
  const { db, cache, store } = context;
  if (db) {
    checks['postgres-primary'] = timed(definition.requires.includes('postgres-primary'), async () => {
      // A standby region's writer is a standby leader until it is promoted: it serves reads, and says so.
      const row = (
        await db.primary.query<{ lsn: string; standby: boolean }>(
          'SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn, pg_is_in_recovery() AS standby',
        )
      ).rows[0]!;
      return { pool: { total: db.primary.totalCount, idle: db.primary.idleCount, waiting: db.primary.waitingCount }, lsn: row.lsn, ...(row.standby ? { standby: true } : {}), breaker: db.primaryBreaker.state() };
    });
    if (db.replica) {
      checks['postgres-replica'] = timed(false, async () => {
        const row = (
          await db.replica!.query<{ recovery: boolean; lsn: string | null; lag: number | null }>(
            `SELECT pg_is_in_recovery() AS recovery, pg_last_wal_replay_lsn()::text AS lsn,
               CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END::float AS lag`,
          )
        ).rows[0]!;
        // Architecture: replication lag < 1 second.
        const lagSeconds = row.lag ?? 0;
        return { ok: row.recovery && lagSeconds < 1, inRecovery: row.recovery, lagSeconds, replayLsn: row.lsn, breaker: db.replicaBreaker?.state() };
      });
    }
  }
  if (cache) {
    checks.redis = timed(definition.requires.includes('redis'), async () => {
      const probe = await cache.probe();
      // Architecture: memory < 80 % (of maxmemory, when one is set).
      const memoryShare = probe.maxBytes > 0 ? probe.usedBytes / probe.maxBytes : 0;
      return { ok: memoryShare < 0.8, memoryShare, latencyMs: Math.round(probe.latencyMs * 10) / 10, breaker: cache.breaker.state() };
    });
  }
  if (store) {
    checks.s3 = timed(false, async () => ({ ...(await store.probe('images')), breaker: store.breaker.state() }));
  }
  const entries = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await check] as const));
  return Object.fromEntries(entries);
}

/** Build the stub's server (not listening): routes, hooks, health and metrics. */
export function createStubApp(settings: Settings, definition: StubDefinition): { app: FastifyInstance; context: StubContext } {
  const metrics = createMetrics({ service: settings.service, color: settings.color, version: settings.version });
  const context = createContext(settings, metrics, definition.clients);
  const app = Fastify({
    logger: { level: settings.logLevel },
    bodyLimit: 2 * 1024 * 1024,
    // In-flight requests finish on SIGTERM; idle keep-alive sockets close so a drain ends. A request
    // that arrives on a kept-alive connection while closing is still served (the stores are still
    // there), not answered 503: a balancer that has not seen the task go (Traefik over Swarm's DNS)
    // may send one, and users would get the 503 (measured: 3 per drained node at 35 requests/s).
    forceCloseConnections: 'idle',
    return503OnClosing: false,
  });
  app.addContentTypeParser(['image/png', 'image/jpeg', 'image/webp', 'application/pdf', 'text/plain'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const counted = (url: string) => !url.startsWith('/metrics') && !url.startsWith('/health');
  app.addHook('onRequest', async (request, reply) => {
    if (counted(request.url)) {
      // 'close' fires once however the exchange ends (sent, or aborted by the client).
      metrics.inFlight.inc();
      reply.raw.once('close', () => metrics.inFlight.dec());
    }
    reply.header(VERSION_HEADER, settings.version);
    reply.header(COLOR_HEADER, settings.color);
    reply.header(SERVICE_HEADER, settings.service);
    reply.header('x-content-type-options', 'nosniff');
    // FAULT applies to the API only: /health stays green so a bad version passes the health
    // gates and must be caught by the canary's metrics, as in production.
    if (request.url.startsWith('/api/')) {
      if (settings.fault.latencyMs > 0) await sleep(settings.fault.latencyMs);
      if (settings.fault.errorRate > 0 && Math.random() < settings.fault.errorRate) {
        return reply.code(500).send({ error: 'injected fault (FAULT setting)', fault: settings.fault });
      }
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (statelessRequests.has(request)) {
      const existing = reply.getHeader(FALLBACK_HEADER);
      if (!String(existing ?? '').split(',').includes(STATELESS_FALLBACK)) reply.header(FALLBACK_HEADER, existing ? `${String(existing)},${STATELESS_FALLBACK}` : STATELESS_FALLBACK);
    }
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics' || route.startsWith('/health')) return;
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });
  app.setErrorHandler(async (error, request, reply) => {
    if (error instanceof HttpError) {
      if (error.status === 503) reply.header('retry-after', '5');
      if (error.headers) reply.headers(error.headers);
      return reply.code(error.status).send({ error: error.message, ...(error.field ? { field: error.field } : {}), ...(error.details ? { issues: error.details } : {}) });
    }
    if (error instanceof DependencyUnavailableError) {
      return reply.code(503).header('retry-after', '5').send({ error: error.message, dependency: error.dependency });
    }
    // A constraint the database enforces (e.g. an event ending before it starts): the input's fault.
    const sqlState = (error as { code?: unknown }).code;
    if (typeof sqlState === 'string' && /^(22|23)[0-9A-Z]{3}$/.test(sqlState)) {
      const conflict = sqlState === '23505';
      return reply.code(conflict ? 409 : 400).send({ error: `${conflict ? 'already exists' : 'invalid value'}: ${(error as Error).message}`, field: 'body' });
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      // Fastify's own: malformed JSON, wrong content type, body too large.
      return reply.code(status).send({ error: (error as Error).message, field: 'body' });
    }
    request.log.error(error);
    return reply.code(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler(async (request, reply) => reply.code(404).send({ error: `no route for ${request.method} ${request.url.split('?')[0]}` }));

  app.get('/metrics', async (_request, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()));

  const application = (): HealthCheck => ({
    ok: context.migration.done,
    required: true,
    configLoaded: true,
    migrations: context.migration.done
      ? { done: true, applied: context.migration.result?.applied ?? [], alreadyApplied: context.migration.result?.alreadyApplied ?? 0 }
      : { done: false, attempts: context.migration.attempts, lastError: context.migration.lastError ?? 'not run yet' },
    uptimeSeconds: Math.round(process.uptime()),
  });
  // Liveness for the load balancer: the process serves and its schema is in place. Traefik
  // keeps routing while a dependency is down so users get the fallbacks, not "no server".
  app.get('/health/live', async (_request, reply) => {
    const l2 = application();
    return reply.code(l2.ok ? 200 : 503).send({ status: l2.ok ? 'pass' : 'fail', service: settings.service, version: settings.version, l2 });
  });
  app.get('/health', async (_request, reply) => {
    const started = performance.now();
    const l1 = await checkDependencies(context, definition);
    const l2 = application();
    let l3: HealthCheck;
    if (!l2.ok) {
      l3 = { ok: false, required: true, error: 'skipped: application not ready (L2)' };
    } else {
      const l3Started = performance.now();
      try {
        l3 = { ok: true, required: true, ...(await withTimeout(definition.businessCheck(context), 2000, 'business check')), latencyMs: Math.round(performance.now() - l3Started) };
      } catch (error) {
        l3 = { ok: false, required: true, error: (error as Error).message, latencyMs: Math.round(performance.now() - l3Started) };
      }
    }
    const all = [...Object.values(l1), l2, l3];
    const status = all.some((check) => !check.ok && check.required) ? 'fail' : all.some((check) => !check.ok) ? 'warn' : 'pass';
    return reply.code(status === 'fail' ? 503 : 200).send({
      status,
      service: settings.service,
      color: settings.color,
      version: settings.version,
      checks: { l1, l2, l3 },
      elapsedMs: Math.round(performance.now() - started),
    });
  });

  definition.routes(app, context);
  app.addHook('onClose', async () => {
    await context.db?.close();
    await context.cache?.close();
    context.store?.close();
  });
  return { app, context };
}

/** Apply migrations, retrying until the primary answers (it may start after the stub). */
export async function migrateUntilDone(context: StubContext, definition: StubDefinition, log: (message: string) => void, signal?: AbortSignal): Promise<void> {
  if (!context.db) {
    context.migration.done = true;
    return;
  }
  for (;;) {
    context.migration.attempts += 1;
    try {
      context.migration.result = await runMigrations(context.db.primary, context.settings.service, definition.migrations);
      // On a standby (a DR region before promotion) what afterMigrations writes came by replication.
      if (!context.migration.result.standby) await definition.afterMigrations?.(context);
      context.migration.done = true;
      const { applied, alreadyApplied, waitedForLockMs } = context.migration.result;
      log(`migrations: ${applied.length ? `applied ${applied.join(', ')}` : 'nothing to apply'} (${alreadyApplied} already applied, waited ${waitedForLockMs} ms for the lock)`);
      return;
    } catch (error) {
      context.migration.lastError = (error as Error).message;
      log(`migrations: attempt ${context.migration.attempts} failed (${context.migration.lastError}); retrying in 1 s`);
      if (signal?.aborted) return;
      await sleep(1000);
    }
  }
}
