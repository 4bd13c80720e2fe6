/**
 * `make drill-region`: the whole primary region is lost while users keep working through the edge
 * (the link's edge proxy, the local stand-in for DNS). Phases: preflight (both regions healthy,
 * the edge on the primary) → load and baseline → the primary region killed → loss detected →
 * the DR standby cluster promoted → DR apps ready → traffic switched → validated; then failing
 * back: the primary rebuilt as a standby of DR → DR demoted → the primary promoted → traffic
 * switched back → validated → every acknowledged write checked on the primary. Ctrl-C stops at
 * a consistent state and says which one (see `leaveConsistent`). One runner serves the make
 * target, bench-dr and the integration test.
 */
import { join } from 'node:path';
import { inTimeOrder, type DrillFindings } from '../../../../services/drills/model.js';
import { describeStandby, FAILBACK_MOMENTS, REGION_MOMENTS, regionFigures, standbyRefusal, walRpo } from '../../../../services/drills/region.js';
import { DrillInputError } from '../../../../services/errors.js';
import { patroniNodes } from '../../../../services/topology/patroni.js';
import { hasDr, type Region } from '../../../../services/topology/region.js';
import { createClient } from '../../core/http.js';
import { openDrillUsers } from '../users.js';
import { clusterHealthy } from '../../clients/patroni.js';
import { systemClock } from '../../core/poll.js';
import { killContainers } from '../../clients/compose.js';
import { engineOf } from '../../clients/engine-of.js';
import { failBackToPrimary, linkApi, pointEdgeAt, promoteCluster, readRegionCluster, regionRest, regionTarget, regionTargets, servingRegion, writableLeader } from '../../dr/region-ops.js';
import { startApiLoad } from '../api-load.js';
import { checkAborted, startDrillRun } from '../lifecycle.js';
import { mark, waitUntil } from '../moments.js';
import { concludeDrill, type ConcludedDrill } from '../report.js';
import { acked, checkStandby, drReplay, eventSeqs, imageBackOnPrimary, readFilesCopiedAt, removeEvents, sampleWal, uploadInDr, type RegionOptions, type RegionRun as Run } from './region-run.js';

export type { RegionOptions } from './region-run.js';

async function preflight(run: Run): Promise<void> {
  const { config } = run.options;
  if (!hasDr(config)) throw new DrillInputError('the region drill needs a DR region: dr.enabled: true in parity.yaml (with postgres.ha: patroni and backup.enabled: true), then make up');
  run.api = await linkApi(run.targets);
  const nodes = patroniNodes(config);
  const primary = await readRegionCluster(run.targets, 'primary', config);
  const dr = await readRegionCluster(run.targets, 'dr', config);
  if (!writableLeader(primary) || !clusterHealthy(primary, nodes)) throw new DrillInputError(`the primary region's cluster is not healthy with a read-write leader (make status): ${JSON.stringify(primary?.members ?? 'no answer')}`);
  if (!dr?.leader || dr.members.find((m) => m.name === dr.leader)?.role !== 'standby_leader') throw new DrillInputError(`the DR region's cluster is not a standby cluster following the primary (make status): ${JSON.stringify(dr?.members ?? 'no answer')}`);
  if ((await servingRegion(run.targets.primary.stateDir)) !== 'primary') throw new DrillInputError('the edge serves the DR region already: fail back first (make failback)');
  const standby = await checkStandby(run);
  const refusal = standbyRefusal(standby);
  if (refusal) throw new DrillInputError(refusal);
  run.notes.push(describeStandby(standby));
  // Users through the edge as browsers are: many addresses, kept-alive connections, signed in before the drill.
  const users = await openDrillUsers(run.targets.primary.stateDir, config, { port: config.dr.edgePort });
  if (!users.token) throw new DrillInputError(`logging in through the edge (${users.base}): ${users.why}`);
  run.users = users.http;
  run.edge = users.base;
  run.token = users.token;
  // The drill's own probes: a fresh connection each, straight to one region's Traefik.
  run.http = createClient(join(run.targets.primary.stateDir, 'ca', 'parity-ca.pem'));
}

/** Through a region's own Traefik: does a user write succeed there? */
async function writesIn(run: Run, region: Region): Promise<boolean> {
  const base = await engineOf(regionTarget(run.targets, region)).httpsEndpoint().catch(() => undefined);
  if (!base) return false;
  const body = JSON.stringify({ title: `${run.tag} probe`, startsAt: new Date(Date.now() + 86_400_000).toISOString() });
  const answer = await run.http!(`${base}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${run.token}` }, body, timeoutMs: 3000 }).catch(() => undefined);
  return answer?.status === 201;
}

