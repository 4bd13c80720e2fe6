import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseSetFor, defaultBackupType, parseBackupType, parseInfo, parseRestoreTarget, type Repository } from '../../services/backup/catalog.js';
import { backupProgressLine, formatAge, formatMiB, formatRepository } from '../../services/backup/format.js';
import { BackupInputError } from '../../services/errors.js';
import { pgbackrestError } from '../../scripts/runners/dr/backup.js';

/** `pgbackrest info --output=json` from the dev stack: a full set and a diff on it. */
const SAMPLE = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'backup', 'info.json'), 'utf8');
const FULL = '20261128-162612F';
const DIFF = '20261128-162612F_20261128-163122D';
/** A stanza pgBackRest created that holds no backup yet (its JSON as 2.45 writes it). */
const EMPTY =
  '[{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":null,"min":null}],"backup":[],"cipher":"aes-256-cbc","db":[{"id":1,"repo-key":1,"system-id":7713259446036869172,"version":"15"}],"name":"parity","repo":[{"cipher":"aes-256-cbc","key":1,"status":{"code":2,"message":"no valid backups"}}],"status":{"code":2,"lock":{"backup":{"held":false}},"message":"no valid backups"}}]';

const repository = parseInfo(SAMPLE, 'parity');
const empty = parseInfo(EMPTY, 'parity');

/** The message of the error `run` throws, which must be a BackupInputError (exit 2). */
function inputError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BackupInputError);
    expect((error as BackupInputError).exitCode).toBe(2);
    return (error as Error).message;
  }
  throw new Error('expected a BackupInputError');
}

describe('backup catalog: pgbackrest info', () => {
  it('GIVEN the dev stack\'s repository THEN the sets in order with sizes, WAL ranges and the prior set', () => {
    expect(repository).toEqual({
      stanza: 'parity',
      status: { code: 0, message: 'ok' },
      cipher: 'aes-256-cbc',
      archive: { min: '000000010000000000000001', max: '00000001000000000000000A' },
      backups: [
        { label: FULL, type: 'full', startedAt: 1795883172, stoppedAt: 1795883180, databaseBytes: 31321687, repoBytes: 6154944, walStart: '000000010000000000000005', walStop: '000000010000000000000005', error: false },
        { label: DIFF, type: 'diff', startedAt: 1795883482, stoppedAt: 1795883485, databaseBytes: 31632983, repoBytes: 395200, walStart: '000000010000000000000009', walStop: '00000001000000000000000A', prior: FULL, error: false },
      ],
    } satisfies Repository);
  });

  it('GIVEN a stanza with no backup yet THEN no sets, no WAL range, pgBackRest\'s status', () => {
    expect(empty).toEqual({ stanza: 'parity', status: { code: 2, message: 'no valid backups' }, cipher: 'aes-256-cbc', backups: [] });
  });

  it('GIVEN a repository without the stanza THEN an empty repository that says so', () => {
    expect(parseInfo(SAMPLE, 'other')).toEqual({ stanza: 'other', status: { code: -1, message: 'stanza not in the repository' }, cipher: 'none', backups: [] });
  });
});

describe('backup catalog: restore targets', () => {
  it.each([
    ['latest', { kind: 'latest' }],
    [` ${FULL} `, { kind: 'set', label: FULL }],
    [DIFF, { kind: 'set', label: DIFF }],
    ['2026-11-28T16:30:00Z', { kind: 'time', at: new Date('2026-11-28T16:30:00Z') }],
    ['2026-11-28 16:30:00+00', { kind: 'time', at: new Date('2026-11-28T16:30:00Z') }],
    ['2026-11-28T17:30:00.250+01:00', { kind: 'time', at: new Date('2026-11-28T16:30:00.250Z') }],
    ['2026-11-28T16:30-0130', { kind: 'time', at: new Date('2026-11-28T18:00:00Z') }],
  ])('GIVEN %j THEN %j', (text, target) => {
    expect(parseRestoreTarget(text)).toEqual(target);
  });

  it.each(['', 'newest', '2026-11-28T16:30:00', '2026-11-28', '2026-13-40T16:30:00Z', '20261128-162612D', 'yesterday'])(
    'GIVEN %j THEN bad input naming the three forms',
    (text) => {
      expect(inputError(() => parseRestoreTarget(text))).toBe(
        `restore target "${text}": expected latest, a backup label (20261128-162612F, see make backups) or an ISO-8601 time with a zone (2026-11-28T16:30:00Z)`,
      );
    },
  );
});

