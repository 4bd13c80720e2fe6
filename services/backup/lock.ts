/**
 * The stanza's lock, pure: pgBackRest lets one backup (or expire, or stanza-*) command hold it at
 * a time. Whether a command failed because another one holds it (error 50), whether `pgbackrest
 * info` says a backup holds it now, which process that is (from `ps` in the node's container),
 * and the words `make backup` waits and gives up with. Right after `make up` the holder is
 * usually the backup agent's first scheduled full backup.
 */
import { formatDuration } from '../errors.js';
import type { BackupSet, BackupType, Repository } from './catalog.js';

/** pgBackRest's error code (and exit code) for a lock another command holds. */
export const LOCK_ERROR_CODE = 50;

/** The command failed on the stanza's lock: exit 50, its `ERROR: [050]` line, or the lock message itself. */
export function isLockError(exitCode: number | null, output: string): boolean {
  return exitCode === LOCK_ERROR_CODE || /ERROR: \[050\]/.test(output) || /unable to acquire lock/i.test(output);
}

/** `pgbackrest info --output=json` says a backup (or expire) holds the stanza's lock on this node now. */
export function backupLockHeld(infoJson: string, stanza: string): boolean {
  const all = JSON.parse(infoJson) as { name?: string; status?: { lock?: { backup?: { held?: boolean } } } }[];
  return all.find((entry) => entry.name === stanza)?.status?.lock?.backup?.held === true;
}

/** pgBackRest's status codes meaning the stanza isn't created yet (-1: not listed at all). */
const STANZA_MISSING = new Set([-1, 1, 3]);

/** The repository has no stanza yet: `stanza-create` comes first (the agent makes it on its first round, a moment after the cluster starts). */
export function stanzaMissing(repository: Repository): boolean {
  return STANZA_MISSING.has(repository.status.code);
}

/** The process that holds the stanza's lock, as `ps` in the node's container shows it. */
export interface LockHolder {
  readonly pid: number;
  /** `pgbackrest backup --type=full`: the command and its type, without paths or other options. */
  readonly command: string;
  /** How long it has run, seconds. */
  readonly runningSeconds: number;
  /** Started by the node's backup agent (a scheduled backup), not by `make backup` or a person. */
  readonly agent: boolean;
}

/** The commands that take the backup lock (archive-push and -get take the archive lock only). */
const LOCKING_COMMANDS = new Set(['backup', 'expire', 'stanza-create', 'stanza-upgrade', 'stanza-delete']);

interface PsLine {
  readonly pid: number;
  readonly ppid: number;
  readonly seconds: number;
  readonly args: string;
}

/**
 * The lock holder from `ps -ww -eo pid=,ppid=,etimes=,args=` in the container: the oldest
 * pgBackRest main process of a locking command (its `backup:local` workers aside), and whether
 * the backup agent started it. Undefined when none runs (it ended, or another node holds it).
 */
export function lockHolderFromPs(ps: string): LockHolder | undefined {
  const lines: PsLine[] = [];
  for (const raw of ps.split('\n')) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.+?)\s*$/.exec(raw);
    if (match) lines.push({ pid: Number(match[1]), ppid: Number(match[2]), seconds: Number(match[3]), args: match[4]! });
  }
  const holders = lines.flatMap((line) => {
    const [program = '', ...rest] = line.args.split(/\s+/);
    if (program.split('/').at(-1) !== 'pgbackrest') return [];
    const command = rest.find((token) => !token.startsWith('-'));
    if (!command || !LOCKING_COMMANDS.has(command)) return [];
    const type = rest.find((token) => token.startsWith('--type='));
    const parent = lines.find((other) => other.pid === line.ppid);
    return [{ pid: line.pid, command: ['pgbackrest', command, ...(type ? [type] : [])].join(' '), runningSeconds: line.seconds, agent: /parity-backup-agent/.test(parent?.args ?? '') }];
  });
  return holders.sort((a, b) => b.runningSeconds - a.runningSeconds)[0];
}

/** Who holds the lock, in words: the agent's scheduled full backup (pgbackrest backup --type=full, pid 212), or another command. */
export function describeLockHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'another pgBackRest command (the agent\'s scheduled backup?)';
  const type = /--type=(\w+)/.exec(holder.command)?.[1];
  const what = holder.command.includes(' backup') ? `${type ? `${type} ` : ''}backup` : holder.command.replace(/^pgbackrest /, '');
  return holder.agent
    ? `the backup agent's ${what.endsWith('backup') ? 'scheduled ' : ''}${what} (${holder.command}, pid ${holder.pid})`
    : `${holder.command} (pid ${holder.pid}; not the agent's: another make backup, or one run by hand)`;
}

/**
 * The progress step while `make backup` waits: the same words for the whole wait (the step's
 * clock runs on), e.g. "another backup holds the stanza's lock (the agent's scheduled one?); waiting".
 */
export function lockWaitStep(holder: LockHolder | undefined): string {
  return holder ? `${describeLockHolder(holder)} holds the stanza's lock; waiting` : 'another backup holds the stanza\'s lock (the agent\'s scheduled one?); waiting';
}

/** The step's detail: how long so far, the budget, and how long the holder has run. */
export function lockWaitDetail(holder: LockHolder | undefined, waitedMs: number, timeoutMs: number): string {
  return `${formatDuration(waitedMs)} of up to ${formatDuration(timeoutMs)}${holder ? `; it has run ${formatDuration(holder.runningSeconds * 1000)}` : ''}`;
}

/** The sets in `now` that `before` didn't have (oldest first): what finished while `make backup` waited. */
export function setsFinishedSince(before: Repository, now: Repository): BackupSet[] {
  const known = new Set(before.backups.map((set) => set.label));
  return now.backups.filter((set) => !known.has(set.label));
}

/**
 * The line once the lock is free: how long it took, the sets that finished meanwhile (usually the
 * agent's scheduled one), and the backup taken now: the one asked for (a set the agent just took
 * doesn't replace it); with no type named, the default as the repository now stands (a diff once
 * the agent's first full exists).
 */
export function lockFreedLine(waitedMs: number, finished: readonly BackupSet[], type: BackupType, named: boolean): string {
  const meanwhile = finished.length
    ? `; meanwhile ${finished.map((set) => `${set.type} backup ${set.label}`).join(', ')} finished`
    : '; no new backup set meanwhile';
  return `the stanza's lock is free after ${formatDuration(waitedMs)}${meanwhile}; taking the ${named ? `${type} backup asked for` : `${type} backup (the default now)`}`;
}

/** Why `make backup` gave up: what held the lock, how long it waited, what to do. */
export function lockTimeoutMessage(node: string, holder: LockHolder | undefined, waitedMs: number, timeoutMs: number): string {
  return (
    `no backup taken on ${node}: the stanza's lock was still held after waiting ${formatDuration(waitedMs)} (the wait timeout is ${formatDuration(timeoutMs)}) ` +
    `by ${describeLockHolder(holder)}${holder ? `, running for ${formatDuration(holder.runningSeconds * 1000)}` : ''}. ` +
    `Its progress: make logs SERVICE=${node} (the agent's lines start with "backup-agent"); when it ends, make backups lists its set. ` +
    'Then make backup again, or wait longer: make backup WAIT=3600 (seconds; --wait-timeout).'
  );
}
