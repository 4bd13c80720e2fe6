/**
 * pgBackRest on the running stack: which node leads, `pgbackrest` run there (the image's wrapper
 * loads the repository's secrets), a backup now, and the repository's catalog.
 */
import type { ParityConfig } from '../../services/config/schema.js';
import { BackupError, BackupInputError, formatDuration, StackNotUpError } from '../../services/errors.js';
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

/** The container of a compose service (its first replica); the stack not up (exit 2) when it doesn't run. */
export async function containerOf(target: ComposeTarget, service: string): Promise<string> {
  const [id] = await projectContainerIds(target.project, service);
  if (!id) throw new StackNotUpError(`${service} is not running in project ${target.project}: is the stack up? (make up)`);
  return id;
}

/** The Patroni node that leads now, as Patroni says; the stack not up (exit 2) when none does. */
export async function leaderNode(target: ComposeTarget, config: ParityConfig): Promise<string> {
  const view = await readCluster(await patroniRest(target, config), 2000);
  if (!view?.leader) throw new StackNotUpError(`no Patroni leader in project ${target.project} (nodes: ${patroniNodes(config).join(', ')}): is the stack up and healthy? (make status)`);
  return view.leader;
}

/** pgBackRest's error 50 names a lock file; say whose it is likely to be. */
const LOCK_HINT = ' (another pgBackRest command holds the stanza\'s lock: a backup the agent scheduled, or another make backup; try again when it ends)';

/** The last lines pgBackRest wrote that say what went wrong (its ERROR line first). */
export function pgbackrestError(output: string): string {
  const lines = output.split('\n').map((line) => line.trim()).filter(Boolean);
  const error = lines.find((line) => /ERROR: \[\d+\]/.test(line));
  if (!error) return lines.slice(-3).join(' / ') || 'no output';
  return `${error.replace(/^.*?ERROR: /, 'ERROR: ')}${/ERROR: \[050\]/.test(error) ? LOCK_HINT : ''}`;
}

/** `pgbackrest ARGS` in a container (the stanza comes from PGBACKREST_STANZA or is passed). */
export async function pgbackrest(container: string, args: readonly string[], onLine?: (line: string) => void, timeoutMs = 30 * 60_000): Promise<string> {
  const argv = ['docker', 'exec', container, 'pgbackrest', `--stanza=${STANZA}`, ...args];
  const result = await tryRun(argv, { ...(onLine ? { onLine } : {}), timeoutMs });
  if (result.code !== 0) throw new BackupError(`pgbackrest ${args.join(' ')} failed after ${formatDuration(result.elapsedMs)} (exit ${result.code}): ${pgbackrestError(`${result.stdout}\n${result.stderr}`)}`);
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
  return readCatalog(await containerOf(target, node));
}

/** A backup now, on the leader; resolves with the new set. */
export async function takeBackup(target: ComposeTarget, config: ParityConfig, type: BackupType, onLine?: (line: string) => void): Promise<BackupSet> {
  requireBackups(config);
  const leader = await leaderNode(target, config);
  const container = await containerOf(target, leader);
  // Idempotent: a cluster whose agent hasn't created the stanza yet gets it now.
  await pgbackrest(container, ['stanza-create'], undefined, 120_000);
  // Read where the backup runs: finding the leader again costs a compose call per node.
  const before = new Set((await readCatalog(container)).backups.map((set) => set.label));
  await pgbackrest(container, ['backup', `--type=${type}`, '--log-level-console=info'], onLine);
  const made = (await readCatalog(container)).backups.find((set) => !before.has(set.label));
  if (!made) throw new BackupError(`pgbackrest backup --type=${type} on ${leader} finished but no new set is in the repository`);
  return made;
}
