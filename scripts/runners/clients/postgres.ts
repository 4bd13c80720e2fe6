/**
 * Postgres from the host, one way for every runner (the drills, backups, rotation, the audit log,
 * the benchmarks): the endpoints (the write endpoint as this host reaches it, the Patroni leader
 * and the container that takes writes now), the admin's login, a client whose dying connection
 * never throws, and psql in a container with one argv. The stubs' own database code
 * (stubs/src/runtime/database.ts) is the apps' runtime, not this.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { PsqlScript } from '../../../services/audit/log.js';
import { databaseEndpoints } from '../../../services/config/profiles.js';
import type { ParityConfig } from '../../../services/config/schema.js';
import { StackNotUpError } from '../../../services/errors.js';
import { DATABASE, hostFor } from '../../../services/topology/common.js';
import { patroniNodes } from '../../../services/topology/patroni.js';
import { tryRun, type RunResult } from '../core/exec.js';
import { readCluster, patroniRest } from './patroni.js';
import { engineOf } from './engine-of.js';
import { type ComposeTarget } from './engine.js';

/** Postgres's port in its containers (and the write endpoint's). */
export const POSTGRES_PORT = 5432;

/** What a client needs to log in. */
export interface PgLogin {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/**
 * A connected client. A connection may die under it (that is the point of a drill): errors
 * surface on its calls, never as an uncaught 'error' event.
 */
export async function connectPg(login: PgLogin, timeouts: Partial<pg.ClientConfig> = { connectionTimeoutMillis: 3000 }): Promise<pg.Client> {
  const client = new pg.Client({ ...login, ...timeouts });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** `work` on a connection of its own, closed whatever happens. */
export async function withPg<T>(login: PgLogin, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectPg(login);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** One statement on a connection of its own: its rows. */
export async function queryPg<T extends pg.QueryResultRow>(login: PgLogin, text: string, values: unknown[] = []): Promise<T[]> {
  return withPg(login, async (client) => (await client.query<T>(text, values)).rows);
}

/** The write endpoints a stack may publish: Patroni's HAProxy, or the streaming primary (`databaseEndpoints`). */
const WRITE_ENDPOINTS = ['postgres-writer', 'postgres-primary'] as const;

/**
 * The write endpoint's service and published port: the first of `services` that publishes one
 * (by default whichever the running stack has); undefined when none does (the stack is down).
 */
export async function publishedWriter(target: ComposeTarget, services: readonly string[] = WRITE_ENDPOINTS): Promise<{ readonly service: string; readonly port: number } | undefined> {
  for (const service of services) {
    const port = await engineOf(target).publishedPort(service, POSTGRES_PORT);
    if (port !== undefined) return { service, port };
  }
  return undefined;
}

/** The admin's (`parity`) password on this host: the postgres_password secret. */
export async function adminPassword(stateDir: string): Promise<string> {
  return (await readFile(join(stateDir, 'secrets', 'postgres_password'), 'utf8')).trim();
}

/** The admin's login on the config's write endpoint, as this host reaches it; undefined when the stack publishes none. */
export async function adminOnWriter(target: ComposeTarget, config: ParityConfig): Promise<PgLogin | undefined> {
  const writer = await publishedWriter(target, [databaseEndpoints(config).writer]);
  if (!writer) return undefined;
  return { host: hostFor(config, writer.service), port: writer.port, user: DATABASE.user, password: await adminPassword(target.stateDir), database: DATABASE.name };
}

/** The Patroni node that leads now, as Patroni says; the stack not up (exit 2) when none does. */
export async function leaderNode(target: ComposeTarget, config: ParityConfig): Promise<string> {
  const view = await readCluster(await patroniRest(target, config), 2000);
  if (!view?.leader) throw new StackNotUpError(`no Patroni leader in project ${target.project} (nodes: ${patroniNodes(config).join(', ')}): is the stack up and healthy? (make status)`);
  return view.leader;
}

/** The compose service that takes writes now (the Patroni leader, or the streaming primary) and its container; `StackNotUpError` when it doesn't run. */
export async function writerContainer(target: ComposeTarget, config: ParityConfig): Promise<{ readonly service: string; readonly container: string }> {
  const service = config.postgres.ha === 'patroni' ? await leaderNode(target, config) : 'postgres-primary';
  return { service, container: await engineOf(target).containerOf(service) };
}

/** Where psql runs: in a Postgres container, on the server's unix socket, as the admin (local trust). */
export interface PsqlTarget {
  readonly container: string;
  /** @default DATABASE.name */
  readonly database?: string;
  /** `docker exec -u` (a bare container's default user is root, not postgres). */
  readonly user?: string;
  /** How long psql waits for a server that doesn't answer (PGCONNECT_TIMEOUT, seconds). */
  readonly connectTimeoutSeconds?: number;
}

/**
 * `docker exec … psql`, one spelling for every caller: -X no ~/.psqlrc; -A -t bare values, one per
 * line; quiet; stop at the first error, with its exit code. A script goes on standard input,
 * because psql expands `:'name'` there and not in `-c`, and each of its values is a psql
 * variable (`-v name=value`), quoted by psql itself; a plain query (no values) goes as `-c`.
 */
export function psqlArgv(on: PsqlTarget, sql: PsqlScript | string): string[] {
  const script = typeof sql === 'string' ? undefined : sql;
  return [
    'docker', 'exec', ...(script ? ['-i'] : []), ...(on.user ? ['-u', on.user] : []),
    ...(on.connectTimeoutSeconds !== undefined ? ['-e', `PGCONNECT_TIMEOUT=${on.connectTimeoutSeconds}`] : []), on.container,
    'psql', '-h', '/var/run/postgresql', '-U', DATABASE.user, '-d', on.database ?? DATABASE.name,
    '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
    ...(script ? script.variables.flatMap(([name, value]) => ['-v', `${name}=${value}`]) : ['-c', sql as string]),
  ];
}

/** Run psql (`psqlArgv`); its result, never an exception (callers decide). */
export function psql(on: PsqlTarget, sql: PsqlScript | string, options: { readonly timeoutMs?: number } = {}): Promise<RunResult> {
  return tryRun(psqlArgv(on, sql), { input: typeof sql === 'string' ? undefined : sql.sql, timeoutMs: options.timeoutMs });
}
