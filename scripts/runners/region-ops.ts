/**
 * What moving between regions is made of, on the running stack (dr.enabled): which region the
 * edge serves, promoting a standby cluster and demoting a cluster to a standby of the other
 * region (Patroni's dynamic `standby_cluster`), and rebuilding the primary's database from the
 * DR region. Shared by `make drill-region`, `make failback` and the tests.
 */
import type { ParityConfig } from '../../services/config/schema.js';
import { DrillError, DrillInputError, ServiceAnswerError } from '../../services/errors.js';
import { ETCD_MEMBERS, patroniNodes, standbyCluster } from '../../services/topology/patroni.js';
import { LINK_API_PORT, otherRegion, type Region } from '../../services/topology/region.js';
import { readCluster, type ClusterView, type RestEndpoints } from './patroni.js';
import { compose, patroniRest, publishedPort, type ComposeTarget } from './stack.js';
import { tryRun } from './exec.js';
import { pointEdgeAt, regionTargets, servingRegion, type RegionTargets } from './regions.js';

/** The link's Toxiproxy API on this host; bad input when the link isn't up. */
export async function linkApi(targets: RegionTargets): Promise<string> {
  const port = await publishedPort(targets.link, 'link', LINK_API_PORT);
  if (port === undefined) throw new DrillInputError(`the link between the regions (project ${targets.link.project}) is not up: dr.enabled: true in parity.yaml, then make up`);
  return `http://127.0.0.1:${port}`;
}

export const regionTarget = (targets: RegionTargets, region: Region): ComposeTarget => (region === 'dr' ? targets.dr : targets.primary);

export async function regionRest(targets: RegionTargets, region: Region, config: ParityConfig): Promise<RestEndpoints> {
  return patroniRest(regionTarget(targets, region), config);
}

async function patchConfig(rest: RestEndpoints, patch: Record<string, unknown>): Promise<void> {
  const errors: string[] = [];
  for (const [node, url] of Object.entries(rest)) {
    const response = await fetch(`${url}/config`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch), signal: AbortSignal.timeout(5000) }).catch((error: Error) => error);
    if (!(response instanceof Error) && response.ok) return;
    errors.push(`${node}: ${response instanceof Error ? response.message : `HTTP ${response.status}`}`);
  }
  throw new ServiceAnswerError(`Patroni PATCH /config ${JSON.stringify(patch)}: no node took it (${errors.join('; ')})`);
}

/** Promote a standby cluster: without `standby_cluster`, its standby leader becomes a read-write leader. */
export const promoteCluster = (rest: RestEndpoints) => patchConfig(rest, { standby_cluster: null });

/** Demote a cluster to a standby of the other region (its leader becomes a standby leader following the other region's writer). */
export const demoteCluster = (rest: RestEndpoints, region: Region) => patchConfig(rest, { standby_cluster: standbyCluster(region) });

/** The cluster's leader, when it is a read-write one (not a standby leader). */
export const writableLeader = (view: ClusterView | undefined) => view?.members.find((m) => m.name === view.leader && m.role === 'leader' && m.state === 'running');

export async function readRegionCluster(targets: RegionTargets, region: Region, config: ParityConfig): Promise<ClusterView | undefined> {
  return readCluster(await regionRest(targets, region, config), 1500);
}

/**
 * Rebuild the primary region's database as a standby of the DR region: its Patroni nodes and
 * etcd members lose their volumes, then the whole primary project starts with the standby
 * bootstrap (PARITY_PATRONI_CONFIG=patroni-standby.yml), cloning the DR writer through the link.
 */
export async function rebuildPrimaryFromDr(targets: RegionTargets, config: ParityConfig): Promise<void> {
  const primary = targets.primary;
  const dbServices = [...ETCD_MEMBERS, ...patroniNodes(config)];
  await compose(primary, ['rm', '-s', '-f', '-v', ...dbServices]);
  for (const service of dbServices) await removeVolume(`${primary.project}_${service}`);
  const standby: ComposeTarget = { ...primary, environment: { ...primary.environment, PARITY_PATRONI_CONFIG: 'patroni-standby.yml' } };
  await compose(standby, ['up', '-d']);
}

async function removeVolume(name: string): Promise<void> {
  const result = await tryRun(['docker', 'volume', 'rm', '-f', name]);
  if (result.code !== 0) throw new DrillError(`could not remove volume ${name}: ${result.stderr.trim()}`);
}

export { otherRegion, pointEdgeAt, regionTargets, servingRegion };
