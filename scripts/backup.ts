#!/usr/bin/env -S npx tsx
/** `make backup [TYPE=…]` and `make backups [FORMAT=json]`: pgBackRest's repository on the running stack. */
import { parseBackupType } from '../services/backup/catalog.js';
import { lockFreedLine, lockWaitDetail, lockWaitStep } from '../services/backup/lock.js';
import { backupProgressLine, formatMiB, formatRepository } from '../services/backup/format.js';
import { formatDuration, UsageError } from '../services/errors.js';
import { DEFAULT_LOCK_WAIT_MS, readRepository, requireBackups, takeBackup } from './runners/dr/backup.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { loadConfig } from './runners/gen/gen.js';
import { createProgress } from './runners/core/progress.js';
import { defaultTarget } from './runners/stack/stack.js';

const HELP = `
Usage: npx tsx scripts/backup.ts backup [--type full|diff|incr] [--wait-timeout SECONDS]
                                                          (make backup [TYPE=full|diff|incr] [WAIT=SECONDS])
       npx tsx scripts/backup.ts list [--format table|json]      (make backups [FORMAT=json])

Commands:
  backup   a pgBackRest backup now, on the Patroni leader, into s3://backups/pgbackrest
           (the stack's S3 store, over HTTPS, encrypted). Default type: diff once a full
           backup exists, else full. Prints pgBackRest's progress, the new set and the table.
           When another backup holds the stanza's lock (right after make up: the agent's
           first scheduled full backup), it waits for it with progress, says which sets
           finished meanwhile, then takes its own (with no --type: the default as the
           repository then stands).
  list     the repository: one row per backup set (finished, age, duration, database and
           repository size, the set it is based on), the WAL archive's range and the totals;
           --format json prints the repository as data.

The backup agent on each node takes scheduled backups by itself (backup.* in parity.yaml).
Exit codes: 0 done; 1 pgBackRest failed (its error line is shown), or the lock was still held
after the wait timeout (the holder is named); 2 bad input, backups off in
this config, or the stack not up. (make itself exits 2 for any failure: run the npx command to
get these codes.)

Options:
  --type full|diff|incr   backup: the type (default: diff when a full exists, else full)
  --wait-timeout SECONDS  backup: how long to wait for the stanza's lock another backup holds
                          (default 900; 0: don't wait)
  --format table|json     list: output format (default table)
  -h, --help              show this help
`;

await runMain(async () => {
  const { values, positionals } = parseCli(process.argv.slice(2), { type: { type: 'string' }, format: { type: 'string' }, 'wait-timeout': { type: 'string' } }, HELP);
  const [command, ...rest] = positionals;
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')} (see --help)`);
  if (command !== 'backup' && command !== 'list') throw new UsageError(`expected a command, backup or list (got ${command ? `"${command}"` : 'none'}); see --help`);
  if (command === 'list' && values.type !== undefined) throw new UsageError('--type applies to backup, not list');
  if (command === 'list' && values['wait-timeout'] !== undefined) throw new UsageError('--wait-timeout applies to backup, not list');
  if (command === 'backup' && values.format !== undefined) throw new UsageError('--format applies to list, not backup');
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`--format: expected table or json, got "${format}"`);
  const requested = values.type === undefined ? undefined : parseBackupType(values.type);
  const waitSeconds = values['wait-timeout'] === undefined ? DEFAULT_LOCK_WAIT_MS / 1000 : Number(values['wait-timeout'].trim() || Number.NaN);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new UsageError(`--wait-timeout (WAIT=): expected a number of seconds, 0 or more, got "${values['wait-timeout']}"`);
  const config = await loadConfig();
  requireBackups(config);
  const target = defaultTarget();

  if (command === 'list') {
    const repository = await readRepository(target, config);
    process.stdout.write(format === 'json' ? `${JSON.stringify(repository, null, 2)}\n` : `${formatRepository(repository, new Date())}\n`);
    return;
  }
  const progress = createProgress('[backup]');
  const started = Date.now();
  progress.step('the Patroni leader and its repository');
  const set = await takeBackup(target, config, requested, {
    waitTimeoutMs: waitSeconds * 1000,
    onLine: (line) => {
      const shown = backupProgressLine(line);
      if (shown) progress.info(shown);
    },
    onEvent: (event) => {
      if (event.kind === 'waiting') progress.step(lockWaitStep(event.holder), lockWaitDetail(event.holder, event.waitedMs, event.timeoutMs));
      else if (event.kind === 'lock-free') progress.info(lockFreedLine(event.waitedMs, event.finished, event.type, requested !== undefined));
      else progress.step(`${event.type} backup on the Patroni leader (${event.node})`);
    },
  }).finally(() => progress.done());
  const table = formatRepository(await readRepository(target, config), new Date());
  process.stdout.write(
    `\nNew ${set.type} backup set ${set.label}${set.prior ? ` (based on ${set.prior})` : ''}: ${formatMiB(set.databaseBytes)} of database, ` +
      `${formatMiB(set.repoBytes)} added to the repository, ${formatDuration(Date.now() - started)} in all.\n\n${table}\n`,
  );
});
