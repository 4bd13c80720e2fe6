/**
 * pgBackRest on the running stack: which node leads, `pgbackrest` run there (the image's wrapper
 * loads the repository's secrets), a backup now, and the repository's catalog.
 */
import type { ParityConfig } from '../../services/config/schema.js';
import { BackupError, BackupInputError, formatDuration } from '../../services/errors.js';
import { parseInfo, type BackupSet, type BackupType, type Repository } from '../../services/backup/catalog.js';
import { STANZA } from '../../services/topology/backup.js';
import { patroniNodes } from '../../services/topology/patroni.js';
import { readCluster } from './patroni.js';
import { patroniRest, projectContainerIds, type ComposeTarget } from './stack.js';
import { tryRun } from './exec.js';

/** Backups are on and the HA cluster runs; else bad input saying what to change. */
export function requireBackups(config: ParityConfig): void {
  if (!config.backup.enabled) {
    throw new BackupInputError('backups are off in this config (backup.enabled: false, or a profile without the Patroni cluster): set backup.enabled: true with postgres.ha: patroni, then make up');
  }
}

/** The container of a compose service (its first replica), or bad input when it doesn't run. */
export async function containerOf(target: ComposeTarget, service: string): Promise<string> {
  const [id] = await projectContainerIds(target.project, service);
  if (!id) throw new BackupInputError(`${service} is not running in project ${target.project}: is the stack up? (make up)`);
  return id;
}

/** The Patroni node that leads now, as Patroni says; bad input when none does. */
export async function leaderNode(target: ComposeTarget, config: ParityConfig): Promise<string> {
  const view = await readCluster(await patroniRest(target, config), 2000);
  if (!view?.leader) throw new BackupInputError(`no Patroni leader in project ${target.project} (nodes: ${patroniNodes(config).join(', ')}): is the stack up and healthy? (make status)`);
  return view.leader;
}

/** The last lines pgBackRest wrote that say what went wrong (its ERROR line first). */
export function pgbackrestError(output: string): string {
  const lines = output.split('\n').map((line) => line.trim()).filter(Boolean);
  const error = lines.find((line) => /ERROR: \[\d+\]/.test(line));
  return error ? error.replace(/^.*?ERROR: /, 'ERROR: ') : lines.slice(-3).join(' / ') || 'no output';
}

/** `pgbackrest ARGS` in a container (the stanza comes from PGBACKREST_STANZA or is passed). */
export async function pgbackrest(container: string, args: readonly string[], onLine?: (line: string) => void, timeoutMs = 30 * 60_000): Promise<string> {
  const argv = ['docker', 'exec', container, 'pgbackrest', `--stanza=${STANZA}`, ...args];
  const result = await tryRun(argv, { ...(onLine ? { onLine } : {}), timeoutMs });
  if (result.code !== 0) throw new BackupError(`pgbackrest ${args.join(' ')} failed after ${formatDuration(result.elapsedMs)} (exit ${result.code}): ${pgbackrestError(`${result.stdout}\n${result.stderr}`)}`);
  return result.stdout;
}

/** The repository as any running Patroni node reads it. */
export async function readRepository(target: ComposeTarget, config: ParityConfig): Promise<Repository> {
  requireBackups(config);
  const node = await leaderNode(target, config).catch(() => patroniNodes(config)[0]!);
  const json = await pgbackrest(await containerOf(target, node), ['info', '--output=json'], undefined, 60_000);
  return parseInfo(json, STANZA);
}

/** A backup now, on the leader; resolves with the new set. */
export async function takeBackup(target: ComposeTarget, config: ParityConfig, type: BackupType, onLine?: (line: string) => void): Promise<BackupSet> {
  requireBackups(config);
  const leader = await leaderNode(target, config);
  const container = await containerOf(target, leader);
  // Idempotent: a cluster whose agent hasn't created the stanza yet gets it now.
  await pgbackrest(container, ['stanza-create'], undefined, 120_000);
  const before = new Set((await readRepository(target, config)).backups.map((set) => set.label));
  await pgbackrest(container, ['backup', `--type=${type}`, '--log-level-console=info'], onLine);
  const made = (await readRepository(target, config)).backups.find((set) => !before.has(set.label));
  if (!made) throw new BackupError(`pgbackrest backup --type=${type} on ${leader} finished but no new set is in the repository`);
  return made;
}
