#!/usr/bin/env -S npx tsx
/** `make backup [TYPE=…]` and `make backups [FORMAT=json]`: pgBackRest's repository on the running stack. */
import { defaultBackupType, parseBackupType } from '../services/backup/catalog.js';
import { backupProgressLine, formatMiB, formatRepository } from '../services/backup/format.js';
import { formatDuration, UsageError } from '../services/errors.js';
import { readRepository, requireBackups, takeBackup } from './runners/backup.js';
import { parseCli, runMain } from './runners/cli.js';
import { loadConfig } from './runners/gen.js';
import { createProgress } from './runners/progress.js';
import { defaultTarget } from './runners/stack.js';

const HELP = `
Usage: npx tsx scripts/backup.ts backup [--type full|diff|incr]   (make backup [TYPE=full|diff|incr])
       npx tsx scripts/backup.ts list [--format table|json]      (make backups [FORMAT=json])

Commands:
  backup   a pgBackRest backup now, on the Patroni leader, into s3://backups/pgbackrest
           (the stack's S3 store, over HTTPS, encrypted). Default type: diff once a full
           backup exists, else full. Prints pgBackRest's progress, the new set and the table.
  list     the repository: one row per backup set (finished, age, duration, database and
           repository size, the set it is based on), the WAL archive's range and the totals;
           --format json prints the repository as data.

The backup agent on each node takes scheduled backups by itself (backup.* in parity.yaml).
Exit codes: 0 done; 1 pgBackRest failed (its error line is shown); 2 bad input, backups off in
this config, or the stack not up. (make itself exits 2 for any failure: run the npx command to
get these codes.)

Options:
  --type full|diff|incr   backup: the type (default: diff when a full exists, else full)
  --format table|json     list: output format (default table)
  -h, --help              show this help
`;

await runMain(async () => {
  const { values, positionals } = parseCli(process.argv.slice(2), { type: { type: 'string' }, format: { type: 'string' } }, HELP);
  const [command, ...rest] = positionals;
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')} (see --help)`);
  if (command !== 'backup' && command !== 'list') throw new UsageError(`expected a command, backup or list (got ${command ? `"${command}"` : 'none'}); see --help`);
  if (command === 'list' && values.type !== undefined) throw new UsageError('--type applies to backup, not list');
  if (command === 'backup' && values.format !== undefined) throw new UsageError('--format applies to list, not backup');
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`--format: expected table or json, got "${format}"`);
  const requested = values.type === undefined ? undefined : parseBackupType(values.type);
  const config = await loadConfig();
  requireBackups(config);
  const target = defaultTarget();

  if (command === 'list') {
    const repository = await readRepository(target, config);
    process.stdout.write(format === 'json' ? `${JSON.stringify(repository, null, 2)}\n` : `${formatRepository(repository, new Date())}\n`);
    return;
  }
  const progress = createProgress('[backup]');
  const type = requested ?? defaultBackupType(await readRepository(target, config));
  const started = Date.now();
  progress.step(`${type} backup on the Patroni leader`);
  const set = await takeBackup(target, config, type, (line) => {
    const shown = backupProgressLine(line);
    if (shown) progress.info(shown);
  });
  progress.done();
  const table = formatRepository(await readRepository(target, config), new Date());
  process.stdout.write(
    `\nNew ${set.type} backup set ${set.label}${set.prior ? ` (based on ${set.prior})` : ''}: ${formatMiB(set.databaseBytes)} of database, ` +
      `${formatMiB(set.repoBytes)} added to the repository, ${formatDuration(Date.now() - started)} in all.\n\n${table}\n`,
  );
});
