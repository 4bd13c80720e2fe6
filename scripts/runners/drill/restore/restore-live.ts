/**
 * The live cluster as the restore drill sees it: healthy before anything starts, reached through
 * postgres-writer for the drill's writes, and identified (leader, timeline, system id) so the
 * report can say the restore never touched it.
 */
import type { ParityConfig } from '../../../../services/config/schema.js';
import { DrillInputError } from '../../../../services/errors.js';
import { patroniNodes } from '../../../../services/topology/patroni.js';
import { clusterHealthy, readCluster, patroniRest } from '../../clients/patroni.js';
import { queryPg, type PgLogin } from '../../clients/postgres.js';
import type { ComposeTarget } from '../../clients/engine.js';
import { drillWriter } from '../writer.js';

export interface LiveIdentity {
  readonly leader: string;
  readonly timeline: number;
  readonly systemId: string;
}

export async function preflightCluster(target: ComposeTarget, config: ParityConfig): Promise<{ writer: PgLogin; live: LiveIdentity }> {
  const nodes = patroniNodes(config);
  const view = await readCluster(await patroniRest(target, config), 2000);
  if (!clusterHealthy(view, nodes)) {
    throw new DrillInputError(
      `the Patroni cluster of project ${target.project} is not up and healthy (${view ? view.members.map((m) => `${m.name} ${m.role} ${m.state}`).join(', ') : 'no node answered'}); start it with make up and wait for make status`,
    );
  }
  const writer = await drillWriter(target, config);
  const [row] = await queryPg<{ system_identifier: string; timeline_id: number }>(writer, 'SELECT system_identifier::text, timeline_id FROM pg_control_system(), pg_control_checkpoint()');
  return { writer, live: { leader: view!.leader!, timeline: row!.timeline_id, systemId: row!.system_identifier } };
}
