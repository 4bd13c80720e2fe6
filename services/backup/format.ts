/**
 * The backup repository for people, pure: the table `make backups` and `make backup` print, and
 * the few pgBackRest log lines worth showing while a backup runs.
 */
import { formatDuration } from '../errors.js';
import { BACKUP_TYPES, type BackupSet, type Repository } from './catalog.js';

const MIB = 1024 * 1024;

/**
 * Bytes as MiB with one decimal: the unit and rounding of pgBackRest's own `info` (which writes
 * "MB"). A few bytes are `<0.1 MiB`, not `0.0 MiB`: a diff of an idle database adds some.
 */
export function formatMiB(bytes: number): string {
  return bytes > 0 && bytes < 0.05 * MIB ? '<0.1 MiB' : `${(bytes / MIB).toFixed(1)} MiB`;
}

/** `2026-11-28T16:26:20Z`: UTC, to the second. */
export function formatUtc(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `42 s ago`, `3 min ago`, `5 h 12 min ago`, `2 d 3 h ago` (a moment after `now` counts as now). */
export function formatAge(epochSeconds: number, now: Date): string {
  const seconds = Math.max(0, Math.floor(now.getTime() / 1000 - epochSeconds));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min ago`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h ago`;
}

/** Columns padded to their widest cell, two spaces apart, no trailing spaces (formatStatusTable's layout). */
export function formatColumns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

const HEADER = ['LABEL', 'TYPE', 'FINISHED (UTC)', 'AGE', 'DURATION', 'DATABASE', 'REPOSITORY', 'BASED ON'];

function setRow(set: BackupSet, now: Date): string[] {
  return [
    set.label,
    set.type,
    formatUtc(set.stoppedAt),
    formatAge(set.stoppedAt, now),
    formatDuration((set.stoppedAt - set.startedAt) * 1000),
    formatMiB(set.databaseBytes),
    formatMiB(set.repoBytes),
    set.prior ?? '',
  ];
}

/** `status ok`, or pgBackRest's message with its code when it isn't. */
function describeStatus(repository: Repository): string {
  const { code, message } = repository.status;
  return code === 0 ? `status ${message}` : `status: ${message} (code ${code})`;
}

/** `2 sets (1 full, 1 diff)`. */
function describeCounts(sets: readonly BackupSet[]): string {
  const byType = BACKUP_TYPES.map((type) => [type, sets.filter((set) => set.type === type).length] as const).filter(([, count]) => count > 0);
  return `${sets.length} set${sets.length === 1 ? '' : 's'} (${byType.map(([type, count]) => `${count} ${type}`).join(', ')})`;
}

/**
 * The repository as a table, one row per set (oldest first, as pgBackRest lists them), then the
 * WAL archive's range with the repository's status and cipher, and the totals. An empty
 * repository says so and how to fill it.
 */
export function formatRepository(repository: Repository, now: Date): string {
  const sets = repository.backups;
  const wal = repository.archive ? `WAL archive ${repository.archive.min} … ${repository.archive.max}` : 'WAL archive empty';
  const summary = `${wal}; ${describeStatus(repository)}; cipher ${repository.cipher}`;
  if (!sets.length) return `No backup in the repository (stanza ${repository.stanza}): make backup takes one.\n${summary}`;
  const repoBytes = sets.reduce((sum, set) => sum + set.repoBytes, 0);
  const errors = sets.filter((set) => set.error).map((set) => `${set.label}: pgBackRest found page checksum errors while copying it`);
  return [
    formatColumns([HEADER, ...sets.map((set) => setRow(set, now))]),
    '',
    summary,
    `${describeCounts(sets)}, ${formatMiB(repoBytes)} (${repoBytes} bytes) in the repository, WAL not included`,
    ...errors,
  ].join('\n');
}

/** The console lines of `pgbackrest backup --log-level-console=info` worth showing. */
const SHOWN = [/INFO: backup start archive/, /INFO: new backup label/, /INFO: \w+ backup size/, /INFO: backup command end/];

/**
 * A line of pgBackRest's console log to show while a backup runs (without its timestamp and
 * process id), or undefined for the rest: the start of the WAL range, the new label, the size and
 * the end line. Warnings and errors always show.
 */
export function backupProgressLine(line: string): string | undefined {
  const text = line.trim().replace(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} /, '').replace(/^P\d+\s+/, '');
  if (/^(WARN|ERROR):/.test(text)) return text;
  return SHOWN.some((pattern) => pattern.test(text)) ? text.replace(/^INFO: /, '') : undefined;
}
