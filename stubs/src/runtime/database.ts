/**
 * Postgres: writes go to the primary, reads to the streaming replica. Right after a user's own
 * write their reads follow the WAL: the write's LSN is remembered (in Redis, so blue and green
 * share it) and a read goes to the replica only once the replica has replayed past it.
 */
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { lsnBytes } from '../../../services/contracts/index.js';
import { createBreaker, DependencyUnavailableError, type Breaker } from './breakers.js';
import type { Cache } from './cache.js';
import type { Metrics } from './metrics.js';
import type { BreakerSettings, DatabaseSettings } from './settings.js';

export type ReadSource = 'replica' | 'primary';

/** SQLSTATE classes that are the request's fault (bad data, constraint), not the database's. */
const isClientError = (error: unknown): boolean => {
  const code = (error as { code?: string }).code ?? '';
  return /^(22|23)/.test(code) || code === 'P0001';
};

/** How long a user's last-write position is kept: longer than any sane replica lag. */
const RYW_TTL_SECONDS = 60;

/**
 * How often an open database breaker checks whether its endpoint answers again. HAProxy checks the
 * nodes every 250 ms; at 1 s users waited up to a second more than the database's own recovery
 * (partition-primary, 2026-12-07: 0.4–1.3 s past the first write acknowledged through HAProxy,
 * against a budget of 1 s). A probe is one short connection, and only while the breaker is open.
 */
const PROBE_INTERVAL_MS = 250;

/**
 * A new connection refused for its password: `make rotate-secrets` is between changing the role's
 * password and rewriting the file (or the other way round). Such a query never ran, so it is
 * tried again after this long (up to ROTATION_RETRIES times), with the file read again.
 */
const ROTATION_RETRY_MS = 250;
const ROTATION_RETRIES = 3;
const isPasswordRefused = (error: unknown): boolean => (error as { code?: string }).code === '28P01';

async function retryingRotation<T>(work: () => Promise<T>, retries = ROTATION_RETRIES): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isPasswordRefused(error) || retries === 0) throw error;
    await new Promise((resolve) => setTimeout(resolve, ROTATION_RETRY_MS));
    return retryingRotation(work, retries - 1);
  }
}

