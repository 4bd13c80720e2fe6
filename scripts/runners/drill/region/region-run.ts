/**
 * The region drill's run object and what it reads from each region: the users' writes and the
 * image uploaded while DR served, each writer's WAL position, the DR standby's replay, the
 * files agent's last copy. The phases (region.ts) fill the run and judge what these read.
 */
import type pg from 'pg';
import { FALLBACK_HEADER, lsnBytes } from '../../../../services/contracts/index.js';
import type { StandbyView, WalRpo } from '../../../../services/drills/region.js';
import { DrillError } from '../../../../services/errors.js';
import type { Region } from '../../../../services/topology/region.js';
import { BACKUP_METRICS_PORT } from '../../../../services/topology/backup.js';
import { adminOnWriter, withPg } from '../../clients/postgres.js';
import type { HttpClient } from '../../core/http.js';
import { systemClock } from '../../core/poll.js';
import { execIn } from '../../clients/compose.js';
import { readRegionCluster, regionTarget, servingRegion } from '../../dr/region-ops.js';
import type { RegionTargets } from '../../stack/regions.js';
import type { StartedApiLoad } from '../api-load.js';
import type { DrillOptions, DrillRun } from '../lifecycle.js';
import { waitUntil } from '../moments.js';

export interface RegionOptions extends DrillOptions {
  /** Fail back once DR serves. @default true */
  readonly failback?: boolean;
}

/** One region drill: what each phase reads and fills. */
export interface RegionRun extends DrillRun<RegionOptions> {
  readonly targets: RegionTargets;
  api?: string;
  http?: HttpClient;
  /** The users' client: kept-alive connections from many addresses, through the edge. */
  users?: HttpClient;
  token?: string;
  edge?: string;
  load?: StartedApiLoad;
  filesCopiedAt?: number;
  lostAtMs?: number;
  lostAtFailover: number | null;
  walSampler?: ReturnType<typeof sampleWal>;
  /** Every user's writes lost with the primary (WAL); null: not measured. */
  wal?: WalRpo | null;
  lostAtFailback: number | null;
  failedBack: boolean;
  /** The image a user uploaded while DR served, and whether the primary serves it after failback. */
  drFile?: { readonly id: string; readonly bytes: Buffer };
  filesLostAtFailback?: number | null;
}

/** A tiny PNG, unique per drill (its last bytes carry the tag). */
const drillImage = (tag: string) => Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from(`parity region drill ${tag}`)]);

/** While DR serves: an event with an image, through the edge as a signed-in user (the image lands in DR's S3 store). */
export async function uploadInDr(run: RegionRun): Promise<{ id: string; bytes: Buffer }> {
  const headers = { authorization: `Bearer ${run.token}` };
  const created = await run.users!(`${run.edge}/api/events`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ title: `${run.tag} image`, startsAt: new Date(Date.now() + 86_400_000).toISOString() }), timeoutMs: 5000 });
  if (created.status !== 201) throw new DrillError(`creating an event in DR answered HTTP ${created.status}`);
  const { id } = JSON.parse(created.body) as { id: string };
  const bytes = drillImage(run.tag);
  const put = await run.users!(`${run.edge}/api/events/${id}/image`, { method: 'PUT', headers: { ...headers, 'content-type': 'image/png' }, body: bytes, timeoutMs: 5000 });
  if (put.status !== 201) throw new DrillError(`uploading an image in DR answered HTTP ${put.status}`);
  return { id, bytes };
}

/** After failback, through the edge: the primary serves the image uploaded in DR (given the agent's files interval to pull it back). */
export async function imageBackOnPrimary(run: RegionRun, file: { readonly id: string; readonly bytes: Buffer }): Promise<boolean> {
  const limitMs = (run.options.config.backup.filesIntervalSeconds + 30) * 1000;
  const started = Date.now();
  return waitUntil(run, 'the image uploaded in DR served by the primary', async () => {
    const answer = await run.http!(`${run.edge}/api/events/${file.id}/image`, { timeoutMs: 3000 }).catch(() => undefined);
    // The client reads bodies as UTF-8: compare both sides decoded the same way.
    const back = answer?.status === 200 && !answer.headers[FALLBACK_HEADER.toLowerCase()] && answer.body === file.bytes.toString('utf8');
    if (back) run.notes.push(`the image uploaded in DR was served by the primary ${Math.round((Date.now() - started) / 100) / 10} s after the failback's end`);
    return back;
  }, limitMs, 1000);
}

export const acked = (run: RegionRun) => new Set(run.samples.filter((s) => s.route === '/api/events' && s.seq !== undefined && s.outcome === 'ok').map((s) => s.seq!));

