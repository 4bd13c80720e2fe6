/**
 * Test doubles for the stubs' clients: an in-memory Cache with Redis's semantics for what the
 * stubs use, and a switch that makes every call fail like an open breaker (Redis away).
 */
import { DependencyUnavailableError, type Breaker } from '../../stubs/src/runtime/breakers.js';
import type pg from 'pg';
import type { Cache } from '../../stubs/src/runtime/cache.js';
import type { Database } from '../../stubs/src/runtime/database.js';

export interface MemoryCache extends Cache {
  readonly entries: Map<string, { value: string; expiresAt: number }>;
  /** While true every call fails with DependencyUnavailableError (reason `open`). */
  down: boolean;
}

export function memoryCache(): MemoryCache {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) entries.delete(key);
    return entries.get(key);
  };
  const breaker: Breaker = { name: 'redis', call: (_label, operation) => operation(), state: () => 'closed', shutdown: () => {} };
  const cache: MemoryCache = {
    entries,
    down: false,
    breaker,
    get: async (key) => (guard(), live(key)?.value ?? null),
    set: async (key, value, ttlSeconds) => {
      guard();
      entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
    },
    del: async (key) => {
      guard();
      entries.delete(key);
    },
    replaceIfField: async (key, field, expected, value, ttlSeconds) => {
      guard();
      const entry = live(key);
      if (!entry) return 'missing';
      if ((JSON.parse(entry.value) as Record<string, unknown>)[field] !== expected) {
        entries.delete(key);
        return 'mismatch';
      }
      entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
      return 'replaced';
    },
    increment: async (key, ttlSeconds) => {
      guard();
      const entry = live(key);
      const count = Number(entry?.value ?? 0) + 1;
      entries.set(key, { value: String(count), expiresAt: entry?.expiresAt ?? Date.now() + ttlSeconds * 1000 });
      return count;
    },
    ttl: async (key) => {
      guard();
      const entry = live(key);
      return entry ? Math.ceil((entry.expiresAt - Date.now()) / 1000) : 0;
    },
    probe: async () => (guard(), { latencyMs: 0, usedBytes: 0, maxBytes: 0 }),
    close: async () => {},
  };
  function guard() {
    if (cache.down) throw new DependencyUnavailableError('redis', 'open');
  }
  return cache;
}

export interface FakeUser {
  id: string;
  email: string;
  role: 'member' | 'editor' | 'admin';
  password_hash: string;
}

/** A statement the fake ran: SQL with whitespace collapsed, its parameters, and which `write` ran it (0: outside one). */
export interface FakeStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly transaction: number;
}

export interface FakeDatabase extends Database {
  readonly users: FakeUser[];
  /** Every statement run, in order. */
  readonly statements: FakeStatement[];
}

/** Rows for a statement the fake doesn't know itself (undefined: it fails the test). */
export type FakeAnswer = (sql: string, params: readonly unknown[]) => unknown[] | undefined;

/**
 * A database that understands the handful of statements auth runs (users and audit rows), and
 * what `answer` answers, so handlers run without Postgres. Anything else fails the test loudly.
 */
export function fakeDatabase(users: FakeUser[] = [], answer: FakeAnswer = () => undefined): FakeDatabase {
  const statements: FakeStatement[] = [];
  let transactions = 0;
  let transaction = 0;
  const query = async (text: string, params: readonly unknown[] = []): Promise<{ rows: unknown[]; rowCount: number }> => {
    const sql = text.replace(/\s+/g, ' ').trim();
    statements.push({ sql, params, transaction });
    const result = (rows: unknown[]) => ({ rows, rowCount: rows.length });
    if (sql.startsWith('SELECT id, email, role, password_hash FROM auth.users WHERE email = $1')) return result(users.filter((user) => user.email === params[0]));
    if (sql.startsWith('SELECT role, email FROM auth.users WHERE id = $1')) return result(users.filter((user) => user.id === params[0]));
    if (sql.startsWith('UPDATE auth.users SET password_hash = $2 WHERE id = $1')) {
      const user = users.find((candidate) => candidate.id === params[0]);
      if (user) user.password_hash = String(params[1]);
      return result(user ? [user] : []);
    }
    if (sql.startsWith('UPDATE auth.users SET role = $2 WHERE email = $1')) {
      const user = users.find((candidate) => candidate.email === params[0]);
      if (user) user.role = params[1] as FakeUser['role'];
      return result(user ? [user] : []);
    }
    if (sql.startsWith('INSERT INTO audit.events')) return result([]);
    const answered = answer(sql, params);
    if (answered) return result(answered);
    throw new Error(`fake database: unexpected statement ${sql}`);
  };
  const primaryBreaker: Breaker = { name: 'postgres-primary', call: (_label, operation) => operation(), state: () => 'closed', shutdown: () => {} };
  const client = { query } as unknown as pg.PoolClient;
  return {
    users,
    statements,
    primaryBreaker,
    primary: { query, totalCount: 0, idleCount: 0, waitingCount: 0 } as unknown as pg.Pool,
    write: async (_user, work) => {
      transaction = transactions += 1;
      try {
        return await work(client);
      } finally {
        transaction = 0;
      }
    },
    read: async <R extends pg.QueryResultRow>(_user: string | undefined, text: string, params?: unknown[]) => ({ rows: (await query(text, params)).rows as R[], from: 'primary' as const }),
    close: async () => {},
  };
}
