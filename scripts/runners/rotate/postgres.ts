/**
 * The database roles' passwords (each app's, the exporters': services/topology/database-roles.ts)
 * without downtime. They are set the one way the stack sets them: db-init's roles.sql, run again.
 * Order: the new values into the host's files and db-init's copies (uid 999), db-init re-run (every
 * ALTER ROLE … PASSWORD in one transaction), then every other copy rewritten in place. Open
 * connections are not affected (Postgres checks a password at login only); the stubs read their
 * file for every new connection and retry one refused for its password (stubs/src/runtime/
 * database.ts), which covers the moment between the ALTER and their file; postgres_exporter reads
 * its file at start only and is restarted (nobody's request goes through it). If db-init fails,
 * nothing changed in the database and the files are put back.
 */
import { DB_INIT } from '../../../services/config/profiles.js';
import { RotationError, StackNotUpError } from '../../../services/errors.js';
import { DATABASE } from '../../../services/topology/common.js';
import { DB_ROLE_SECRETS, DB_ROLES } from '../../../services/topology/database-roles.js';
import { POSTGRES_UID } from '../../../services/topology/hardening.js';
import { newSecretValue } from '../stack/stack-state.js';
import { publishedWriter, queryPg } from '../clients/postgres.js';
import { restartContainers, startAttached } from '../clients/compose.js';
import { engineOf } from '../clients/engine-of.js';
import { type ComposeTarget } from '../clients/engine.js';
import { readHostSecret, rewriteCopies, writeHostSecret } from './copies.js';
import type { RotationStep } from './steps.js';

interface PostgresRotation {
  /** Role → its new password (memory only, for the check). */
  readonly passwords: ReadonlyMap<string, string>;
  readonly previous: ReadonlyMap<string, string>;
  readonly copies: readonly string[];
  readonly exporters: number;
}

/** The existing db-init container, started again and waited for; its last lines when it fails. */
async function rerunDbInit(target: ComposeTarget): Promise<void> {
  const [id] = await engineOf(target).containerIds(DB_INIT);
  if (!id) throw new StackNotUpError(`no ${DB_INIT} container in project ${target.project}: is the stack up? (make up)`);
  const result = await startAttached(id);
  if (result.code !== 0) {
    const tail = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-8).join('\n');
    throw new RotationError(`postgres: ${DB_INIT} failed (exit ${result.code}) setting the new passwords; nothing changed, the files are put back:\n${tail}`);
  }
}

/** Log in as `role` with `password` through the write endpoint's published port; the error's message when refused. */
async function loginError(port: number, role: string, password: string): Promise<string | undefined> {
  try {
    await queryPg({ host: '127.0.0.1', port, user: role, password, database: DATABASE.name }, 'SELECT 1');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export const postgresStep: RotationStep<PostgresRotation> = {
  name: 'postgres',
  rotates: `database roles' passwords (${DB_ROLES.map((entry) => entry.role).join(', ')}); apps keep their connections`,
  async run({ target, progress }) {
    const previous = new Map<string, string>();
    for (const name of DB_ROLE_SECRETS) previous.set(name, await readHostSecret(target.stateDir, name));
    const passwords = new Map(DB_ROLES.map((entry) => [entry.role, newSecretValue()]));
    for (const { role, secret } of DB_ROLES) await writeHostSecret(target.stateDir, secret, passwords.get(role)!);
    await rewriteCopies(target.stateDir, DB_ROLE_SECRETS, (uid) => uid === POSTGRES_UID);
    try {
      await rerunDbInit(target);
    } catch (error) {
      for (const [name, value] of previous) await writeHostSecret(target.stateDir, name, value);
      await rewriteCopies(target.stateDir, DB_ROLE_SECRETS, (uid) => uid === POSTGRES_UID);
      throw error;
    }
    progress.info(`postgres: ${DB_INIT} set ${DB_ROLES.length} new passwords`);
    const copies = await rewriteCopies(target.stateDir, DB_ROLE_SECRETS, (uid) => uid !== POSTGRES_UID);
    const exporters = [...(await engineOf(target).containerIds('postgres-exporter')), ...(await engineOf(target).containerIds('postgres-exporter-replica'))];
    if (exporters.length) await restartContainers(exporters, 2);
    return { passwords, previous, copies, exporters: exporters.length };
  },
  async check({ target }, state) {
    const port = (await publishedWriter(target))?.port;
    if (port === undefined) throw new StackNotUpError(`postgres: no published write endpoint in project ${target.project}: is the stack up? (make up)`);
    for (const { role, secret } of DB_ROLES) {
      const refused = await loginError(port, role, state.passwords.get(role)!);
      if (refused) throw new RotationError(`postgres: ${role} can't log in with its new password (${refused})`);
      if ((await loginError(port, role, state.previous.get(secret)!)) === undefined) throw new RotationError(`postgres: ${role} still logs in with its old password`);
    }
    return {
      summary: `${DB_ROLES.length} roles on new passwords (old ones refused), ${state.copies.length} container copies rewritten in place, ${state.exporters} exporters restarted`,
      details: { roles: DB_ROLES.map((entry) => entry.role), copies: state.copies, exportersRestarted: state.exporters },
    };
  },
};