describe('backup catalog: the set a restore starts from', () => {
  const at = (iso: string) => ({ kind: 'time', at: new Date(iso) }) as const;

  it('GIVEN a named set THEN that set, even when a newer one exists', () => {
    expect(baseSetFor(repository, { kind: 'set', label: FULL }).label).toBe(FULL);
  });

  it('GIVEN a set the repository lacks THEN bad input listing what it holds', () => {
    expect(inputError(() => baseSetFor(repository, { kind: 'set', label: '20261127-120000F' }))).toBe(
      `no backup set named 20261127-120000F: the repository holds ${FULL}, ${DIFF}`,
    );
  });

  it('GIVEN a time THEN the newest set that finished at or before it', () => {
    expect(baseSetFor(repository, at('2026-11-28T16:26:20Z')).label).toBe(FULL);
    expect(baseSetFor(repository, at('2026-11-28T16:31:24Z')).label).toBe(FULL);
    expect(baseSetFor(repository, at('2026-11-28T16:31:25Z')).label).toBe(DIFF);
  });

  it('GIVEN a time before any set finished THEN bad input saying what the repository holds', () => {
    expect(inputError(() => baseSetFor(repository, at('2026-11-28T16:26:19Z')))).toBe(
      `no backup finished before 2026-11-28T16:26:19.000Z: the repository holds ${FULL}, ${DIFF}`,
    );
  });

  it('GIVEN latest THEN the newest set; on an empty repository, how to take one', () => {
    expect(baseSetFor(repository, { kind: 'latest' }).label).toBe(DIFF);
    expect(inputError(() => baseSetFor(empty, { kind: 'latest' }))).toBe('nothing to restore: the repository holds no backup (make backup takes one)');
  });
});

describe('backup catalog: backup types', () => {
  it.each(['full', 'diff', 'incr', ' incr '])('GIVEN %j THEN that type', (text) => {
    expect(parseBackupType(text)).toBe(text.trim());
  });

  it.each(['', 'FULL', 'differential', 'inc'])('GIVEN %j THEN bad input naming the three', (text) => {
    expect(inputError(() => parseBackupType(text))).toBe(`backup type "${text}": expected full, diff or incr`);
  });

  it('GIVEN no type named THEN diff once a full set exists, else full', () => {
    expect(defaultBackupType(repository)).toBe('diff');
    expect(defaultBackupType(empty)).toBe('full');
    expect(defaultBackupType({ ...repository, backups: repository.backups.filter((set) => set.type !== 'full') })).toBe('full');
  });
});

