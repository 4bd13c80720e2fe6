/**
 * The region drill's figures, pure: per-phase times from the drill's markers (the primary region
 * lost → detected → DR promoted → DR apps ready → traffic switched → validated; then the fail
 * back), users' failed requests, and the writes lost by sequence number, against the budgets.
 */
import type { DrillsConfig } from '../config/schema.js';
import type { Figure, Marker, Sample } from './model.js';

/** The drill's moments, in order; each phase's figure is the time from the previous one. */
export const REGION_MOMENTS = ['primary region lost', 'loss detected', 'DR promoted', 'DR apps ready', 'traffic switched to DR', 'validated in DR'] as const;
export const FAILBACK_MOMENTS = ['failback: primary rebuilt as a standby of DR', 'failback: DR demoted', 'failback: primary promoted', "failback: the primary's apps take writes", 'failback: traffic switched to the primary', 'failback: validated'] as const;

export interface RegionObservations {
  readonly markers: readonly Marker[];
  readonly samples: readonly Sample[];
  /** Acknowledged API writes (sequence numbers) before the loss that the DR region lacks after promotion (null: not checked). */
  readonly lostAtFailover: number | null;
  /** Acknowledged writes (any time) missing from the primary after failing back (null: no failback). */
  readonly lostAtFailback: number | null;
  /**
   * Files users uploaded while DR served that the primary doesn't serve after failing back (of
   * those the drill uploaded; null: not checked). The primary's sync into DR would delete them there.
   */
  readonly filesLostAtFailback?: number | null;
  /** The loss minus the newest complete copy of the file buckets into the DR region (ms; null: never copied). */
  readonly filesRpoMs: number | null;
  /** Failback ran (its figures are required then). */
  readonly failback: boolean;
  /**
   * Every user's writes, not only the drill's lane: the primary's WAL position last seen before
   * the loss against what the DR standby had replayed when it was promoted (null: not measured).
   */
  readonly wal?: WalRpo | null;
}

/** The primary's last WAL position seen before the loss, and the DR standby's replay at promotion. */
export interface WalRpo {
  /** Bytes of WAL the primary had written (last sample before the kill) that DR never replayed. */
  readonly bytes: number;
  /** Age of the last transaction DR replayed, at the primary's last sample (ms; 0 when DR had it all). */
  readonly ms: number;
}

/** The RPO of every write, from WAL positions (bytes as numbers: `lsnBytes` of each side, services/contracts/wal.ts). */
export function walRpo(primary: { readonly lsn: bigint; readonly atMs: number }, dr: { readonly lsn: bigint; readonly lastReplayAtMs: number | null }): WalRpo {
  const behind = primary.lsn - dr.lsn;
  if (behind <= 0n) return { bytes: 0, ms: 0 };
  return { bytes: Number(behind), ms: dr.lastReplayAtMs === null ? Number.NaN : Math.max(0, Math.round(primary.atMs - dr.lastReplayAtMs)) };
}

/** The DR standby as the region drill's preflight found it. */
export interface StandbyView {
  /** pg_stat_wal_receiver.status on the DR standby leader (`streaming`), null: no WAL receiver. */
  readonly receiver: string | null;
  /** How far the standby's replay was behind the primary's position at the check, bytes (null: unknown). */
  readonly behindBytes: number | null;
  /** How long it took to replay the primary's position (null: not within the budget). */
  readonly caughtUpMs: number | null;
  readonly budgetMs: number;
}

const bytes = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`);

/** Why the drill must not start on this standby (undefined: it may). */
export function standbyRefusal(view: StandbyView): string | undefined {
  if (view.receiver !== 'streaming') {
    return `the DR standby is not streaming from the primary (WAL receiver: ${view.receiver ?? 'none'}; ${view.behindBytes === null ? 'replay position unknown' : `${bytes(Math.max(0, view.behindBytes))} behind`}): a region switch now would lose what the primary acknowledged since it stopped following. Check make status and the DR region's logs (docker compose -p parity-dr logs postgres-1); a standby that followed an old timeline or an old backup must be rebuilt (make down, then make up with dr.enabled)`;
  }
  if (view.caughtUpMs === null) {
    return `the DR standby did not replay the primary's current position within ${view.budgetMs} ms (drills.region.standbyLagMs; still ${view.behindBytes === null ? 'an unknown amount' : bytes(Math.max(0, view.behindBytes))} behind): a region switch now would lose at least that much`;
  }
  return undefined;
}

export const describeStandby = (view: StandbyView): string =>
  `DR standby before the drill: ${view.receiver}, replayed the primary's position in ${view.caughtUpMs} ms (budget ${view.budgetMs} ms)`;

const at = (markers: readonly Marker[], name: string) => markers.find((m) => m.name === name)?.atMs;

/** Writes only: the users' POSTs through the edge, in a window. */
const failedWrites = (samples: readonly Sample[], fromMs: number | undefined, toMs: number | undefined) =>
  fromMs === undefined ? null : samples.filter((s) => s.route === '/api/events' && s.seq !== undefined && s.outcome === 'failed' && s.atMs >= fromMs && (toMs === undefined || s.atMs <= toMs)).length;

