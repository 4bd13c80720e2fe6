/**
 * `make backup` while another backup holds the stanza's lock (right after `make up`: the agent's
 * first scheduled full backup): the pure judgements (pgBackRest's error 50, `info`'s lock field,
 * the holder from `ps`, the words) and the runner's wait-and-retry on a fake pgBackRest and a
 * fake clock.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseInfo } from '../../services/backup/catalog.js';
import {
  backupLockHeld,
  describeLockHolder,
  isLockError,
  lockFreedLine,
  lockHolderFromPs,
  lockTimeoutMessage,
  lockWaitDetail,
  lockWaitStep,
  setsFinishedSince,
  stanzaMissing,
  type LockHolder,
} from '../../services/backup/lock.js';
import { BackupError, BackupLockTimeoutError } from '../../services/errors.js';
import { backupWhenUnlocked, type BackupEvent, type PgbackrestNode } from '../../scripts/runners/dr/backup.js';
import type { RunResult } from '../../scripts/runners/core/exec.js';
import type { Clock } from '../../scripts/runners/core/poll.js';

/** `pgbackrest info --output=json` from the dev stack: a full set and a diff on it, lock free. */
const SAMPLE = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'backup', 'info.json'), 'utf8');
const FULL = '20261128-162612F';
const DIFF = '20261128-162612F_20261128-163122D';
type InfoEntry = { name: string; status: { code: number; message: string; lock?: { backup: { held: boolean } } }; backup?: { label: string }[] };
const sample = (JSON.parse(SAMPLE) as InfoEntry[])[0]!;

/** The sample's JSON with only the first `sets` sets, the backup lock held or not, and pgBackRest's status. */
function infoJson(sets: number, held: boolean, status = sets ? { code: 0, message: 'ok' } : { code: 2, message: 'no valid backups' }): string {
  return JSON.stringify([{ ...sample, backup: (sample.backup ?? []).slice(0, sets), status: { ...status, lock: { backup: { held } } } }]);
}
const MISSING_STANZA = JSON.stringify([{ name: 'parity', archive: [], backup: [], db: [], repo: [], status: { code: 1, message: 'missing stanza path', lock: { backup: { held: false } } } }]);

const LOCK_ERROR = "2026-11-28 16:26:13.001 P00  ERROR: [050]: unable to acquire lock on file '/tmp/pgbackrest/parity-backup.lock': Resource temporarily unavailable\n";

/** `ps -ww -eo pid=,ppid=,etimes=,args=` on the leader while the agent's first full backup runs. */
const PS_AGENT_FULL = [
  '    1     0   95 /usr/bin/python3 /usr/bin/patroni /etc/patroni/patroni.yml',
  '   57     1   94 python3 /usr/local/bin/parity-backup-agent',
  '  212    57   41 /usr/bin/pgbackrest backup --type=full --log-level-console=info',
  '  215   212   40 /usr/bin/pgbackrest --exec-id=212-5b1c --log-level-console=off --process=1 --remote-type=repo --stanza=parity backup:local',
  '  300   120    2 postgres: parity: archiver last was 000000010000000000000004',
  '  301   300    1 /usr/bin/pgbackrest --stanza=parity archive-push pg_wal/000000010000000000000005',
  '  310     0    0 ps -ww -eo pid=,ppid=,etimes=,args=',
].join('\n');