/** The first user write through the edge acknowledged after `sinceMs`. */
const firstAckAfter = (run: Run, sinceMs: number) => run.samples.find((s) => s.route === '/api/events' && s.seq !== undefined && s.outcome === 'ok' && s.atMs >= sinceMs);

async function loseThePrimary(run: Run): Promise<void> {
  const { config } = run.options;
  const primaryHttps = await engineOf(run.targets.primary).httpsEndpoint();
  const containers = await engineOf(run.targets.primary).containerIds();
  const primaryWal = await run.walSampler?.stop();
  const atMs = run.now();
  run.lostAtMs = Date.now();
  // One SIGKILL for every container at once, like a region's power going.
  await killContainers(containers);
  mark(run, REGION_MOMENTS[0], atMs, `every container of ${run.targets.primary.project} killed`);
  // Detection: three failed probes of the primary's Traefik in a row, every 250 ms.
  let failures = 0;
  await waitUntil(run, 'the loss detected', async () => {
    const answer = await run.http!(`${primaryHttps}/`, { timeoutMs: 500 }).catch(() => undefined);
    failures = answer && answer.status < 500 ? 0 : failures + 1;
    return failures >= 3;
  }, 30_000, 250);
  mark(run, REGION_MOMENTS[1], run.now());
  // What DR has now is all it will ever have of the primary: every user's loss, in WAL.
  const replayed = await drReplay(run).catch((error: Error) => {
    run.notes.push(`could not read DR's replay position before promotion: ${error.message}`);
    return undefined;
  });
  run.wal = primaryWal && replayed ? walRpo(primaryWal, replayed) : null;
  await promoteCluster(await regionRest(run.targets, 'dr', config));
  await waitUntil(run, 'the DR leader writable', async () => Boolean(writableLeader(await readRegionCluster(run.targets, 'dr', config))), 60_000, 100);
  mark(run, REGION_MOMENTS[2], run.now());
  await waitUntil(run, 'DR apps taking writes', () => writesIn(run, 'dr'), 60_000, 200);
  mark(run, REGION_MOMENTS[3], run.now());
  await pointEdgeAt(run.targets.primary.stateDir, 'dr');
  const switchedAt = run.now();
  mark(run, REGION_MOMENTS[4], switchedAt);
  await waitUntil(run, 'a user write through the edge in DR', () => Boolean(firstAckAfter(run, switchedAt)), 30_000, 50);
  const first = firstAckAfter(run, switchedAt);
  mark(run, REGION_MOMENTS[5], first ? first.atMs + first.latencyMs : undefined);
  checkAborted(run, 'the switch to DR');
}

async function failBack(run: Run): Promise<void> {
  await failBackToPrimary(run.targets, run.options.config, {
    wait: (subject, condition, timeoutMs, intervalMs) => waitUntil(run, subject, condition, timeoutMs, intervalMs),
    moment: (name) => mark(run, name, run.now()),
    reads: async (region) => (await run.http!(`${await engineOf(regionTarget(run.targets, region)).httpsEndpoint()}/api/events?limit=1`, { timeoutMs: 2000 }).catch(() => undefined))?.status === 200,
    writes: (region) => writesIn(run, region),
  });
  const switchedAt = run.now();
  await waitUntil(run, 'a user write through the edge in the primary', () => Boolean(firstAckAfter(run, switchedAt)), 30_000, 50);
  const first = firstAckAfter(run, switchedAt);
  mark(run, FAILBACK_MOMENTS[5], first ? first.atMs + first.latencyMs : undefined);
  run.failedBack = true;
}

/** Whatever happened: the edge points at a region that takes writes, and the report says which state both regions are in. */
async function leaveConsistent(run: Run): Promise<void> {
  if (!run.api) return;
  const { config } = run.options;
  const primary = writableLeader(await readRegionCluster(run.targets, 'primary', config).catch(() => undefined));
  const dr = writableLeader(await readRegionCluster(run.targets, 'dr', config).catch(() => undefined));
  const serving = await servingRegion(run.targets.primary.stateDir);
  const wanted: Region | undefined = primary ? 'primary' : dr ? 'dr' : undefined;
  if (wanted && serving !== wanted) {
    await pointEdgeAt(run.targets.primary.stateDir, wanted);
    run.restored.push(`edge pointed at the ${wanted} region (the one that takes writes)`);
  }
  run.restored.push(
    primary && !dr
      ? 'state: the primary region serves; the DR region is its standby cluster (as before the drill)'
      : dr
        ? 'state: the DR region serves (promoted); the primary region is down or rebuilding. make failback rebuilds it from DR and moves users back'
        : 'WARNING: no region has a writable leader; see make status',
  );
}

