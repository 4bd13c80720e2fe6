/**
 * pgBackRest on the running stack: `pgbackrest` run on the node that leads (`leaderNode`,
 * clients/postgres.ts; the image's wrapper loads the repository's secrets), a backup now (after
 * the one holding the stanza's lock, if any), and the repository's catalog.
 */
import type { ParityConfig } from '../../../services/config/schema.js';
import { BackupError, BackupInputError, BackupLockTimeoutError, formatDuration, TimeoutError } from '../../../services/errors.js';
import { defaultBackupType, parseInfo, type BackupSet, type BackupType, type Repository } from '../../../services/backup/catalog.js';
import { backupLockHeld, describeLockHolder, isLockError, lockHolderFromPs, lockTimeoutMessage, setsFinishedSince, stanzaMissing, type LockHolder } from '../../../services/backup/lock.js';
import { STANZA } from '../../../services/topology/backup.js';
import { patroniNodes } from '../../../services/topology/patroni.js';
import { leaderNode } from '../clients/postgres.js';
import { execIn } from '../clients/compose.js';
import { engineOf } from '../clients/engine-of.js';
import { type ComposeTarget } from '../clients/engine.js';
import type { RunResult } from '../core/exec.js';
import { done, pending, pollUntil, type Clock } from '../core/poll.js';

/** Backups are on and the HA cluster runs; else bad input saying what to change. */
export function requireBackups(config: ParityConfig): void {
  if (!config.backup.enabled) {
    throw new BackupInputError('backups are off in this config (backup.enabled: false, or a profile without the Patroni cluster): set backup.enabled: true with postgres.ha: patroni, then make up');
  }
}

/** pgBackRest's error 50 names a lock file; say whose it is likely to be. */
const LOCK_HINT = ' (another pgBackRest command holds the stanza\'s lock: a backup the agent scheduled, or another make backup; try again when it ends)';

/** The last lines pgBackRest wrote that say what went wrong (its ERROR line first). */
export function pgbackrestError(output: string): string {
  const lines = output.split('\n').map((line) => line.trim()).filter(Boolean);
  const error = lines.find((line) => /ERROR: \[\d+\]/.test(line));
  if (!error) return lines.slice(-3).join(' / ') || 'no output';
  return `${error.replace(/^.*?ERROR: /, 'ERROR: ')}${isLockError(null, error) ? LOCK_HINT : ''}`;
}

/** The error for a pgBackRest command that exited non-zero: what ran, how long, its error line. */
function pgbackrestFailure(args: readonly string[], result: RunResult): BackupError {
  return new BackupError(`pgbackrest ${args.join(' ')} failed after ${formatDuration(result.elapsedMs)} (exit ${result.code}): ${pgbackrestError(`${result.stdout}\n${result.stderr}`)}`);
}

/** `pgbackrest ARGS` in a container (the stanza comes from PGBACKREST_STANZA or is passed). */
export async function pgbackrest(container: string, args: readonly string[], onLine?: (line: string) => void, timeoutMs = 30 * 60_000): Promise<string> {
  const result = await pgbackrestOn(container, container).run(args, onLine, timeoutMs);
  if (result.code !== 0) throw pgbackrestFailure(args, result);
  return result.stdout;
}

/** The repository as pgBackRest in `container` reads it. */
async function readCatalog(container: string): Promise<Repository> {
  return parseInfo(await pgbackrest(container, ['info', '--output=json'], undefined, 60_000), STANZA);
}

/** The repository as any running Patroni node reads it. */
export async function readRepository(target: ComposeTarget, config: ParityConfig): Promise<Repository> {
  requireBackups(config);
  const node = await leaderNode(target, config).catch(() => patroniNodes(config)[0]!);
  return readCatalog(await engineOf(target).containerOf(node));
}

/** pgBackRest on one node, as a backup uses it (unit tests pass a fake). */
export interface PgbackrestNode {
  /** The Patroni node, for messages. */
  readonly node: string;
  /** `pgbackrest --stanza=… ARGS` there; a non-zero exit is an answer, not an error. */
  run(args: readonly string[], onLine?: (line: string) => void, timeoutMs?: number): Promise<RunResult>;
  /** The process holding the stanza's lock there, when `ps` shows one. */
  lockHolder(): Promise<LockHolder | undefined>;
}

/** pgBackRest in a node's container, through `docker exec` (the image's wrapper loads the repository's secrets). */
export function pgbackrestOn(container: string, node: string): PgbackrestNode {
  return {
    node,
    run: (args, onLine, timeoutMs = 30 * 60_000) => execIn(container, ['pgbackrest', `--stanza=${STANZA}`, ...args], { ...(onLine ? { onLine } : {}), timeoutMs }),
    lockHolder: async () => {
      const ps = await execIn(container, ['ps', '-ww', '-eo', 'pid=,ppid=,etimes=,args='], { timeoutMs: 15_000 });
      return ps.code === 0 ? lockHolderFromPs(ps.stdout) : undefined;
    },
  };
}

