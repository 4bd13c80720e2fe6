/**
 * The DR region and the link on the running stack (dr.enabled): their compose targets, and how
 * they come up and go down around the primary. Up: the DR project's containers are created
 * (its network exists), the link joins both networks, then the DR region starts: its standby
 * cluster clones the primary through the link. Down: the link first (it holds both networks).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ParityConfig } from '../../../services/config/schema.js';
import { formatDuration, StackNotUpError } from '../../../services/errors.js';
import { buildTopology } from '../../../services/topology/index.js';
import { linkNetworkNames } from '../../../services/topology/link.js';
import { EDGE, EDGE_FILE, EDGE_PORT, edgeRoute, linkProject, regionProject, type Region } from '../../../services/topology/region.js';
import { renderYaml } from '../../../services/render/yaml.js';
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../core/state.js';
import type { Progress } from '../core/progress.js';
import { waitForHealthy } from './stack.js';
import { engineOf } from '../clients/engine-of.js';
import { type ComposeTarget } from '../clients/engine.js';
import { createClient } from '../core/http.js';
import { done, pending, pollUntil } from '../core/poll.js';
import { projectVolumeNames } from './volumes.js';

export interface RegionTargets {
  readonly primary: ComposeTarget;
  readonly dr: ComposeTarget;
  readonly link: ComposeTarget;
}

/** The DR region's and the link's targets beside a primary target (same state directory). */
export function regionTargets(primary: ComposeTarget): RegionTargets {
  const environment = linkNetworkNames(primary.project);
  return {
    primary,
    dr: { project: regionProject(primary.project, 'dr'), composeDir: join(primary.composeDir, 'dr'), stateDir: primary.stateDir, ...(primary.variables ? { variables: primary.variables } : {}) },
    link: { project: linkProject(primary.project), composeDir: join(primary.composeDir, 'link'), stateDir: primary.stateDir, environment },
  };
}

/**
 * Before the primary starts: both regions' networks (compose create), the link between them and
 * the DR region's S3 store (the backup repository), healthy.
 */
export async function startLink(primary: ComposeTarget, progress: Progress): Promise<void> {
  const { dr, link } = regionTargets(primary);
  progress.step('the link between the regions (both networks, then the link)');
  await engineOf(primary).up([], { start: false, removeOrphans: true });
  await engineOf(dr).up([], { start: false, removeOrphans: true });
  // The edge serves the primary unless a drill left it on DR (the route file is the record).
  if (!existsSync(join(primary.stateDir, 'link', EDGE_FILE))) await pointEdgeAt(primary.stateDir, 'primary');
  await engineOf(link).up([], { wait: true, removeOrphans: true });
  // The repository lives in the DR region's store: the primary's WAL archive and its replicas' fallback need it from the start.
  await engineOf(dr).up(['s3'], { wait: true });
  progress.done();
}

/** After the primary is up: the DR region, its standby cluster cloning the primary through the link. */
export async function upDrRegion(config: ParityConfig, primary: ComposeTarget, progress: Progress, timeoutMs: number): Promise<void> {
  const { dr } = regionTargets(primary);
  const started = Date.now();
  progress.step('DR region: standby cluster cloning the primary through the link');
  await engineOf(dr).up();
  progress.done();
  const topology = buildTopology(config, 'dr');
  await waitForHealthy(dr, topology, progress, Math.max(60_000, timeoutMs), started);
  progress.info(`DR region (${dr.project}): all ${topology.services.length} services healthy, standby cluster following the primary (${formatDuration(Date.now() - started)})`);
}

/** The link and the DR region, down (before the primary: the link holds both networks). */
export async function downRegions(primary: ComposeTarget, removeVolumes: boolean): Promise<void> {
  const { dr, link } = regionTargets(primary);
  if (existsSync(join(link.composeDir, 'compose.yaml'))) await engineOf(link).down();
  if (existsSync(join(dr.composeDir, 'compose.yaml'))) await engineOf(dr).down({ volumes: removeVolumes });
}

const routeFile = (stateDir: string) => join(stateDir, 'link', EDGE_FILE);

/** Which region the edge sends users to now (its route file; the primary until a drill moves it). */
export async function servingRegion(stateDir: string): Promise<Region> {
  const text = await readFile(routeFile(stateDir), 'utf8').catch(() => '');
  return /service: dr\b/.test(text) ? 'dr' : 'primary';
}

/** Send users to `region`: the edge's watched route file, rewritten atomically (like a DNS change, with Traefik's file watch as the TTL). */
export async function pointEdgeAt(stateDir: string, region: Region): Promise<void> {
  await mkdir(join(stateDir, 'link'), { recursive: true });
  await writeFileAtomic(routeFile(stateDir), renderYaml(edgeRoute(region), 'scripts/runners/dr/region-ops.ts (pointEdgeAt)'));
}

/**
 * Close every user connection through the edge, so clients reconnect to the region it serves now.
 * The edge passes TLS through: a browser's kept-alive connection stays with the region it was
 * opened to, whatever the route says later. After failing back, users signed in before the drill
 * kept writing into the demoted DR region on their old connections and got 503 on every write
 * (≥ 65 s, seen under users' load) while a fresh connection wrote at once. The edge restarts with
 * the route file it now holds; users' next request opens a new connection.
 * Stopped with a 1 s timeout: on SIGTERM Traefik stops accepting at once and then waits its grace
 * period (10 s) for the open connections, the very ones this closes, so users were refused for
 * that long (measured: the restart was 13.7–14.2 s of a 20.7 s failback write stall).
 */
export async function drainEdge(primary: ComposeTarget): Promise<void> {
  const { link } = regionTargets(primary);
  await engineOf(link).up([EDGE], { recreate: true, noDeps: true, stopTimeoutSeconds: 1 });
  // Back when an HTTPS request through it is answered (by the region it routes to now), not at its
  // next health check (every 2 s): users are served from then on.
  const port = await engineOf(link).publishedPort(EDGE, EDGE_PORT);
  if (port === undefined) throw new StackNotUpError(`${EDGE} publishes no port in project ${link.project} after its restart (make regions)`);
  const http = createClient(join(primary.stateDir, 'ca', 'parity-ca.pem'));
  await pollUntil(
    async () => ((await http(`https://localhost:${port}/`, { timeoutMs: 1000 }).catch(() => undefined)) ? done(true) : pending('no answer through the edge')),
    { subject: `the users' edge (${link.project})`, expectation: 'an HTTPS answer through it', timeoutMs: 30_000, intervalMs: 100 },
  );
}


/** What `make clean` also destroys with a DR region: the DR project's and the link's containers and volumes. */
export async function describeRegionClean(primary: ComposeTarget): Promise<string[]> {
  const { dr, link } = regionTargets(primary);
  const lines: string[] = [];
  for (const target of [dr, link]) {
    const containers = await engineOf(target).containerIds();
    const volumes = await projectVolumeNames(target.project);
    if (containers.length) lines.push(`${containers.length} containers of project ${target.project}`);
    if (volumes.length) lines.push(`${volumes.length} volumes of project ${target.project}, with all their data: ${volumes.join(', ')}`);
  }
  return lines;
}
