/**
 * The DR region and the link on the running stack (dr.enabled): their compose targets, and how
 * they come up and go down around the primary. Up: the DR project's containers are created
 * (its network exists), the link joins both networks, then the DR region starts: its standby
 * cluster clones the primary through the link. Down: the link first (it holds both networks).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ParityConfig } from '../../services/config/schema.js';
import { formatDuration } from '../../services/errors.js';
import { buildTopology } from '../../services/topology/index.js';
import { LINK_NETWORK_VARIABLES } from '../../services/topology/link.js';
import { linkProject, regionProject } from '../../services/topology/region.js';
import type { Progress } from './progress.js';
import { compose, waitForHealthy, type ComposeTarget } from './stack.js';

export interface RegionTargets {
  readonly primary: ComposeTarget;
  readonly dr: ComposeTarget;
  readonly link: ComposeTarget;
}

/** The DR region's and the link's targets beside a primary target (same state directory). */
export function regionTargets(primary: ComposeTarget): RegionTargets {
  const environment = { [LINK_NETWORK_VARIABLES.primary]: `${primary.project}_default`, [LINK_NETWORK_VARIABLES.dr]: `${regionProject(primary.project, 'dr')}_default` };
  return {
    primary,
    dr: { project: regionProject(primary.project, 'dr'), composeDir: join(primary.composeDir, 'dr'), stateDir: primary.stateDir },
    link: { project: linkProject(primary.project), composeDir: join(primary.composeDir, 'link'), stateDir: primary.stateDir, environment },
  };
}

/** After the primary is up: the DR region and the link, healthy. */
export async function upRegions(config: ParityConfig, primary: ComposeTarget, progress: Progress, timeoutMs: number): Promise<void> {
  const { dr, link } = regionTargets(primary);
  const started = Date.now();
  progress.step('DR region: containers and network');
  await compose(dr, ['create', '--remove-orphans']);
  progress.step('the link between the regions');
  await compose(link, ['up', '-d', '--wait', '--remove-orphans']);
  progress.step('DR region: standby cluster cloning the primary through the link');
  await compose(dr, ['up', '-d']);
  progress.done();
  const topology = buildTopology(config, 'dr');
  await waitForHealthy(dr, topology, progress, Math.max(60_000, timeoutMs), started);
  progress.info(`DR region (${dr.project}): all ${topology.services.length} services healthy, standby cluster following the primary (${formatDuration(Date.now() - started)})`);
}

/** The link and the DR region, down (before the primary: the link holds both networks). */
export async function downRegions(primary: ComposeTarget, removeVolumes: boolean): Promise<void> {
  const { dr, link } = regionTargets(primary);
  if (existsSync(join(link.composeDir, 'compose.yaml'))) await compose(link, ['down', '--remove-orphans']);
  if (existsSync(join(dr.composeDir, 'compose.yaml'))) await compose(dr, ['down', '--remove-orphans', ...(removeVolumes ? ['--volumes'] : [])]);
}