describe('backup lock: what pgBackRest says', () => {
  it.each([
    ['exit 50 with its ERROR line', 50, LOCK_ERROR, true],
    ['its ERROR line under another exit code (a wrapper)', 1, LOCK_ERROR, true],
    ['exit 50, output lost', 50, '', true],
    ['another error', 82, 'P00  ERROR: [082]: WAL segment 000000010000000000000009 was not archived before the 60000ms timeout', false],
    ['success', 0, 'P00   INFO: backup command end: completed successfully', false],
  ])('GIVEN %s THEN lock error: %s', (_, code, output, expected) => {
    expect(isLockError(code, output)).toBe(expected);
  });

  it('GIVEN pgbackrest info THEN whether a backup holds the stanza\'s lock now; a stanza it doesn\'t list holds none', () => {
    expect(backupLockHeld(infoJson(1, true), 'parity')).toBe(true);
    expect(backupLockHeld(SAMPLE, 'parity')).toBe(false);
    expect(backupLockHeld(infoJson(1, true), 'other')).toBe(false);
  });

  it('GIVEN a stanza pgBackRest has not created THEN it is missing; an empty or full one is not', () => {
    expect(stanzaMissing(parseInfo(MISSING_STANZA, 'parity'))).toBe(true);
    expect(stanzaMissing(parseInfo(SAMPLE, 'other'))).toBe(true);
    expect(stanzaMissing(parseInfo(infoJson(0, false), 'parity'))).toBe(false);
    expect(stanzaMissing(parseInfo(SAMPLE, 'parity'))).toBe(false);
  });
});

describe('backup lock: who holds it (ps in the leader\'s container)', () => {
  it('GIVEN the agent\'s scheduled full backup with its worker and an archive-push THEN the backup, started by the agent', () => {
    expect(lockHolderFromPs(PS_AGENT_FULL)).toEqual({ pid: 212, command: 'pgbackrest backup --type=full', runningSeconds: 41, agent: true } satisfies LockHolder);
  });

  it('GIVEN a backup started through docker exec (another make backup) THEN not the agent\'s', () => {
    const ps = '   57     1   94 python3 /usr/local/bin/parity-backup-agent\n  400     0   12 /usr/bin/pgbackrest --stanza=parity backup --type=diff --log-level-console=info\n';
    expect(lockHolderFromPs(ps)).toEqual({ pid: 400, command: 'pgbackrest backup --type=diff', runningSeconds: 12, agent: false });
  });

  it('GIVEN only archive-push, or no pgBackRest at all THEN no holder', () => {
    expect(lockHolderFromPs(PS_AGENT_FULL.split('\n').filter((line) => !/ (212|215) /.test(line)).join('\n'))).toBeUndefined();
    expect(lockHolderFromPs('')).toBeUndefined();
  });

  it('GIVEN the holder THEN the words of the wait: the step stays the same while its detail counts', () => {
    const holder = lockHolderFromPs(PS_AGENT_FULL);
    expect(describeLockHolder(holder)).toBe("the backup agent's scheduled full backup (pgbackrest backup --type=full, pid 212)");
    expect(lockWaitStep(holder)).toBe("the backup agent's scheduled full backup (pgbackrest backup --type=full, pid 212) holds the stanza's lock; waiting");
    expect(lockWaitStep(undefined)).toBe("another backup holds the stanza's lock (the agent's scheduled one?); waiting");
    expect(lockWaitDetail(holder, 12_000, 900_000)).toBe('12.0s of up to 15m00s; it has run 41.0s');
    expect(describeLockHolder({ pid: 400, command: 'pgbackrest backup --type=diff', runningSeconds: 3, agent: false })).toBe(
      'pgbackrest backup --type=diff (pid 400; not the agent\'s: another make backup, or one run by hand)',
    );
  });

  it('GIVEN the lock freed after the agent\'s full backup THEN that set is named, and the backup taken now', () => {
    const finished = setsFinishedSince(parseInfo(infoJson(0, true), 'parity'), parseInfo(infoJson(1, false), 'parity'));
    expect(finished.map((set) => set.label)).toEqual([FULL]);
    expect(lockFreedLine(95_000, finished, 'diff', false)).toBe(`the stanza's lock is free after 1m35s; meanwhile full backup ${FULL} finished; taking the diff backup (the default now)`);
    expect(lockFreedLine(95_000, [], 'full', true)).toBe("the stanza's lock is free after 1m35s; no new backup set meanwhile; taking the full backup asked for");
  });

  it('GIVEN the wait timed out THEN what held the lock, for how long it waited, and what to do', () => {
    expect(lockTimeoutMessage('patroni-1', lockHolderFromPs(PS_AGENT_FULL), 900_400, 900_000)).toBe(
      "no backup taken on patroni-1: the stanza's lock was still held after waiting 15m00s (the wait timeout is 15m00s) by the backup agent's scheduled full backup " +
        '(pgbackrest backup --type=full, pid 212), running for 41.0s. Its progress: make logs SERVICE=patroni-1 (the agent\'s lines start with "backup-agent"); ' +
        'when it ends, make backups lists its set. Then make backup again, or wait longer: make backup WAIT=3600 (seconds; --wait-timeout).',
    );
  });
});

