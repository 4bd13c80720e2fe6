/**
 * What moving between regions is made of, on the running stack (dr.enabled): which region the
 * edge serves, promoting a standby cluster and demoting a cluster to a standby of the other
 * region (Patroni's dynamic `standby_cluster`), and rebuilding the primary's database from the
 * DR region. Shared by `make drill-region`, `make failback` and the tests.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParityConfig } from '../../../services/config/schema.js';
import { DrillError, DrillInputError, ServiceAnswerError } from '../../../services/errors.js';
import { ETCD_MEMBERS, patroniNodes, standbyCluster } from '../../../services/topology/patroni.js';
import { LINK_API_PORT, LINK_PORTS, otherRegion, type Region } from '../../../services/topology/region.js';
import { clusterHealthy, readCluster, type ClusterView, type RestEndpoints, patroniRest } from '../clients/patroni.js';
import { FAILBACK_MOMENTS } from '../../../services/drills/region.js';
import { engineOf } from '../clients/engine-of.js';
import { type ComposeTarget } from '../clients/engine.js';
import { drainEdge, pointEdgeAt, regionTargets, servingRegion, type RegionTargets } from '../stack/regions.js';

/** The link's Toxiproxy API on this host; bad input when the link isn't up. */
export async function linkApi(targets: RegionTargets): Promise<string> {
  const port = await engineOf(targets.link).publishedPort('link', LINK_API_PORT);
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
 * bootstrap (a marker in each empty node's volume names patroni-standby.yml), cloning the DR writer through the link.
 */
export async function rebuildPrimaryFromDr(targets: RegionTargets, config: ParityConfig): Promise<void> {
  const primary = targets.primary;
  const dbServices = [...ETCD_MEMBERS, ...patroniNodes(config)];
  await engineOf(primary).remove(dbServices, { volumes: true });
  await engineOf(primary).removeVolumes(dbServices.map((service) => `${primary.project}_${service}`));
  // Each node created empty, with a marker in its volume: its entrypoint bootstraps once from the
  // standby config (a clone of DR), then runs the normal one. The containers are the normal ones,
  // so the next make up recreates nothing (an env var for this did: every node at once).
  await engineOf(primary).up(dbServices, { start: false });
  const marker = join(primary.stateDir, BOOTSTRAP_MARKER);
  await writeFile(marker, 'patroni-standby.yml\n');
  try {
    for (const node of patroniNodes(config)) {
      await engineOf(primary).copyInto(node, marker, `/var/lib/postgresql/data/${BOOTSTRAP_MARKER}`).catch((error: Error) => {
        throw new DrillError(`could not mark ${node} for the standby bootstrap: ${error.message}`);
      });
    }
  } finally {
    await rm(marker, { force: true });
  }
  await engineOf(primary).up();
}

/** The file in a Patroni node's volume that names the config of its one bootstrap (the image's entrypoint reads it). */
const BOOTSTRAP_MARKER = 'parity-bootstrap-config';


export { otherRegion, pointEdgeAt, regionTargets, servingRegion };

/** How the failback waits, says its moments, and asks a region's apps (through that region's Traefik) whether they serve. */
export interface FailbackSteps {
  wait(subject: string, condition: () => Promise<boolean>, timeoutMs: number, intervalMs?: number): Promise<boolean>;
  moment(name: (typeof FAILBACK_MOMENTS)[number]): void;
  reads(region: Region): Promise<boolean>;
  writes(region: Region): Promise<boolean>;
}

/**
 * Move users back to the primary region while DR serves: rebuild the primary's database from DR
 * (a standby cluster), wait until its apps answer, demote DR to a standby of the primary, promote
 * the primary once it has everything DR wrote, and repoint the edge. Each step that would leave no
 * writable region if it went wrong is checked first; a check that fails stops here with DR
 * serving (or, after DR's demotion, with the reason), never with two writable regions.
 */
export async function failBackToPrimary(targets: RegionTargets, config: ParityConfig, steps: FailbackSteps): Promise<void> {
  const nodes = patroniNodes(config);
  const must = async (subject: string, condition: () => Promise<boolean>, timeoutMs: number, intervalMs = 200) => {
    if (!(await steps.wait(subject, condition, timeoutMs, intervalMs))) throw new DrillError(`failback stopped: ${subject} did not happen within ${timeoutMs / 1000} s (make status shows both regions)`);
  };
  if (!writableLeader(await readRegionCluster(targets, 'dr', config))) throw new DrillInputError('failback needs the DR region serving (a writable leader there); it has none (make status)');
  await rebuildPrimaryFromDr(targets, config);
  await must('the primary rebuilt as a standby of DR', async () => {
    const view = await readRegionCluster(targets, 'primary', config);
    return view?.members.find((m) => m.name === view.leader)?.role === 'standby_leader' && clusterHealthy(view, nodes);
  }, 240_000, 500);
  // Everything ready before users lose writes: the primary's apps answer reads (from its standby).
  await must('the primary\'s apps answering', () => steps.reads('primary'), 120_000, 500);
  steps.moment(FAILBACK_MOMENTS[0]);
  await demoteCluster(await regionRest(targets, 'dr', config), 'dr');
  steps.moment(FAILBACK_MOMENTS[1]);
  await must('DR a standby', async () => !writableLeader(await readRegionCluster(targets, 'dr', config)), 60_000, 100);
  // Everything DR wrote, up to its demotion, replayed on the primary's standby leader (Patroni's WAL positions).
  const drEnd = await leaderWalPosition(targets, 'dr', config);
  if (!(await steps.wait('the primary caught up with DR', async () => (await leaderWalPosition(targets, 'primary', config)) >= drEnd, 30_000, 100))) {
    // Never fail back onto a copy that lacks what DR acknowledged: DR takes writes again, users stay there.
    const behind = drEnd - (await leaderWalPosition(targets, 'primary', config).catch(() => -1));
    await promoteCluster(await regionRest(targets, 'dr', config));
    await must('DR writable again', async () => Boolean(writableLeader(await readRegionCluster(targets, 'dr', config))), 60_000, 100);
    throw new DrillError(
      `failback stopped: the primary's copy did not replay everything DR had written (${behind > 0 ? `${behind} bytes of WAL behind` : 'position unknown'}) within 30 s, so it was not promoted; DR was promoted again and keeps serving (make status; make failback retries)`,
    );
  }
  await promoteCluster(await regionRest(targets, 'primary', config));
  await must('the primary writable', async () => Boolean(writableLeader(await readRegionCluster(targets, 'primary', config))), 60_000, 100);
  steps.moment(FAILBACK_MOMENTS[2]);
  // Bootstrapped: the markers go now (each entrypoint would drop its own at the node's next start).
  for (const node of patroniNodes(config)) await engineOf(targets.primary).tryExec(node, ['rm', '-f', `/var/lib/postgresql/data/${BOOTSTRAP_MARKER}`]);
  // The apps' writer breakers opened while their database was rebuilt and a standby: they close on their next
  // half-open probe, at most breakers.app.resetSeconds after the promotion.
  await must('the primary\'s apps taking writes', () => steps.writes('primary'), (config.breakers.app.resetSeconds + 30) * 1000, 200);
  steps.moment(FAILBACK_MOMENTS[3]);
  await pointEdgeAt(targets.primary.stateDir, 'primary');
  // Users' kept-alive connections still lead to DR (a standby now: 503 on writes) until they are closed.
  await drainEdge(targets.primary);
  steps.moment(FAILBACK_MOMENTS[4]);
}

/** The WAL position a region's leader has (written, or replayed on a standby leader), from Patroni's GET /patroni. */
export async function leaderWalPosition(targets: RegionTargets, region: Region, config: ParityConfig): Promise<number> {
  const rest = await regionRest(targets, region, config);
  const view = await readCluster(rest, 1500);
  const url = view?.leader ? rest[view.leader] : undefined;
  if (!url) return -1;
  const status = (await (await fetch(`${url}/patroni`, { signal: AbortSignal.timeout(3000) })).json()) as { xlog?: { location?: number; received_location?: number; replayed_location?: number } };
  return Math.max(status.xlog?.location ?? -1, status.xlog?.replayed_location ?? -1);
}

/**
 * Both regions at a glance, a line each (`make regions`, and `make status` with a DR region): where
 * the edge sends users, each region's containers and Patroni cluster (leader or standby leader,
 * lag), and whether the link's paths are open. A part that can't be read says so on its line.
 */
export async function describeRegions(primary: ComposeTarget, config: ParityConfig): Promise<string[]> {
  const targets = regionTargets(primary);
  const lines: string[] = [`edge     https://localhost:${config.dr.edgePort} → ${await servingRegion(primary.stateDir)} region`];
  for (const region of ['primary', 'dr'] as const) {
    const containers = await engineOf(regionTarget(targets, region)).listContainers().catch(() => []);
    const up = containers.filter((c) => c.state === 'running' && c.health !== 'unhealthy').length;
    const view = await readRegionCluster(targets, region, config).catch(() => undefined);
    const cluster = view ? view.members.map((m) => `${m.name} ${m.role}${m.lag !== undefined ? ` lag ${m.lag} B` : ''}`).join(', ') : 'no Patroni node answers';
    lines.push(`${region.padEnd(8)} ${containers.length ? `${up}/${containers.length} containers up` : 'not running'}; ${cluster}`);
  }
  const paths = Object.keys(LINK_PORTS);
  const proxies = await linkApi(targets)
    .then(async (api) => (await (await fetch(`${api}/proxies`, { signal: AbortSignal.timeout(3000) })).json()) as Record<string, { enabled: boolean }>)
    .catch(() => undefined);
  lines.push(`link     ${proxies ? paths.map((path) => `${path} ${proxies[path]?.enabled ? 'open' : 'CUT'}`).join(', ') : 'not answering (make up starts it)'}`);
  return lines;
}