/** What the region drill says in its report; the envelope (concludeDrill) adds the rest. */
function findings(run: Run): DrillFindings {
  const lost = run.markers.find((m) => m.name === REGION_MOMENTS[0])?.atMs;
  const validated = run.markers.find((m) => m.name === REGION_MOMENTS[5])?.atMs;
  return {
    drill: 'region',
    scenario: 'lose-primary-region',
    description: 'every container of the primary region killed under user load through the edge; the DR standby cluster promoted and the edge repointed; then failing back',
    figures: regionFigures(
      {
        markers: inTimeOrder(run.markers),
        samples: run.samples,
        lostAtFailover: run.lostAtFailover,
        lostAtFailback: run.lostAtFailback,
        ...(run.drFile ? { filesLostAtFailback: run.filesLostAtFailback ?? null } : {}),
        filesRpoMs: run.filesCopiedAt !== undefined && run.lostAtMs !== undefined ? Math.max(0, Math.round(run.lostAtMs - run.filesCopiedAt)) : null,
        failback: run.options.failback !== false,
        ...(run.wal !== undefined ? { wal: run.wal } : {}),
      },
      run.options.config.drills.region,
    ),
    bands: lost !== undefined && validated !== undefined ? [{ lane: 'api', label: 'region switch', fromMs: lost, toMs: validated, tone: 'bad' }] : [],
  };
}

export async function runRegionDrill(options: RegionOptions): Promise<ConcludedDrill> {
  const run: Run = {
    ...startDrillRun(options, { name: 'region drill', tag: 'region' }),
    targets: regionTargets(options.target),
    lostAtFailover: null,
    lostAtFailback: null,
    failedBack: false,
  };
  const { phase } = run.recorder;
  await phase('preflight (both regions healthy, the edge on the primary)', () => preflight(run));
  let failure: Error | undefined;
  try {
    run.walSampler = sampleWal(run);
    run.load = startApiLoad({ http: run.users!, base: run.edge!, readsPerSecond: 10, writesPerSecond: 5, token: run.token!, writeTag: run.tag, now: run.now, onSample: ({ kind: _kind, ...s }) => run.samples.push(s) });
    await phase('load through the edge and a 3 s baseline', () => systemClock.sleep(3000, options.signal));
    run.filesCopiedAt = await readFilesCopiedAt(run).catch(() => undefined);
    await phase('lose the primary region, switch to DR', () => loseThePrimary(run));
    await phase('3 s of users on DR, one of them uploading an image', async () => {
      run.drFile = await uploadInDr(run).catch((error: Error) => {
        run.notes.push(`could not upload an image while DR served: ${error.message}`);
        return undefined;
      });
      await systemClock.sleep(3000, options.signal);
    });
    const inDr = await eventSeqs(run, 'dr');
    const lostAt = run.markers.find((m) => m.name === REGION_MOMENTS[0])?.atMs ?? 0;
    const ackedBeforeLoss = [...acked(run)].filter((seq) => run.samples.some((s) => s.seq === seq && s.outcome === 'ok' && s.atMs + s.latencyMs <= lostAt));
    run.lostAtFailover = ackedBeforeLoss.filter((seq) => !inDr.has(seq)).length;
    if (options.failback !== false) {
      await phase('fail back: rebuild the primary from DR, switch users back', () => failBack(run));
      await phase('3 s of users on the primary', () => systemClock.sleep(3000, options.signal));
    }
  } catch (error) {
    failure = error as Error;
  } finally {
    await run.walSampler?.stop();
    await run.load?.stop();
    await leaveConsistent(run).catch((error: Error) => run.restored.push(`WARNING: could not check the regions: ${error.message}`));
  }
  if (!failure && run.failedBack) {
    const onPrimary = await eventSeqs(run, 'primary');
    run.lostAtFailback = [...acked(run)].filter((seq) => !onPrimary.has(seq)).length;
    if (run.drFile) run.filesLostAtFailback = (await imageBackOnPrimary(run, run.drFile)) ? 0 : 1;
  }
  await removeEvents(run).catch((error: Error) => run.restored.push(`WARNING: could not remove the drill's events (${run.tag} …): ${error.message}`));
  return concludeDrill(run, failure, () => findings(run));
}
