/**
 * The failover drill's run object and its setup: what one drill knows (each phase reads and fills
 * it), the checks before anything changes, and the loads users and the writer put on the stack.
 */
import type { FailoverScenario } from '../../../../services/drills/failover.js';
import { DrillInputError } from '../../../../services/errors.js';
import { patroniNodes } from '../../../../services/topology/patroni.js';
import { clusterHealthy, readCluster, type ClusterView, type RestEndpoints, patroniRest } from '../../clients/patroni.js';
import type { PgLogin } from '../../clients/postgres.js';
import { startUsersLoad, type StartedApiLoad } from '../api-load.js';
import { DRILL_USER_ADDRESSES, openDrillUsers } from '../users.js';
import type { DrillOptions, DrillRun } from '../lifecycle.js';
import { drillWriter, ensureWriterTable, startWriter, type StartedWriter } from '../writer.js';
import { watchCluster, type ClusterWatch } from './watch.js';

export interface FailoverOptions extends DrillOptions {
  readonly scenario: string;
  /** Writes per second through postgres-writer. @default 20 */
  readonly writesPerSecond?: number;
  /** Users' reads and writes per second through the front, from many client addresses. @default 20 and 20 */
  readonly apiReadsPerSecond?: number;
  readonly apiWritesPerSecond?: number;
  /** The users' https port (the front's); the config's `ports.https` when absent. */
  readonly usersPort?: number;
}

/** Everything one failover drill run knows; each phase reads and fills it. */
export interface Run extends DrillRun<FailoverOptions> {
  readonly scenario: FailoverScenario;
  readonly apiWriteTimes: Set<number>;
  nodes: string[];
  rest: RestEndpoints;
  writerTarget?: PgLogin;
  before?: ClusterView;
  watch?: ClusterWatch;
  writer?: StartedWriter;
  api?: StartedApiLoad;
  /** The fault's victim and when it was injected (ms since the drill started). */
  fault?: { readonly victim: string; readonly atMs: number };
  electedAtMs?: number;
  /** When the users' load stopped. */
  loadEndMs?: number;
  rejoinMs?: number;
  overlapMs?: number;
  /** null until the acknowledged writes were read back. */
  ackedWritesLost: number | null;
}

export { mark, waitUntil } from '../moments.js';

export async function preflight(run: Run): Promise<void> {
  const { target, config } = run.options;
  if (config.postgres.ha !== 'patroni') {
    throw new DrillInputError(`the failover drill needs the Patroni cluster (postgres.ha: patroni in parity.yaml; profile "${config.profile}" runs postgres.ha: ${config.postgres.ha})`);
  }
  run.nodes = patroniNodes(config);
  run.rest = await patroniRest(target, config);
  const view = Object.keys(run.rest).length ? await readCluster(run.rest, 2000) : undefined;
  if (!clusterHealthy(view, run.nodes)) {
    throw new DrillInputError(
      `the Patroni cluster of project ${target.project} is not up and healthy (${view ? `members: ${view.members.map((m) => `${m.name} ${m.role} ${m.state}`).join(', ')}` : 'no node answered'}); start it with make up and wait for make status to show one leader and replicating replicas`,
    );
  }
  run.before = view;
  run.writerTarget = await drillWriter(target, config);
}

/** Users' API load through the front by default: 20 reads/s and 20 writes/s (`make drill-failover API_READS= API_WRITES=`). */
export const DEFAULT_API_RATES = { reads: 20, writes: 20 } as const;

export async function startLoads(run: Run): Promise<void> {
  const { target, progress, config } = run.options;
  await ensureWriterTable(run.writerTarget!);
  const users = await openDrillUsers(target.stateDir, config, run.options.usersPort !== undefined ? { port: run.options.usersPort } : {});
  if (users.why) run.notes.push(`no API writes: ${users.why}`);
  const reads = run.options.apiReadsPerSecond ?? DEFAULT_API_RATES.reads;
  const writes = users.token ? (run.options.apiWritesPerSecond ?? DEFAULT_API_RATES.writes) : 0;
  run.watch = watchCluster(run.rest, run.before!, run.now);
  run.writer = startWriter({ target: run.writerTarget!, ratePerSecond: run.options.writesPerSecond ?? 20, run: run.tag, now: run.now, onSample: (s) => run.samples.push(s) });
  run.api = startUsersLoad(run, users, { reads, writes }, run.apiWriteTimes);
  progress.info(`load: ${run.options.writesPerSecond ?? 20} writes/s through postgres-writer; users: ${reads} reads/s + ${writes} writes/s through the front (${users.base}) from ${DRILL_USER_ADDRESSES} client addresses`);
}
