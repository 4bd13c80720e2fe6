/**
 * The live cluster as the restore drill sees it: healthy before anything starts, reached through
 * postgres-writer for the drill's writes, and identified (leader, timeline, system id) so the
 * report can say the restore never touched it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { ParityConfig } from '../../../services/config/schema.js';
import { DrillInputError } from '../../../services/errors.js';
import { DATABASE, hostFor } from '../../../services/topology/common.js';
import { databaseEndpoints } from '../../../services/config/profiles.js';
import { patroniNodes } from '../../../services/topology/patroni.js';
import { clusterHealthy, readCluster } from '../patroni.js';
import { patroniRest, publishedPort, type ComposeTarget } from '../stack.js';
import type { WriterTarget } from './writer.js';

export interface LiveIdentity {
  readonly leader: string;
  readonly timeline: number;
  readonly systemId: string;
}

export async function preflightCluster(target: ComposeTarget, config: ParityConfig): Promise<{ writer: WriterTarget; live: LiveIdentity }> {
  const nodes = patroniNodes(config);
  const view = await readCluster(await patroniRest(target, config), 2000);
  if (!clusterHealthy(view, nodes)) {
    throw new DrillInputError(
      `the Patroni cluster of project ${target.project} is not up and healthy (${view ? view.members.map((m) => `${m.name} ${m.role} ${m.state}`).join(', ') : 'no node answered'}); start it with make up and wait for make status`,
    );
  }
  const port = await publishedPort(target, 'postgres-writer', 5432);
  if (port === undefined) throw new DrillInputError(`postgres-writer publishes no port in project ${target.project}: is the stack up? (make up)`);
  const password = (await readFile(join(target.stateDir, 'secrets', 'postgres_password'), 'utf8')).trim();
  const writer: WriterTarget = { host: hostFor(config, databaseEndpoints(config).writer), port, user: DATABASE.user, password, database: DATABASE.name };
  const client = new pg.Client({ ...writer, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ system_identifier: string; timeline_id: number }>('SELECT system_identifier::text, timeline_id FROM pg_control_system(), pg_control_checkpoint()');
    return { writer, live: { leader: view!.leader!, timeline: rows[0]!.timeline_id, systemId: rows[0]!.system_identifier } };
  } finally {
    await client.end().catch(() => {});
  }
}