describe('backup catalog: the table', () => {
  it('GIVEN the dev stack\'s repository at a fixed time THEN one row per set, the WAL range and the totals', () => {
    expect(formatRepository(repository, new Date('2026-11-28T16:40:00Z'))).toBe(
      [
        'LABEL                              TYPE  FINISHED (UTC)        AGE         DURATION  DATABASE  REPOSITORY  BASED ON',
        '20261128-162612F                   full  2026-11-28T16:26:20Z  13 min ago  8.0s      29.9 MiB  5.9 MiB',
        '20261128-162612F_20261128-163122D  diff  2026-11-28T16:31:25Z  8 min ago   3.0s      30.2 MiB  0.4 MiB     20261128-162612F',
        '',
        'WAL archive 000000010000000000000001 … 00000001000000000000000A; status ok; cipher aes-256-cbc',
        '2 sets (1 full, 1 diff), 6.2 MiB (6550144 bytes) in the repository, WAL not included',
      ].join('\n'),
    );
  });

  it('GIVEN a set with page checksum errors THEN a line names it', () => {
    const damaged = { ...repository, backups: [{ ...repository.backups[0]!, error: true }] };
    expect(formatRepository(damaged, new Date('2026-11-28T16:40:00Z')).split('\n').slice(-2)).toEqual([
      '1 set (1 full), 5.9 MiB (6154944 bytes) in the repository, WAL not included',
      `${FULL}: pgBackRest found page checksum errors while copying it`,
    ]);
  });

  it('GIVEN an empty repository THEN it says so and how to take a backup', () => {
    expect(formatRepository(empty, new Date('2026-11-28T16:40:00Z'))).toBe(
      ['No backup in the repository (stanza parity): make backup takes one.', 'WAL archive empty; status: no valid backups (code 2); cipher aes-256-cbc'].join('\n'),
    );
  });

  it.each([
    [0, '0.0 MiB'],
    [576, '<0.1 MiB'],
    [52_428, '<0.1 MiB'],
    [52_429, '0.1 MiB'],
    [31_321_687, '29.9 MiB'],
  ])('GIVEN %i bytes THEN "%s"', (bytes, text) => {
    expect(formatMiB(bytes)).toBe(text);
  });

  it.each([
    [0, '0 s ago'],
    [-5, '0 s ago'],
    [59, '59 s ago'],
    [60, '1 min ago'],
    [3599, '59 min ago'],
    [3600 * 5 + 12 * 60, '5 h 12 min ago'],
    [86_400 * 2 + 3600 * 3 + 59, '2 d 3 h ago'],
  ])('GIVEN a set finished %i s ago THEN "%s"', (seconds, text) => {
    const now = new Date('2026-11-28T16:40:00Z');
    expect(formatAge(now.getTime() / 1000 - seconds, now)).toBe(text);
  });
});

describe('backup progress: pgBackRest\'s console lines', () => {
  it.each([
    ['2026-11-28 16:26:12.345 P00   INFO: backup start archive = 000000010000000000000005, lsn = 0/5000028', 'backup start archive = 000000010000000000000005, lsn = 0/5000028'],
    ['P00   INFO: new backup label = 20261128-162612F', 'new backup label = 20261128-162612F'],
    ['P00   INFO: full backup size = 29.9MB, file total = 1262', 'full backup size = 29.9MB, file total = 1262'],
    ['P00   INFO: backup command end: completed successfully (8123ms)', 'backup command end: completed successfully (8123ms)'],
    ['P00   WARN: no prior backup exists, diff backup has been changed to full', 'WARN: no prior backup exists, diff backup has been changed to full'],
    ['P00   INFO: backup command begin 2.45: --exec-id=…', undefined],
    ['P00   INFO: check archive for segment(s) 000000010000000000000005:000000010000000000000005', undefined],
    ['P00   INFO: expire command end: completed successfully (12ms)', undefined],
    ['', undefined],
  ])('GIVEN %j THEN %j', (line, shown) => {
    expect(backupProgressLine(line)).toBe(shown);
  });
});

describe('backup runner: what pgBackRest said went wrong', () => {
  it('GIVEN its ERROR line among others THEN that line, without timestamp and process id', () => {
    expect(pgbackrestError('P00   INFO: backup command begin 2.45\n2026-11-28 16:50:01.123 P00  ERROR: [082]: WAL segment 000000010000000000000009 was not archived before the 60000ms timeout\n')).toBe(
      'ERROR: [082]: WAL segment 000000010000000000000009 was not archived before the 60000ms timeout',
    );
  });

  it('GIVEN a lock held by another command THEN whose it likely is and what to do', () => {
    // As seen on the dev stack: make backup while another backup ran.
    expect(pgbackrestError("ERROR: [050]: unable to acquire lock on file '/tmp/pgbackrest/parity-backup.lock': Resource temporarily unavailable\n")).toBe(
      "ERROR: [050]: unable to acquire lock on file '/tmp/pgbackrest/parity-backup.lock': Resource temporarily unavailable (another pgBackRest command holds the stanza's lock: a backup the agent scheduled, or another make backup; try again when it ends)",
    );
  });

  it('GIVEN no ERROR line THEN the last three lines, or that there was no output', () => {
    expect(pgbackrestError('a\nb\n\nc\nd\n')).toBe('b / c / d');
    expect(pgbackrestError(' \n')).toBe('no output');
  });
});
