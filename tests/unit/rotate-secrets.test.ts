import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { runCliSync } from '../cli.js';
import { describe, expect, it } from 'vitest';
import { RotationError, UsageError } from '../../services/errors.js';
import { dashboardReloadConfig, dashboardUsersLine } from '../../services/topology/edge-security.js';
import { redisPasswordChange } from '../../services/topology/redis.js';
import { ROTATION_STEPS, rotateSecrets, type RotationStep } from '../../scripts/runners/rotate/rotate-secrets.js';
import { rewriteCopies, writeHostSecret } from '../../scripts/runners/rotate/copies.js';
import { asRecord, connectionsOf, parseRedisCliJson, redisCliInput } from '../../scripts/runners/rotate/redis-cli.js';
import { failedLogins } from '../../scripts/runners/rotate/redis.js';
import { selectSteps } from '../../scripts/runners/rotate/steps.js';
import { passwordForReconnect } from '../../stubs/src/runtime/cache.js';

const quiet = { info: () => {}, step: () => {}, done: () => {} };
const steps = [{ name: 'signing-keys' }, { name: 'redis' }, { name: 'dashboard' }];
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('rotate-secrets: which steps run', () => {
  it('every step, in the list order, without --only (or an empty one)', () => {
    expect(selectSteps(steps, undefined)).toEqual(steps);
    expect(selectSteps(steps, '')).toEqual(steps);
    expect(ROTATION_STEPS.map((step) => step.name)).toEqual(['signing-keys', 'redis', 'postgres', 'dashboard']);
  });

  it('the named ones, in the list order whatever the order given, each once', () => {
    expect(selectSteps(steps, 'dashboard,redis').map((step) => step.name)).toEqual(['redis', 'dashboard']);
    expect(selectSteps(steps, ' redis  redis, ').map((step) => step.name)).toEqual(['redis']);
  });

  it('an unknown name is bad input (exit 2) listing the valid ones', () => {
    expect(() => selectSteps(steps, 'redis,postgress')).toThrow(new UsageError('--only: unknown step "postgress"; the steps are signing-keys, redis, dashboard'));
    expect(() => selectSteps(steps, 'a,b')).toThrow(new UsageError('--only: unknown steps "a", "b"; the steps are signing-keys, redis, dashboard'));
    expect(new UsageError('x').exitCode).toBe(2);
  });

  it('the script: an unknown --only exits 2 before touching anything', () => {
    const result = runCliSync('rotate-secrets.ts', ['--only', 'redis,nope'], { ...process.env, CI: '1' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('✖ UsageError: --only: unknown step "nope"; the steps are signing-keys, redis, postgres, dashboard');
  }, 30_000);
});

describe('rotate-secrets: the runner', () => {
  const step = (name: string, log: string[], fail = false): RotationStep<string> => ({
    name,
    rotates: `the ${name} secret`,
    run: async () => {
      log.push(`run ${name}`);
      return `${name}-state`;
    },
    check: async (_context, state) => {
      log.push(`check ${state}`);
      if (fail) throw new RotationError(`${name}: not live`);
      return { summary: `${name} live`, details: { state } };
    },
  });
  const target = { project: 'p', composeDir: '/nowhere', stateDir: '/nowhere' };

  it.skipIf(process.getuid?.() !== 0)('runs run then check per step, in order, and reports each with its time', async () => {
    const log: string[] = [];
    const result = await rotateSecrets(target, quiet, { steps: [step('a', log), step('b', log)], only: 'b,a' });
    expect(log).toEqual(['run a', 'check a-state', 'run b', 'check b-state']);
    expect(result.steps.map(({ name, summary, details }) => ({ name, summary, details }))).toEqual([
      { name: 'a', summary: 'a live', details: { state: 'a-state' } },
      { name: 'b', summary: 'b live', details: { state: 'b-state' } },
    ]);
    expect(result.steps.every((s) => s.tookMs >= 0 && s.rotates.startsWith('the '))).toBe(true);
  });

  it.skipIf(process.getuid?.() !== 0)('the first step that fails stops the rotation with its error', async () => {
    const log: string[] = [];
    await expect(rotateSecrets(target, quiet, { steps: [step('a', log, true), step('b', log)] })).rejects.toThrow(new RotationError('a: not live'));
    expect(log).toEqual(['run a', 'check a-state']);
  });
});

describe('rotate-secrets: Redis ACL commands', () => {
  const [oldHash, newHash] = [sha('old'), sha('new')];

  it('adds a password by its SHA-256 (#) and removes others (!), never the one it adds', () => {
    expect(redisPasswordChange('app', { add: newHash })).toEqual(['ACL', 'SETUSER', 'app', `#${newHash}`]);
    expect(redisPasswordChange('exporter', { remove: [oldHash, newHash] })).toEqual(['ACL', 'SETUSER', 'exporter', `!${oldHash}`, `!${newHash}`]);
    expect(redisPasswordChange('app', { add: newHash, remove: [oldHash, newHash] })).toEqual(['ACL', 'SETUSER', 'app', `#${newHash}`, `!${oldHash}`]);
  });

  it('refuses anything but a SHA-256 (a clear password must never reach the command)', () => {
    expect(() => redisPasswordChange('app', { add: 'hunter2' })).toThrow(new RangeError('a Redis password hash is 64 lowercase hex digits (a SHA-256), got 7 characters'));
  });

  it('redis-cli input: the password on the first line (--askpass), then a command a line; no quoting needed or allowed', () => {
    expect(redisCliInput('pw_1-x', [['ACL', 'SETUSER', 'app', `#${newHash}`], ['ACL', 'LOG', '128']])).toBe(`pw_1-x\nACL SETUSER app #${newHash}\nACL LOG 128\n`);
    expect(() => redisCliInput('two words', [])).toThrow(RangeError);
    expect(() => redisCliInput('pw', [['AUTH', 'app', 'a"b']])).toThrow(RangeError);
  });

  it('redis-cli --json output: a reply a line, errors as error:"…"; maps from RESP2 or RESP3', () => {
    const replies = parseRedisCliJson('"OK"\n{"flags":["on"],"passwords":["ab"]}\nerror:"WRONGPASS invalid username-password pair or user is disabled."\n');
    expect(replies).toEqual([{ value: 'OK' }, { value: { flags: ['on'], passwords: ['ab'] } }, { error: 'WRONGPASS invalid username-password pair or user is disabled.' }]);
    expect(asRecord(['flags', ['on'], 'passwords', ['ab']])).toEqual({ flags: ['on'], passwords: ['ab'] });
    expect(asRecord(replies[1]!.value)).toEqual({ flags: ['on'], passwords: ['ab'] });
    expect(asRecord('OK')).toEqual({});
  });

  it('CLIENT LIST: the connection ids of one user', () => {
    const list = 'id=5 addr=172.18.0.7:40000 name= user=app resp=2\nid=6 addr=127.0.0.1:1 user=rotation resp=3\nid=9 addr=172.18.0.8:1 user=app resp=2';
    expect(connectionsOf(list, 'app')).toEqual(['5', '9']);
    expect(connectionsOf(list, 'exporter')).toEqual([]);
  });

  it('ACL LOG: failed logins as app or exporter within the window only', () => {
    const entry = (username: string, reason: string, age: number) => ({ count: 2, reason, username, 'age-seconds': age, 'client-info': 'id=7 addr=172.18.0.9:5000 user=default' });
    const log = [entry('app', 'auth', 1.5), entry('exporter', 'auth', 90), entry('app', 'command', 1), entry('rotation', 'auth', 1)];
    expect(failedLogins(log, 10_000)).toEqual(['app from 172.18.0.9:5000 ×2']);
    expect(failedLogins(['count', 1], 10_000)).toEqual([]);
  });
});

describe('rotate-secrets: the dashboard', () => {
  it('the htpasswd {SHA} line of the user admin', () => {
    expect(dashboardUsersLine('secret')).toBe('admin:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=');
  });

  it('a new rotation time is a new dynamic configuration (Traefik skips an unchanged one)', () => {
    expect(isDeepStrictEqual(dashboardReloadConfig('2026-11-28T23:00:00.000Z'), dashboardReloadConfig('2026-11-28T23:00:01.000Z'))).toBe(false);
  });
});

describe('rotate-secrets: files', () => {
  it('container copies are rewritten in place (same inode); the host copy is replaced, 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-rotate-'));
    try {
      mkdirSync(join(dir, 'secrets', 'uid-999'), { recursive: true });
      writeFileSync(join(dir, 'secrets', 'uid-999', 'redis_app_password'), 'a-longer-old-value\n');
      await writeHostSecret(dir, 'redis_app_password', 'new');
      const inode = statSync(join(dir, 'secrets', 'uid-999', 'redis_app_password')).ino;
      expect(await rewriteCopies(dir, ['redis_app_password', 'redis_acl'])).toEqual(['uid-999/redis_app_password']);
      expect(readFileSync(join(dir, 'secrets', 'uid-999', 'redis_app_password'), 'utf8')).toBe('new\n');
      expect(statSync(join(dir, 'secrets', 'uid-999', 'redis_app_password')).ino).toBe(inode);
      expect(statSync(join(dir, 'secrets', 'redis_app_password')).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a stub takes the password file\'s content for its next connection, and keeps the one it has when the file is empty or unreadable', () => {
    expect(passwordForReconnect('/f', 'old', () => 'new\n')).toBe('new');
    expect(passwordForReconnect('/f', 'old', () => '')).toBe('old');
    expect(passwordForReconnect('/f', 'old', () => {
      throw new Error('EACCES');
    })).toBe('old');
  });
});