/** A clock whose sleeps pass at once. */
function fakeClock(): Clock & { t: number; sleeps: number[] } {
  const clock = {
    t: 0,
    sleeps: [] as number[],
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}

const answer = (code: number, stdout = '', stderr = ''): RunResult => ({ code, stdout, stderr, elapsedMs: 100 });

/**
 * pgBackRest on a node, scripted: `info` answers come from `infos` in turn (the last repeats),
 * `backup` and `stanza-create` from theirs; every command is recorded.
 */
function fakeNode(script: { infos: string[]; backups?: RunResult[]; stanzaCreates?: RunResult[]; ps?: string }): PgbackrestNode & { calls: string[] } {
  const infos = [...script.infos];
  const backups = [...(script.backups ?? [answer(0)])];
  const creates = [...(script.stanzaCreates ?? [answer(0)])];
  const next = <T>(queue: T[]): T => (queue.length > 1 ? queue.shift()! : queue[0]!);
  const node = {
    node: 'patroni-1',
    calls: [] as string[],
    run: async (args: readonly string[]) => {
      node.calls.push(args.join(' '));
      if (args[0] === 'info') return answer(0, next(infos));
      if (args[0] === 'stanza-create') return next(creates);
      return next(backups);
    },
    lockHolder: async () => lockHolderFromPs(script.ps ?? ''),
  };
  return node;
}

describe('make backup waits for the stanza\'s lock (fake pgBackRest, fake clock)', () => {
  it('GIVEN the agent\'s first full backup running and no type named THEN it waits with progress, names the agent\'s set, then takes its own diff', async () => {
    const clock = fakeClock();
    // Held at the first two looks; then free with the agent's full set; then with the new diff.
    const pg = fakeNode({ infos: [infoJson(0, true), infoJson(0, true), infoJson(1, false), infoJson(2, false)], ps: PS_AGENT_FULL });
    const events: BackupEvent[] = [];
    const set = await backupWhenUnlocked(pg, undefined, { clock, intervalMs: 5000, waitTimeoutMs: 60_000, onEvent: (event) => events.push(event) });
    expect(set.label).toBe(DIFF);
    expect(pg.calls).toEqual(['info --output=json', 'info --output=json', 'info --output=json', 'backup --type=diff --log-level-console=info', 'info --output=json']);
    expect(clock.sleeps).toEqual([5000, 5000]);
    expect(events.map((event) => event.kind)).toEqual(['waiting', 'waiting', 'lock-free', 'starting']);
    expect(events[0]).toEqual({ kind: 'waiting', holder: { pid: 212, command: 'pgbackrest backup --type=full', runningSeconds: 41, agent: true }, waitedMs: 0, timeoutMs: 60_000 });
    const freed = events[2] as Extract<BackupEvent, { kind: 'lock-free' }>;
    expect([freed.waitedMs, freed.type, freed.finished.map((s) => s.label)]).toEqual([10_000, 'diff', [FULL]]);
  });

  it('GIVEN a type named THEN that type after the wait, even though the agent just took one', async () => {
    const pg = fakeNode({ infos: [infoJson(0, true), infoJson(1, false), infoJson(2, false)] });
    await backupWhenUnlocked(pg, 'full', { clock: fakeClock(), waitTimeoutMs: 60_000 });
    expect(pg.calls).toContain('backup --type=full --log-level-console=info');
  });

  it('GIVEN info says free but the backup meets the lock (taken in between) THEN it waits an interval and tries again', async () => {
    const clock = fakeClock();
    const pg = fakeNode({ infos: [infoJson(1, false), infoJson(1, false), infoJson(2, false)], backups: [answer(50, '', LOCK_ERROR), answer(0)] });
    const events: BackupEvent[] = [];
    const set = await backupWhenUnlocked(pg, 'diff', { clock, intervalMs: 5000, onEvent: (event) => events.push(event) });
    expect(set.label).toBe(DIFF);
    expect(pg.calls.filter((call) => call.startsWith('backup'))).toHaveLength(2);
    expect(clock.sleeps).toEqual([5000]);
    expect(events.map((event) => event.kind)).toEqual(['starting', 'waiting', 'lock-free', 'starting']);
  });

  it('GIVEN the lock held for the whole wait THEN BackupLockTimeoutError (exit 1) naming the holder and the time waited; no backup ran', async () => {
    const clock = fakeClock();
    const pg = fakeNode({ infos: [infoJson(0, true)], ps: PS_AGENT_FULL });
    const error = await backupWhenUnlocked(pg, undefined, { clock, intervalMs: 5000, waitTimeoutMs: 12_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupLockTimeoutError);
    expect((error as BackupLockTimeoutError).exitCode).toBe(1);
    expect((error as BackupLockTimeoutError).waitedMs).toBe(12_000);
    expect((error as Error).message).toMatch(/^no backup taken on patroni-1: the stanza's lock was still held after waiting 12\.0s \(the wait timeout is 12\.0s\) by the backup agent's scheduled full backup \(pgbackrest backup --type=full, pid 212\)/);
    expect(pg.calls.every((call) => call.startsWith('info'))).toBe(true);
    expect(clock.sleeps).toEqual([5000, 5000, 2000]);
  });

  it('GIVEN --wait-timeout 0 and the lock held THEN it gives up at once', async () => {
    const clock = fakeClock();
    const error = await backupWhenUnlocked(fakeNode({ infos: [infoJson(0, true)] }), undefined, { clock, waitTimeoutMs: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupLockTimeoutError);
    expect(clock.sleeps).toEqual([]);
  });

  it('GIVEN another pgBackRest failure THEN BackupError with its error line at once, no wait', async () => {
    const clock = fakeClock();
    const pg = fakeNode({ infos: [infoJson(1, false)], backups: [answer(82, '', 'P00  ERROR: [082]: WAL segment 000000010000000000000009 was not archived before the 60000ms timeout')] });
    const error = await backupWhenUnlocked(pg, 'diff', { clock }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupError);
    expect((error as Error).message).toMatch(/^pgbackrest backup --type=diff --log-level-console=info failed after 100ms \(exit 82\): ERROR: \[082\]: WAL segment/);
    expect(clock.sleeps).toEqual([]);
  });

  it('GIVEN no stanza yet THEN stanza-create first (waiting if it meets the lock), then a full backup', async () => {
    const clock = fakeClock();
    const pg = fakeNode({ infos: [MISSING_STANZA, MISSING_STANZA, infoJson(1, false)], stanzaCreates: [answer(50, '', LOCK_ERROR), answer(0)] });
    const set = await backupWhenUnlocked(pg, undefined, { clock, intervalMs: 5000 });
    expect(set.label).toBe(FULL);
    expect(pg.calls).toEqual(['info --output=json', 'stanza-create', 'info --output=json', 'stanza-create', 'backup --type=full --log-level-console=info', 'info --output=json']);
    expect(clock.sleeps).toEqual([5000]);
  });
});