/** What a backup reports while it runs (the script turns these into progress lines). */
export type BackupEvent =
  /** Another command holds the stanza's lock; sent at each look while waiting. */
  | { readonly kind: 'waiting'; readonly holder: LockHolder | undefined; readonly waitedMs: number; readonly timeoutMs: number }
  /** The lock is free after a wait: the sets that finished meanwhile, and the type taken now. */
  | { readonly kind: 'lock-free'; readonly waitedMs: number; readonly finished: readonly BackupSet[]; readonly type: BackupType }
  /** pgBackRest's backup command starts. */
  | { readonly kind: 'starting'; readonly type: BackupType; readonly node: string };

export interface BackupOptions {
  /** pgBackRest's console lines as they come. */
  readonly onLine?: (line: string) => void;
  readonly onEvent?: (event: BackupEvent) => void;
  /**
   * How long to wait for the stanza's lock when another command holds it (the agent's scheduled
   * backup, right after make up); 0: don't wait.
   * @default 15 min
   */
  readonly waitTimeoutMs?: number;
  /** Between two looks at the lock. @default 5000 */
  readonly intervalMs?: number;
  readonly clock?: Clock;
}

export const DEFAULT_LOCK_WAIT_MS = 15 * 60_000;

/**
 * A backup now on `pg`'s node; resolves with the new set. Each round reads the repository
 * (`pgbackrest info`: the sets, and whether a backup holds the stanza's lock): while the lock is
 * held it waits (the holder named from `ps`), else it creates a missing stanza and runs the
 * backup; a backup that still meets the lock (taken in between) waits again. With no type
 * named, the default follows the repository as it is when the backup starts (a diff once the
 * agent's first full exists). The wait ends with `BackupLockTimeoutError` after `waitTimeoutMs`;
 * any other pgBackRest failure ends it at once.
 */
export async function backupWhenUnlocked(pg: PgbackrestNode, requested: BackupType | undefined, options: BackupOptions = {}): Promise<BackupSet> {
  const timeoutMs = options.waitTimeoutMs ?? DEFAULT_LOCK_WAIT_MS;
  const info = async (): Promise<{ repository: Repository; locked: boolean }> => {
    const args = ['info', '--output=json'];
    const result = await pg.run(args, undefined, 60_000);
    if (result.code !== 0) throw pgbackrestFailure(args, result);
    return { repository: parseInfo(result.stdout, STANZA), locked: backupLockHeld(result.stdout, STANZA) };
  };
  let first: Repository | undefined;
  let holder: LockHolder | undefined;
  let waiting = false;
  const reported = new Set<string>();
  const blocked = async (waitedMs: number) => {
    waiting = true;
    holder = await pg.lockHolder();
    options.onEvent?.({ kind: 'waiting', holder, waitedMs, timeoutMs });
    return pending(`the stanza's lock held by ${describeLockHolder(holder)}`);
  };
  const waited = await pollUntil(
    async (elapsedMs) => {
      const { repository, locked } = await info();
      first ??= repository;
      if (locked) return blocked(elapsedMs);
      if (stanzaMissing(repository)) {
        const args = ['stanza-create'];
        const created = await pg.run(args, undefined, 120_000);
        if (isLockError(created.code, `${created.stdout}\n${created.stderr}`)) return blocked(elapsedMs);
        if (created.code !== 0) throw pgbackrestFailure(args, created);
      }
      const type = requested ?? defaultBackupType(repository);
      if (waiting) {
        const finished = setsFinishedSince(first, repository).filter((set) => !reported.has(set.label));
        for (const set of finished) reported.add(set.label);
        options.onEvent?.({ kind: 'lock-free', waitedMs: elapsedMs, finished, type });
        waiting = false;
      }
      options.onEvent?.({ kind: 'starting', type, node: pg.node });
      const args = ['backup', `--type=${type}`, '--log-level-console=info'];
      const result = await pg.run(args, options.onLine);
      if (isLockError(result.code, `${result.stdout}\n${result.stderr}`)) return blocked(elapsedMs);
      if (result.code !== 0) throw pgbackrestFailure(args, result);
      return done({ type, before: repository });
    },
    { subject: `pgbackrest backup on ${pg.node}`, expectation: 'the stanza\'s lock free', timeoutMs, intervalMs: options.intervalMs ?? 5000, ...(options.clock ? { clock: options.clock } : {}) },
  ).catch((error: unknown) => {
    if (error instanceof TimeoutError) {
      const waitedMs = error.elapsedMs ?? timeoutMs;
      throw new BackupLockTimeoutError(lockTimeoutMessage(pg.node, holder, waitedMs, timeoutMs), waitedMs);
    }
    throw error;
  });
  const { type, before } = waited.value;
  // Nothing else could finish a set in between: this backup held the lock since `before` was read.
  const made = setsFinishedSince(before, (await info()).repository).at(-1);
  if (!made) throw new BackupError(`pgbackrest backup --type=${type} on ${pg.node} finished but no new set is in the repository`);
  return made;
}

/** A backup now, on the leader (waiting for the stanza's lock if another backup holds it); resolves with the new set. */
export async function takeBackup(target: ComposeTarget, config: ParityConfig, type: BackupType | undefined, options: BackupOptions = {}): Promise<BackupSet> {
  requireBackups(config);
  const leader = await leaderNode(target, config);
  return backupWhenUnlocked(pgbackrestOn(await engineOf(target).containerOf(leader), leader), type, options);
}
