/**
 * Where the services' schema migrations meet the stack's db-init (services/topology/database-roles.ts):
 * one table records what every service applied, and one advisory lock keeps migrations and db-init
 * from interleaving.
 */

/** The advisory lock ("pari") every service's migrations and db-init take. */
export const MIGRATION_LOCK_KEY = 0x70617269;

/** The table of applied migrations, one row per service and migration. */
export const MIGRATIONS_TABLE = 'public.parity_migrations';

/** Its columns, as both its creators write them. */
export const MIGRATIONS_TABLE_COLUMNS = 'service text NOT NULL, id integer NOT NULL, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (service, id)';
