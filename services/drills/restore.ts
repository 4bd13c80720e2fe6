/**
 * The restore drill's figures, pure: from what the drill wrote on the live cluster (sequence
 * numbers with their commit times) and what the restored cluster holds, which rows had to be
 * there, which were missing or past the target, and RTO/RPO against the budgets.
 */
import type { DrillsConfig } from '../config/schema.js';
import type { Figure } from './model.js';

/** What the drill asks for: `mid` restores to a moment between its own writes (the default). */
export type DrillRestoreTarget =
  | { readonly kind: 'latest' }
  | { readonly kind: 'set'; readonly label: string }
  | { readonly kind: 'time'; readonly at: Date }
  | { readonly kind: 'mid' };

export interface RestoreObservations {
  /** The moment recovered to (time and mid targets); undefined for latest and a set. */
  readonly targetAt?: Date;
  readonly target: DrillRestoreTarget;
  /** Acknowledged writes of this drill with their commit times on the live cluster (ms since the epoch). */
  readonly written: readonly { readonly seq: number; readonly committedAtMs: number }[];
  /** Sequence numbers the restored cluster holds for this drill (null: it could not be read). */
  readonly restoredSeqs: ReadonlySet<number> | null;
  /** The restored cluster's last recovered commit (pg_last_committed_xact), ms since the epoch. */
  readonly lastRecoveredCommitMs?: number;
  /** Restore started → the restored cluster answers, promoted (null: never). */
  readonly rtoMs: number | null;
  /** pgBackRest's restore of the files alone. */
  readonly filesMs?: number;
  /** Tables whose checksums were compared, and those that differ. */
  readonly checksums?: { readonly compared: number; readonly mismatched: readonly string[] };
}

/** The rows that must be in the restored cluster, and those that must not. */
export function expectedRows(observed: Pick<RestoreObservations, 'target' | 'targetAt' | 'written'>): { readonly present: Set<number>; readonly absent: Set<number> } {
  const present = new Set<number>();
  const absent = new Set<number>();
  for (const row of observed.written) {
    // latest: every acknowledged write; a set: none of the drill's (it writes after the newest set); a time: those committed by then.
    const wanted = observed.target.kind === 'latest' ? true : observed.target.kind === 'set' ? false : row.committedAtMs <= observed.targetAt!.getTime();
    (wanted ? present : absent).add(row.seq);
  }
  return { present, absent };
}

export function restoreFigures(observed: RestoreObservations, budgets: DrillsConfig['restore']): Figure[] {
  const { present, absent } = expectedRows(observed);
  const restored = observed.restoredSeqs;
  const missing = restored ? [...present].filter((seq) => !restored.has(seq)).length : null;
  const extra = restored ? [...absent].filter((seq) => restored.has(seq)).length : null;
  const figures: Figure[] = [
    { name: 'RTO (restore start → restored cluster answers)', value: observed.rtoMs, unit: 'ms', budget: budgets.rtoSeconds * 1000, required: true, how: 'pgBackRest restore into a fresh container and volume, WAL replay, promotion' },
  ];
  if (observed.filesMs !== undefined) figures.push({ name: 'files restored', value: observed.filesMs, unit: 'ms', how: 'pgbackrest restore alone (the base backup\'s files)' });
  figures.push(
    { name: 'acked writes missing', value: missing, unit: 'count', budget: budgets.lostWrites, required: true, how: `of ${present.size} writes committed by the target` },
    { name: 'writes past the target', value: extra, unit: 'count', budget: 0, required: true, how: `of ${absent.size} writes committed after the target` },
  );
  const rpo = recoveryPointMs(observed);
  if (rpo !== undefined) figures.push({ name: 'RPO (target − last recovered commit)', value: rpo, unit: 'ms', budget: budgets.rpoMs, required: true, how: rpoHow(observed.target) });
  if (observed.checksums) {
    figures.push({ name: 'table checksums that differ', value: observed.checksums.mismatched.length, unit: 'count', budget: 0, how: `${observed.checksums.compared} platform tables compared with the live ones` });
  }
  return figures;
}

const rpoHow = (target: DrillRestoreTarget) =>
  target.kind === 'latest' ? 'newest acknowledged write − newest write recovered' : 'target time − pg_last_committed_xact() on the restored cluster';

/** RPO in ms: for a time, how far before the target recovery stopped; for latest, how much of the newest writes is missing. */
export function recoveryPointMs(observed: RestoreObservations): number | undefined {
  if (observed.target.kind === 'set') return undefined;
  if (observed.target.kind === 'latest') {
    if (!observed.restoredSeqs || observed.written.length === 0) return undefined;
    const newest = Math.max(...observed.written.map((row) => row.committedAtMs));
    const recovered = observed.written.filter((row) => observed.restoredSeqs!.has(row.seq)).map((row) => row.committedAtMs);
    return recovered.length ? Math.max(0, Math.round(newest - Math.max(...recovered))) : undefined;
  }
  if (observed.lastRecoveredCommitMs === undefined || !observed.targetAt) return undefined;
  return Math.max(0, Math.round(observed.targetAt.getTime() - observed.lastRecoveredCommitMs));
}

/** One line for the report's header. */
export function describeTarget(target: DrillRestoreTarget, at?: Date): string {
  switch (target.kind) {
    case 'latest':
      return 'restore to the end of the WAL archive (every acknowledged write)';
    case 'set':
      return `restore backup set ${target.label} to its consistent end (no WAL after it)`;
    case 'time':
      return `point-in-time restore to ${target.at.toISOString()}`;
    case 'mid':
      return `point-in-time restore to a moment between the drill's own writes${at ? ` (${at.toISOString()})` : ''}`;
  }
}