/** SQL as the admin on a region's writer (published on this host): its Patroni leader, or standby leader. */
async function onRegionWriter<T>(run: RegionRun, region: Region, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const target = regionTarget(run.targets, region);
  const writer = await adminOnWriter(target, run.options.config);
  if (!writer) throw new DrillError(`${target.project}: postgres-writer publishes no port`);
  return withPg(writer, work);
}

/**
 * The primary's WAL position every 200 ms on one connection, until stopped (or the region dies):
 * the last one seen before the loss is what the primary had, whoever wrote it.
 */
export function sampleWal(run: RegionRun): { stop(): Promise<{ lsn: bigint; atMs: number } | undefined> } {
  let last: { lsn: bigint; atMs: number } | undefined;
  let stopped = false;
  const loop = onRegionWriter(run, 'primary', async (client) => {
    while (!stopped) {
      const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      last = { lsn: lsnBytes(rows[0]!.lsn), atMs: Date.now() };
      await systemClock.sleep(200);
    }
  }).catch(() => undefined);
  return {
    async stop() {
      stopped = true;
      await Promise.race([loop, systemClock.sleep(1000)]);
      return last;
    },
  };
}

/** What the DR standby had replayed when it was promoted: its position and its newest transaction's commit time. */
export async function drReplay(run: RegionRun): Promise<{ lsn: bigint; lastReplayAtMs: number | null }> {
  return onRegionWriter(run, 'dr', async (client) => {
    const { rows } = await client.query<{ lsn: string; at: string | null }>("SELECT pg_last_wal_replay_lsn()::text AS lsn, (extract(epoch FROM pg_last_xact_replay_timestamp()) * 1000)::text AS at");
    return { lsn: lsnBytes(rows[0]!.lsn), lastReplayAtMs: rows[0]!.at === null ? null : Number(rows[0]!.at) };
  });
}

/** The drill's events present in a region. */
export async function eventSeqs(run: RegionRun, region: Region): Promise<Set<number>> {
  return onRegionWriter(run, region, async (client) => {
    const { rows } = await client.query<{ title: string }>('SELECT title FROM events.events WHERE title LIKE $1', [`${run.tag} #%`]);
    return new Set(rows.map((row) => Number(row.title.split('#').at(-1))));
  });
}

/** The drill's events go, from whichever region takes writes now. */
export async function removeEvents(run: RegionRun): Promise<void> {
  if (!run.api) return;
  const region = await servingRegion(run.targets.primary.stateDir);
  const rowCount = await onRegionWriter(run, region, async (client) => (await client.query('DELETE FROM events.events WHERE title LIKE $1', [`${run.tag} %`])).rowCount);
  run.restored.push(`removed the drill's ${rowCount ?? 0} events from the ${region} region`);
}

/**
 * Is the DR standby a copy worth failing over to? It must be streaming from the primary and replay
 * the primary's current WAL position within the budget: a standby that follows an old timeline, or
 * was restored from an old backup and never caught up, would lose everything the primary
 * acknowledged since (it did: a stack with history lost ~15 minutes of events).
 */
export async function checkStandby(run: RegionRun): Promise<StandbyView> {
  const budgetMs = run.options.config.drills.region.standbyLagMs;
  const target = await onRegionWriter(run, 'primary', async (client) => (await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn);
  const started = Date.now();
  for (;;) {
    const view: StandbyView = await onRegionWriter(run, 'dr', async (client) => {
      const { rows } = await client.query<{ receiver: string | null; behind: string | null }>(
        'SELECT (SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS receiver, pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::text AS behind',
        [target],
      );
      const behind = rows[0]?.behind == null ? null : Number(rows[0].behind);
      return { receiver: rows[0]?.receiver ?? null, behindBytes: behind, caughtUpMs: behind !== null && behind <= 0 ? Date.now() - started : null, budgetMs };
    });
    if (view.caughtUpMs !== null || Date.now() - started > budgetMs) return view;
    await systemClock.sleep(200, run.options.signal);
  }
}

/** The files RPO's reference: the primary agent's newest complete copy into the DR region (read before the loss). */
export async function readFilesCopiedAt(run: RegionRun): Promise<number | undefined> {
  const leader = (await readRegionCluster(run.targets, 'primary', run.options.config))?.leader;
  if (!leader) return undefined;
  const metrics = await execIn(`${run.targets.primary.project}-${leader}-1`, ['curl', '-fsS', `localhost:${BACKUP_METRICS_PORT}/metrics`]);
  const times = [...metrics.stdout.matchAll(/^parity_files_copy_last_success_timestamp_seconds\{bucket="[^"]+"\} ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000);
  return times.length ? Math.min(...times) : undefined;
}
