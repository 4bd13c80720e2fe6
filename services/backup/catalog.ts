/**
 * The backup repository as pgBackRest describes it (`pgbackrest info --output=json`), pure: the
 * backup sets in order, the WAL archive's range, and which set a restore target resolves to.
 */
import { BackupInputError } from '../errors.js';

export const BACKUP_TYPES = ['full', 'diff', 'incr'] as const;
export type BackupType = (typeof BACKUP_TYPES)[number];

export interface BackupSet {
  /** pgBackRest's label: `20261128-162612F`, `…_20261128-170000D` for a differential one. */
  readonly label: string;
  readonly type: BackupType;
  /** Seconds since the epoch. */
  readonly startedAt: number;
  readonly stoppedAt: number;
  /** Database size in the set, bytes. */
  readonly databaseBytes: number;
  /** What the set added to the repository (compressed, encrypted), bytes. */
  readonly repoBytes: number;
  /** The set's WAL range: a restore of it needs these segments at least. */
  readonly walStart: string;
  readonly walStop: string;
  /** The set it depends on (diff and incr). */
  readonly prior?: string;
  /** pgBackRest found page checksum errors while copying. */
  readonly error: boolean;
}

export interface Repository {
  readonly stanza: string;
  /** pgBackRest's status line (`ok`, `no valid backups`, `missing stanza path`, …). */
  readonly status: { readonly code: number; readonly message: string };
  readonly cipher: string;
  readonly backups: readonly BackupSet[];
  /** The WAL archive's oldest and newest segments, when any were archived. */
  readonly archive?: { readonly min: string; readonly max: string };
}

interface InfoJson {
  name: string;
  status: { code: number; message: string };
  cipher?: string;
  archive?: { min?: string | null; max?: string | null }[];
  backup?: {
    label: string;
    type: BackupType;
    timestamp: { start: number; stop: number };
    info: { size: number; repository: { delta: number } };
    archive: { start: string; stop: string };
    prior: string | null;
    error?: boolean;
  }[];
}

/** The stanza's repository from `pgbackrest info --output=json` (one stanza). */
export function parseInfo(json: string, stanza: string): Repository {
  const all = JSON.parse(json) as InfoJson[];
  const info = all.find((entry) => entry.name === stanza);
  if (!info) return { stanza, status: { code: -1, message: 'stanza not in the repository' }, cipher: 'none', backups: [] };
  const archive = info.archive?.find((entry) => entry.min && entry.max);
  return {
    stanza,
    // Only what the type promises: pgBackRest's status also carries lock details.
    status: { code: info.status.code, message: info.status.message },
    cipher: info.cipher ?? 'none',
    backups: (info.backup ?? []).map((b) => ({
      label: b.label,
      type: b.type,
      startedAt: b.timestamp.start,
      stoppedAt: b.timestamp.stop,
      databaseBytes: b.info.size,
      repoBytes: b.info.repository.delta,
      walStart: b.archive.start,
      walStop: b.archive.stop,
      ...(b.prior ? { prior: b.prior } : {}),
      error: b.error ?? false,
    })),
    ...(archive ? { archive: { min: archive.min!, max: archive.max! } } : {}),
  };
}

/** `full`, `diff` or `incr` (`make backup TYPE=…`); anything else is bad input naming the three. */
export function parseBackupType(text: string): BackupType {
  const found = BACKUP_TYPES.find((type) => type === text.trim());
  if (!found) throw new BackupInputError(`backup type "${text}": expected full, diff or incr`);
  return found;
}

/**
 * The type of a backup nobody named: differential once a full set exists (it copies only what
 * changed since that full one), else full (pgBackRest would turn a diff without one into a full anyway).
 */
export function defaultBackupType(repository: Repository): BackupType {
  return repository.backups.some((set) => set.type === 'full') ? 'diff' : 'full';
}

/** What a restore is asked for: the newest state, the end of a named set, or a moment. */
export type RestoreTarget = { readonly kind: 'latest' } | { readonly kind: 'set'; readonly label: string } | { readonly kind: 'time'; readonly at: Date };

const LABEL = /^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$/;

/**
 * `latest`, a backup label, or an ISO-8601 time with a zone (`2026-11-28T16:30:00Z`,
 * `2026-11-28 16:30:00+00`); anything else is bad input naming the three forms.
 */
export function parseRestoreTarget(text: string): RestoreTarget {
  const value = text.trim();
  if (value === 'latest') return { kind: 'latest' };
  if (LABEL.test(value)) return { kind: 'set', label: value };
  const zoned = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$/.test(value);
  const at = new Date(value.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'));
  if (zoned && !Number.isNaN(at.getTime())) return { kind: 'time', at };
  throw new BackupInputError(
    `restore target "${text}": expected latest, a backup label (20261128-162612F, see make backups) or an ISO-8601 time with a zone (2026-11-28T16:30:00Z)`,
  );
}

/**
 * The set a restore starts from: the named one, else the newest set that finished before the
 * target time (pgBackRest's own choice), else bad input saying what the repository holds.
 */
export function baseSetFor(repository: Repository, target: RestoreTarget): BackupSet {
  const sets = repository.backups;
  const held = sets.length ? `the repository holds ${sets.map((s) => s.label).join(', ')}` : 'the repository holds no backup (make backup takes one)';
  if (target.kind === 'set') {
    const found = sets.find((s) => s.label === target.label);
    if (!found) throw new BackupInputError(`no backup set named ${target.label}: ${held}`);
    return found;
  }
  const candidates = target.kind === 'time' ? sets.filter((s) => s.stoppedAt * 1000 <= target.at.getTime()) : sets;
  const chosen = candidates.at(-1);
  if (!chosen) {
    throw new BackupInputError(target.kind === 'time' ? `no backup finished before ${target.at.toISOString()}: ${held}` : `nothing to restore: ${held}`);
  }
  return chosen;
}
