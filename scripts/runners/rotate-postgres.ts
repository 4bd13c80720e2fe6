/**
 * New passwords for the database roles (each app's, the exporters'), without downtime. The
 * passwords are set by the stack's own db-init step (roles.sql), run again: no second way to set
 * them. Order: the new values in the host's secret files and in db-init's copies, db-init run
 * (ALTER ROLE … PASSWORD, one transaction), then every other copy rewritten in place. The apps
 * read their file for every new connection and retry one refused for its password (the moment
 * between the two), pooled connections are not affected; the exporters read it at start only and
 * are restarted (nobody's request goes through them).
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { ParityError } from '../../services/errors.js';
import { databaseEndpoints } from '../../services/config/profiles.js';
import type { ParityConfig } from '../../services/config/schema.js';
import { DATABASE } from '../../services/topology/common.js';
import { DB_INIT } from '../../services/config/profiles.js';
import { DB_ROLE_SECRETS, DB_SERVICES, EXPORTER_PASSWORD_SECRET, EXPORTER_ROLE, dbPasswordSecret, dbRole } from '../../services/topology/database-roles.js';
import { POSTGRES_UID } from '../../services/topology/hardening.js';
import { tryRun } from './exec.js';
import { projectContainerIds, publishedPort, type ComposeTarget } from './stack.js';

export class PostgresRotationError extends ParityError {
  override readonly exitCode = 1;
}

export interface PostgresRotation {
  /** The roles whose password changed. */
  readonly roles: readonly string[];
  /** Container copies rewritten in place. */
  readonly copies: readonly string[];
  /** Exporter containers restarted to read their new password. */
  readonly restarted: number;
}

/** Rewrite the copies of `names` (in place: compose mounts them by inode), those of `uids` or of every uid but them. */
async function rewriteCopies(stateDir: string, names: readonly string[], uids: { readonly only?: number; readonly except?: number }): Promise<string[]> {
  const dir = join(stateDir, 'secrets');
  const rewritten: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const uid = /^uid-(\d+)$/.exec(entry.name)?.[1];
    if (!entry.isDirectory() || uid === undefined) continue;
    if ((uids.only !== undefined && Number(uid) !== uids.only) || (uids.except !== undefined && Number(uid) === uids.except)) continue;
    for (const name of names) {
      const copy = join(dir, entry.name, name);
      if (!(await readFile(copy).then(() => true, () => false))) continue;
      await writeFile(copy, await readFile(join(dir, name)));
      rewritten.push(`${entry.name}/${name}`);
    }
  }
  return rewritten;
}

/** Run the existing db-init container again and wait for it; its log tail on failure. */
async function rerunDbInit(target: ComposeTarget): Promise<void> {
  const [id] = await projectContainerIds(target.project, DB_INIT);
  if (!id) throw new PostgresRotationError(`no ${DB_INIT} container in project ${target.project}: start the stack with \`make up\` first`);
  const result = await tryRun(['docker', 'start', '--attach', id]);
  if (result.code !== 0) throw new PostgresRotationError(`${DB_INIT} failed (exit ${result.code}) setting the new passwords:\n${`${result.stdout}${result.stderr}`.trim().split('\n').slice(-10).join('\n')}`);
}

/** A fresh connection as `role` with its new password, through the write endpoint's published port. */
async function checkLogin(target: ComposeTarget, config: ParityConfig, role: string, password: string): Promise<void> {
  const port = await publishedPort(target, databaseEndpoints(config).writer, 5432);
  if (port === undefined) return;
  const client = new pg.Client({ host: '127.0.0.1', port, user: role, password, database: DATABASE.name, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new PostgresRotationError(`${role}: a new connection with the new password was refused (${(error as Error).message})`);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function rotatePostgresPasswords(target: ComposeTarget, config: ParityConfig): Promise<PostgresRotation> {
  const dir = join(target.stateDir, 'secrets');
  const previous = new Map<string, string>();
  for (const name of DB_ROLE_SECRETS) previous.set(name, await readFile(join(dir, name), 'utf8'));
  const fresh = new Map(DB_ROLE_SECRETS.map((name) => [name, randomBytes(32).toString('base64url')]));
  for (const name of DB_ROLE_SECRETS) await writeFile(join(dir, name), `${fresh.get(name)}\n`, { mode: 0o600 });
  const copies = await rewriteCopies(target.stateDir, DB_ROLE_SECRETS, { only: POSTGRES_UID });
  try {
    await rerunDbInit(target);
  } catch (error) {
    // Nothing changed in the database (one transaction): put the files back as they were.
    for (const [name, content] of previous) await writeFile(join(dir, name), content, { mode: 0o600 });
    await rewriteCopies(target.stateDir, DB_ROLE_SECRETS, { only: POSTGRES_UID });
    throw error;
  }
  copies.push(...(await rewriteCopies(target.stateDir, DB_ROLE_SECRETS, { except: POSTGRES_UID })));
  const exporters = [...(await projectContainerIds(target.project, 'postgres-exporter')), ...(await projectContainerIds(target.project, 'postgres-exporter-replica'))];
  if (exporters.length) await tryRun(['docker', 'restart', '-t', '2', ...exporters]);
  const roles = [...DB_SERVICES.map(dbRole), EXPORTER_ROLE];
  for (const service of DB_SERVICES) await checkLogin(target, config, dbRole(service), fresh.get(dbPasswordSecret(service))!);
  await checkLogin(target, config, EXPORTER_ROLE, fresh.get(EXPORTER_PASSWORD_SECRET)!);
  return { roles, copies, restarted: exporters.length };
}