export function regionFigures(observed: RegionObservations, budgets: DrillsConfig['region']): Figure[] {
  const { markers } = observed;
  const lost = at(markers, REGION_MOMENTS[0]);
  const phase = (name: string, from: string, to: string, how: string): Figure => {
    const start = at(markers, from);
    const end = at(markers, to);
    return { name, value: start !== undefined && end !== undefined ? Math.round(end - start) : null, unit: 'ms', required: true, how };
  };
  const validated = at(markers, REGION_MOMENTS[5]);
  const figures: Figure[] = [
    phase('detection', REGION_MOMENTS[0], REGION_MOMENTS[1], 'kill → 3 failed probes of the primary\'s Traefik in a row (every 250 ms)'),
    phase('promotion', REGION_MOMENTS[1], REGION_MOMENTS[2], 'standby_cluster removed (Patroni PATCH /config) → the DR leader writable'),
    phase('apps ready', REGION_MOMENTS[2], REGION_MOMENTS[3], 'DR leader writable → a POST /api/events through the DR Traefik succeeds'),
    phase('traffic switched', REGION_MOMENTS[3], REGION_MOMENTS[4], 'the edge repointed to the DR Traefik (the link\'s edge proxy, like a DNS change)'),
    phase('validated', REGION_MOMENTS[4], REGION_MOMENTS[5], 'first user write through the edge acknowledged by the DR region'),
    {
      name: 'RTO (region lost → users write again)',
      value: lost !== undefined && validated !== undefined ? Math.round(validated - lost) : null,
      unit: 'ms',
      budget: budgets.rtoSeconds * 1000,
      required: true,
      how: 'the sum of the phases above',
    },
    { name: 'user writes failed during the switch', value: failedWrites(observed.samples, lost, validated), unit: 'count', how: 'POST /api/events through the edge, from the loss to validation' },
    {
      name: 'RPO: acked writes lost with the primary region',
      value: observed.lostAtFailover,
      unit: 'count',
      required: true,
      how: 'acknowledged sequence numbers missing in the DR region after promotion (cross-region replication is asynchronous)',
    },
    {
      name: "RPO: every user's writes (WAL the DR region never replayed)",
      value: observed.wal ? observed.wal.bytes : null,
      unit: 'count',
      budget: budgets.walRpoBytes,
      required: observed.wal !== undefined,
      how: `bytes of the primary's WAL (its last position seen, sampled every 200 ms up to the loss) beyond DR's replay at promotion${observed.wal && observed.wal.bytes > 0 ? `; DR's newest replayed transaction was ${Number.isNaN(observed.wal.ms) ? 'of unknown age' : `${observed.wal.ms} ms older`}` : ''}`,
    },
    { name: 'files RPO', value: observed.filesRpoMs, unit: 'ms', how: 'the loss − the last complete copy of images and documents into the DR region' },
  ];
  if (observed.failback) {
    const back = at(markers, FAILBACK_MOMENTS[1]);
    const backValidated = at(markers, FAILBACK_MOMENTS[5]);
    figures.push(
      phase('failback: rebuild the primary from DR', REGION_MOMENTS[5], FAILBACK_MOMENTS[0], 'primary region started with fresh database volumes, cloned from the DR writer through the link'),
      {
        name: 'failback write stall',
        value: back !== undefined && backValidated !== undefined ? Math.round(backValidated - back) : null,
        unit: 'ms',
        required: true,
        how: 'DR demoted → the first user write through the edge acknowledged by the primary',
      },
      // The stall's parts, so the next change knows where its seconds go.
      phase('failback stall: the primary replays DR and is promoted', FAILBACK_MOMENTS[1], FAILBACK_MOMENTS[2], "DR demoted → the primary's standby leader has DR's last WAL position and is writable"),
      phase("failback stall: the primary's apps take writes", FAILBACK_MOMENTS[2], FAILBACK_MOMENTS[3], "promoted → a write through the primary's own Traefik acknowledged (the apps' writer breakers closed)"),
      phase('failback stall: the edge repointed and restarted', FAILBACK_MOMENTS[3], FAILBACK_MOMENTS[4], "the route file rewritten, the edge recreated (users' kept-alive connections to DR closed)"),
      { name: 'failback: acked writes lost', value: observed.lostAtFailback, unit: 'count', budget: budgets.failbackLostWrites, required: true, how: 'every acknowledged sequence number, looked up on the primary after failing back' },
      {
        name: 'failback: files uploaded in DR lost',
        value: observed.filesLostAtFailback ?? null,
        unit: 'count',
        budget: budgets.failbackLostWrites,
        required: observed.filesLostAtFailback !== undefined,
        how: "an event image uploaded through the edge while DR served, read back through the edge from the primary (waiting up to the files interval for the primary's agent to pull it back)",
      },
    );
  }
  return figures;
}
