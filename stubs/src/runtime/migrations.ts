/**
 * Schema migrations, run at start by every instance. They are idempotent (applied ids are
 * recorded) and locked (a transaction-scoped advisory lock), so blue and green starting
 * together — or two replicas of one service — never race.
 */
import type pg from 'pg';
import { MIGRATION_LOCK_KEY, MIGRATIONS_TABLE, MIGRATIONS_TABLE_COLUMNS } from '../../../services/contracts/index.js';

export interface Migration {
  /** Increasing within a service; never reuse or edit an applied one. */
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * A service's schema, when missing. In the stack it exists already, owned by the service's role
 * (services/topology/database-roles.ts), and that role may not create schemas: `CREATE SCHEMA IF NOT
 * EXISTS` checks the right before existence, so the check comes first. A superuser (tests) creates it.
 */
export const ensureSchema = (schema: string): string =>
  `DO $ensure$ BEGIN IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = '${schema}') THEN CREATE SCHEMA ${schema}; END IF; END $ensure$;`;


export interface MigrationResult {
  readonly applied: readonly string[];
  readonly alreadyApplied: number;
  readonly waitedForLockMs: number;
  /** The database was a read-only standby: nothing applied, nothing to apply. */
  readonly standby?: boolean;
}

export async function runMigrations(pool: pg.Pool, service: string, migrations: readonly Migration[]): Promise<MigrationResult> {
  const client = await pool.connect();
  try {
    // A standby region's database is read-only until it is promoted: its schema came by
    // replication, so the service may serve reads once every migration is already there.
    if ((await client.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')).rows[0]?.standby) {
      const done = new Set((await client.query<{ id: number }>("SELECT id FROM parity_migrations WHERE service = $1", [service]).catch(() => ({ rows: [] as { id: number }[] }))).rows.map((row) => row.id));
      const missing = migrations.filter((migration) => !done.has(migration.id)).map((migration) => `${migration.id}-${migration.name}`);
      if (missing.length) throw new Error(`the database is a read-only standby and lacks migrations ${missing.join(', ')} (they apply once it is promoted)`);
      return { applied: [], alreadyApplied: done.size, waitedForLockMs: 0, standby: true };
    }
    await client.query('BEGIN');
    const started = performance.now();
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    const waitedForLockMs = Math.round(performance.now() - started);
    // The stack's db-init creates it (with row-level security per service role): an app role may
    // not create tables in public, and CREATE ... IF NOT EXISTS checks that right before existence.
    if (!(await client.query<{ present: boolean }>(`SELECT to_regclass('${MIGRATIONS_TABLE}') IS NOT NULL AS present`)).rows[0]?.present) {
      await client.query(`CREATE TABLE ${MIGRATIONS_TABLE} (${MIGRATIONS_TABLE_COLUMNS})`);
    }
    const done = new Set((await client.query<{ id: number }>('SELECT id FROM parity_migrations WHERE service = $1', [service])).rows.map((row) => row.id));
    const applied: string[] = [];
    for (const migration of [...migrations].sort((a, b) => a.id - b.id)) {
      if (done.has(migration.id)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO parity_migrations (service, id, name) VALUES ($1, $2, $3)', [service, migration.id, migration.name]);
      applied.push(`${migration.id}-${migration.name}`);
    }
    await client.query('COMMIT');
    return { applied, alreadyApplied: done.size, waitedForLockMs };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