export interface Database {
  readonly primaryBreaker: Breaker;
  readonly replicaBreaker?: Breaker;
  readonly primary: pg.Pool;
  readonly replica?: pg.Pool;
  /** Run statements in one transaction on the primary; `user` (if any) gets read-your-writes. */
  write<T>(user: string | undefined, work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** A read: replica unless `user` wrote something the replica hasn't replayed yet. */
  read<R extends pg.QueryResultRow>(user: string | undefined, text: string, params?: unknown[]): Promise<{ rows: R[]; from: ReadSource }>;
  close(): Promise<void>;
}

export function createDatabase(settings: DatabaseSettings, breakers: BreakerSettings, metrics: Metrics, cache?: Cache): Database {
  const { passwordFile } = settings;
  // The file's current content for every new connection (rotation), the one read at start if it can't be read.
  const password = passwordFile ? async () => (await readFile(passwordFile, 'utf8').catch(() => settings.password)).trim() : settings.password;
  const poolFor = (host: string, port: number, applicationName: string) => {
    const pool = new pg.Pool({
      host,
      port,
      database: settings.name,
      user: settings.user,
      password,
      max: 10,
      connectionTimeoutMillis: 1500,
      idleTimeoutMillis: 10_000,
      statement_timeout: 5000,
      application_name: applicationName,
    });
    // An idle client losing its server emits here; without a listener the process would crash.
    pool.on('error', () => {});
    // So does a checked-out one whose connection is cut between two queries (HAProxy cuts every
    // session of a demoted leader): the query in progress rejects anyway; the event must not
    // crash the service in the middle of a failover (it did: events restarted, users got 502s).
    pool.on('connect', (client) => client.on('error', () => {}));
    return pool;
  };
  const primary = poolFor(settings.host, settings.port, 'parity-stub');
  const replica = settings.replicaHost ? poolFor(settings.replicaHost, settings.replicaPort, 'parity-stub-reader') : undefined;
  // After a failover the writer endpoint answers again within seconds: a probe outside the
  // breaker (a fresh connection, so no dead pooled socket answers for it) closes it then.
  const probeOn = (host: string, port: number, sql: string) => ({
    intervalMs: PROBE_INTERVAL_MS,
    check: async () => {
      const client = new pg.Client({ host, port, database: settings.name, user: settings.user, password, connectionTimeoutMillis: 1000, query_timeout: 1000 });
      client.on('error', () => {});
      try {
        await client.connect();
        const ok = (await client.query<{ ok: boolean }>(sql)).rows[0]?.ok;
        if (!ok) throw new Error(`${host}: not ready (${sql})`);
      } finally {
        await client.end().catch(() => {});
      }
    },
  });
  const primaryBreaker = createBreaker('postgres-primary', breakers, metrics, { timeoutMs: breakers.timeoutsMs.dbWrite, isClientError, probe: probeOn(settings.host, settings.port, 'SELECT NOT pg_is_in_recovery() AS ok') });
  const replicaBreaker = replica && settings.replicaHost ? createBreaker('postgres-replica', breakers, metrics, { timeoutMs: breakers.timeoutsMs.dbRead, isClientError, probe: probeOn(settings.replicaHost, settings.replicaPort, 'SELECT true AS ok') }) : undefined;
  const lastWrites = new Map<string, { lsn: string; until: number }>();

  const timed = async <T>(pool: 'primary' | 'replica', work: () => Promise<T>): Promise<T> => {
    const end = metrics.dbQueryDuration.startTimer({ pool });
    try {
      return await work();
    } finally {
      end();
    }
  };

  const rememberWrite = async (user: string, lsn: string) => {
    lastWrites.set(user, { lsn, until: Date.now() + RYW_TTL_SECONDS * 1000 });
    await cache?.set(`ryw:${user}`, lsn, RYW_TTL_SECONDS).catch(() => {
      // Redis away: the in-process record still covers this instance.
    });
  };
  const forgetWrite = async (user: string) => {
    lastWrites.delete(user);
    await cache?.del(`ryw:${user}`).catch(() => {});
  };
  const lastWrite = async (user: string): Promise<string | undefined> => {
    const local = lastWrites.get(user);
    if (local && local.until < Date.now()) lastWrites.delete(user);
    const shared = await cache?.get(`ryw:${user}`).catch(() => null);
    const mine = local && local.until >= Date.now() ? local.lsn : undefined;
    // The later of the two: Redis may hold an older position if a newer one failed to reach it.
    if (shared && mine) return lsnBytes(shared) >= lsnBytes(mine) ? shared : mine;
    return shared ?? mine;
  };

  const queryOn = async <R extends pg.QueryResultRow>(which: ReadSource, text: string, params: unknown[]) => {
    const breaker = which === 'primary' ? primaryBreaker : replicaBreaker!;
    const pool = which === 'primary' ? primary : replica!;
    return breaker.call('query', () => timed(which, () => retryingRotation(() => pool.query<R>(text, params))));
  };

  const readWithFallback = async <R extends pg.QueryResultRow>(source: ReadSource, text: string, params: unknown[]): Promise<{ rows: R[]; from: ReadSource }> => {
    try {
      return { rows: (await queryOn<R>(source, text, params)).rows, from: source };
    } catch (error) {
      // One pool down: the other still has the data (the replica possibly a little behind).
      const other: ReadSource = source === 'replica' ? 'primary' : 'replica';
      if (!(error instanceof DependencyUnavailableError) || (other === 'replica' && !replica)) throw error;
      return { rows: (await queryOn<R>(other, text, params)).rows, from: other };
    }
  };

  /** `work`'s answer if it comes within the hedge delay, else undefined (work goes on, unheeded). */
  const withinHedge = async <T>(work: Promise<T>): Promise<T | undefined> => {
    work.catch(() => {});
    if (breakers.hedgeReadsMs === 0) return work.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, breakers.hedgeReadsMs, undefined)));
    try {
      return await Promise.race([work.catch(() => undefined), late]);
    } finally {
      clearTimeout(timer);
    }
  };

  /**
   * A replica read that hasn't answered within the hedge delay is asked of the primary too; the
   * first answer wins. The slow one runs on to its own timeout and counts against the replica's
   * breaker, so the breaker still opens; users no longer wait for it meanwhile, nor queue behind
   * the reads that did once it opens.
   */
  const hedged = async <R extends pg.QueryResultRow>(text: string, params: unknown[]): Promise<{ rows: R[]; from: ReadSource }> => {
    const onReplica = queryOn<R>('replica', text, params).then((result) => ({ rows: result.rows, from: 'replica' as ReadSource }));
    onReplica.catch(() => {});
    const hedgeMs = breakers.hedgeReadsMs;
    let timer: NodeJS.Timeout | undefined;
    const slow = hedgeMs === 0 ? new Promise<'slow'>(() => {}) : new Promise<'slow'>((resolve) => (timer = setTimeout(resolve, hedgeMs, 'slow')));
    const first = await Promise.race([onReplica.then(
      (answer) => ({ answer }),
      (error: unknown) => ({ error }),
    ), slow]);
    clearTimeout(timer);
    if (first !== 'slow') {
      if ('answer' in first) return first.answer;
      if (!(first.error instanceof DependencyUnavailableError)) throw first.error;
      return { rows: (await queryOn<R>('primary', text, params)).rows, from: 'primary' };
    }
    metrics.hedgedReads.inc();
    const onPrimary = queryOn<R>('primary', text, params).then((result) => ({ rows: result.rows, from: 'primary' as ReadSource }));
    try {
      return await Promise.any([onPrimary, onReplica]);
    } catch (error) {
      // Both failed: the primary's reason (the replica's is a timeout users never waited for).
      throw (error as AggregateError).errors[0];
    }
  };

  return {
    primary,
    primaryBreaker,
    ...(replica ? { replica } : {}),
    ...(replicaBreaker ? { replicaBreaker } : {}),
    async write(user, work) {
      const { result, lsn } = await primaryBreaker.call('transaction', () =>
        timed('primary', async () => {
          const client = await retryingRotation(() => primary.connect());
          try {
            await client.query('BEGIN');
            const result = await work(client);
            await client.query('COMMIT');
            const lsn = (await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
            return { result, lsn };
          } catch (error) {
            await client.query('ROLLBACK').catch(() => {});
            throw error;
          } finally {
            client.release();
          }
        }),
      );
      if (user) await rememberWrite(user, lsn);
      return result;
    },
    async read<R extends pg.QueryResultRow>(user: string | undefined, text: string, params: unknown[] = []) {
      let source: ReadSource = replica ? 'replica' : 'primary';
      if (replica && user) {
        const lsn = await lastWrite(user);
        if (lsn) {
          // The reader may be the leader itself (no healthy replica): it has every write.
          // A reader too slow to say is as good as behind: the primary answers instead.
          const caughtUp = await withinHedge(queryOn<{ ok: boolean }>('replica', 'SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [lsn]));
          if (!caughtUp?.rows[0]?.ok) {
            source = 'primary';
            // After a failover the new leader's history may never reach a position the old one
            // gave (asynchronous loss): such a record would send this user to the primary until
            // it expires. A position beyond the leader's own is from a lost history: forget it.
            const behind = await queryOn<{ behind: boolean }>('primary', 'SELECT pg_current_wal_lsn() < $1::pg_lsn AS behind', [lsn]).catch(() => undefined);
            if (behind?.rows[0]?.behind) await forgetWrite(user);
          }
        }
      }
      if (source === 'replica') return hedged<R>(text, params);
      return readWithFallback<R>(source, text, params);
    },
    async close() {
      primaryBreaker.shutdown();
      replicaBreaker?.shutdown();
      await Promise.all([primary.end(), replica?.end()]);
    },
  };
}
