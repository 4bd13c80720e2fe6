/**
 * Redis' service users (`app`, `exporter`: services/topology/redis.ts) get new passwords while
 * every client keeps its connection. Redis keeps several passwords per ACL user, and it checks a
 * password only at AUTH: changing a user's passwords with ACL SETUSER disconnects nobody (only
 * ACL DELUSER, and channel permissions taken from a subscriber, do: redis/redis#12171 and the
 * ACL SETUSER documentation, redis/redis-doc#1756; seen on 7.0.15 too: a connection logged in with
 * the old password kept working after it was removed). So, on every running Redis (the primary's
 * and the DR region's: both read the same secret files):
 * 1. ACL SETUSER adds the new password as `#<sha256>`; the old one still logs in;
 * 2. the ACL file gets both (a Redis restart from here on keeps both valid); the host's and the
 *    containers' password files get the new one, in place;
 * 3. the clients take it on their next (re)connect: the stubs read their file on every reconnect
 *    (stubs/src/runtime/cache.ts), Redis' health check on every run; redis_exporter 1.45 reads it
 *    only at start (reloading came in 1.50, oliver006/redis_exporter#727), so it is restarted,
 *    which no user's request goes through;
 * 4. after `graceMs` (for a connection being opened with the old one just then), ACL SETUSER
 *    removes every other password (`!<sha256>`), and the ACL file gets the new ones only.
 * Not ACL LOAD: on Redis 7.0 it disconnects every client (redis/redis#11986; 7.2 stopped that,
 * #12171). Not ACL SAVE: the ACL file is a read-only secret mount, so the runner writes it from
 * the host. Which password an open connection logged in with, Redis doesn't say: the check shows
 * that the new ones log in, that the old ones are gone, that no client failed to log in as these
 * users since the rotation began, and that the stubs' connections from before are still there.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDuration, RotationError, StackNotUpError, TimeoutError } from '../../../services/errors.js';
import { REDIS_PASSWORD_SECRETS, REDIS_ROTATED_USERS, REDIS_ROTATION_PASSWORD_FILE, redisPasswordChange } from '../../../services/topology/redis.js';
import { done, pending, pollUntil, systemClock } from '../core/poll.js';
import { regionTargets } from '../stack/regions.js';
import { newSecretValue, redisAclContent, sha256Hex } from '../stack/stack-state.js';
import { containerHealth, restartContainer } from '../clients/compose.js';
import { engineOf } from '../clients/engine-of.js';
import { type ComposeTarget } from '../clients/engine.js';
import { readHostSecret, rewriteCopies, writeHostSecret } from './copies.js';
import { asRecord, redisAsRotationUser, redisConnectionsOf, redisExpectOk, type RedisReply } from './redis-cli.js';
import type { RotationContext, RotationStep } from './steps.js';

type RotatedUser = (typeof REDIS_ROTATED_USERS)[number];
const ACL_SECRET = 'redis_acl';

interface RedisUsersState {
  readonly passwords: Readonly<Record<RotatedUser, readonly string[]>>;
  /** Connection ids logged in as `app` (the stubs). */
  readonly appConnections: readonly string[];
}

interface RedisRotation {
  readonly startedAt: number;
  readonly before: ReadonlyMap<string, RedisUsersState>;
  readonly copies: readonly string[];
  readonly exporters: readonly string[];
  readonly graceMs: number;
}

/** Both regions' projects (the DR region's only matters when it runs). */
const regionsOf = (target: ComposeTarget) => [target, regionTargets(target).dr];

async function containersOf(target: ComposeTarget, service: string): Promise<string[]> {
  return (await Promise.all(regionsOf(target).map((region) => engineOf(region).containerIds(service, { running: true })))).flat();
}

function valueOf(reply: RedisReply, what: string, container: string): unknown {
  if (reply.error !== undefined) throw new RotationError(`${what} in container ${container.slice(0, 12)}: ${reply.error}`);
  return reply.value;
}

const passwordsOf = (reply: RedisReply, user: string, container: string): string[] => {
  const passwords = asRecord(valueOf(reply, `ACL GETUSER ${user}`, container)).passwords;
  return Array.isArray(passwords) ? passwords.map(String) : [];
};

async function readUsers(container: string, rotationPassword: string): Promise<RedisUsersState> {
  const [app, exporter] = await redisAsRotationUser(container, rotationPassword, [['ACL', 'GETUSER', 'app'], ['ACL', 'GETUSER', 'exporter']]);
  return {
    passwords: { app: passwordsOf(app!, 'app', container), exporter: passwordsOf(exporter!, 'exporter', container) },
    appConnections: await redisConnectionsOf(container, rotationPassword, 'app'),
  };
}

const writeAcl = async (stateDir: string, hashes: Record<RotatedUser, string[]>, rotationHash: string) => {
  await writeHostSecret(stateDir, ACL_SECRET, redisAclContent({ ...hashes, rotation: rotationHash }));
};

/** redis_exporter reads its password only at start: restart it (both regions) and wait until it is healthy again. */
async function restartExporters({ target, timeoutMs }: RotationContext): Promise<string[]> {
  const exporters = await containersOf(target, 'redis-exporter');
  for (const id of exporters) {
    await restartContainer(id, 5);
    try {
      await pollUntil(
        async () => {
          const health = await containerHealth(id);
          return health === 'healthy' ? done(true) : pending(health || 'no health status');
        },
        { subject: `redis-exporter ${id.slice(0, 12)}`, expectation: 'healthy after its restart', timeoutMs, intervalMs: 1000 },
      );
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      throw new RotationError(`${error.message}; Redis still takes the old and the new passwords and the files hold the new ones (make rotate-secrets ONLY=redis finishes the rotation)`);
    }
  }
  return exporters.map((id) => id.slice(0, 12));
}

export const redisStep: RotationStep<RedisRotation> = {
  name: 'redis',
  rotates: 'the Redis passwords of users app and exporter (redis_app_password, redis_exporter_password, redis_acl), old and new both valid until the clients have the new one',
  async run(context) {
    const { target, progress, graceMs } = context;
    const containers = await containersOf(target, 'redis');
    if (containers.length === 0) throw new StackNotUpError(`no running redis in project ${target.project}: is the stack up? (make up); nothing was changed`);
    const rotationPassword = await readHostSecret(target.stateDir, REDIS_ROTATION_PASSWORD_FILE).catch(() => {
      throw new StackNotUpError(`no Redis rotation user in this state directory yet (secrets/${REDIS_ROTATION_PASSWORD_FILE}): make up adds it to the ACL file; then restart Redis once (docker restart ${containers[0]!.slice(0, 12)}) so it loads that file; nothing was changed`);
    });
    const startedAt = Date.now();
    const before = new Map<string, RedisUsersState>();
    for (const container of containers) before.set(container, await readUsers(container, rotationPassword));
    const fresh = { app: newSecretValue(), exporter: newSecretValue() };
    const hashes = { app: sha256Hex(fresh.app), exporter: sha256Hex(fresh.exporter) };
    for (const container of containers) {
      await redisExpectOk(container, rotationPassword, REDIS_ROTATED_USERS.map((user) => redisPasswordChange(user, { add: hashes[user] })), 'adding the new passwords');
    }
    progress.info(`redis: new passwords for app and exporter added on ${containers.length} Redis; the old ones still log in`);
    const current = async (user: RotatedUser) => sha256Hex(await readHostSecret(target.stateDir, REDIS_PASSWORD_SECRETS[user]));
    const oldHashes = async (user: RotatedUser) => [...new Set([await current(user), ...[...before.values()].flatMap((state) => state.passwords[user])])].filter((hash) => hash !== hashes[user]);
    const rotationHash = sha256Hex(rotationPassword);
    await writeAcl(target.stateDir, { app: [...(await oldHashes('app')), hashes.app], exporter: [...(await oldHashes('exporter')), hashes.exporter] }, rotationHash);
    for (const user of REDIS_ROTATED_USERS) await writeHostSecret(target.stateDir, REDIS_PASSWORD_SECRETS[user], fresh[user]);
    const copies = await rewriteCopies(target.stateDir, [...Object.values(REDIS_PASSWORD_SECRETS), ACL_SECRET]);
    const exporters = await restartExporters(context);
    await systemClock.sleep(graceMs);
    for (const container of containers) {
      const state = before.get(container)!;
      const removals = REDIS_ROTATED_USERS.flatMap((user) => {
        const remove = state.passwords[user].filter((hash) => hash !== hashes[user]);
        return remove.length > 0 ? [redisPasswordChange(user, { remove })] : [];
      });
      if (removals.length > 0) await redisExpectOk(container, rotationPassword, removals, 'removing the old passwords (the new ones work; run the rotation again to finish)');
    }
    await writeAcl(target.stateDir, { app: [hashes.app], exporter: [hashes.exporter] }, rotationHash);
    await rewriteCopies(target.stateDir, [ACL_SECRET]);
    progress.info(`redis: old passwords removed after ${formatDuration(graceMs)}`);
    return { startedAt, before, copies, exporters, graceMs };
  },
  async check({ target }, state) {
    const rotationPassword = await readHostSecret(target.stateDir, REDIS_ROTATION_PASSWORD_FILE);
    const passwords = { app: await readHostSecret(target.stateDir, REDIS_PASSWORD_SECRETS.app), exporter: await readHostSecret(target.stateDir, REDIS_PASSWORD_SECRETS.exporter) };
    for (const copy of state.copies.filter((path) => !path.endsWith(ACL_SECRET))) {
      const name = copy.split('/')[1]!;
      if ((await readFile(join(target.stateDir, 'secrets', copy), 'utf8')).trim() !== (await readHostSecret(target.stateDir, name))) throw new RotationError(`the container copy secrets/${copy} does not hold the new password`);
    }
    let kept = 0;
    let appBefore = 0;
    for (const [container, before] of state.before) {
      const replies = await redisAsRotationUser(container, rotationPassword, [
        ['ACL', 'LOG', '128'],
        ['ACL', 'GETUSER', 'app'],
        ['ACL', 'GETUSER', 'exporter'],
        ['AUTH', 'app', passwords.app],
        ['AUTH', 'exporter', passwords.exporter],
      ]);
      const failures = failedLogins(valueOf(replies[0]!, 'ACL LOG', container), Date.now() - state.startedAt);
      if (failures.length > 0) throw new RotationError(`clients failed to log in to Redis (container ${container.slice(0, 12)}) since the rotation began: ${failures.join('; ')}`);
      for (const [index, user] of REDIS_ROTATED_USERS.entries()) {
        const live = passwordsOf(replies[1 + index]!, user, container);
        if (live.length !== 1 || live[0] !== sha256Hex(passwords[user])) throw new RotationError(`Redis user ${user} (container ${container.slice(0, 12)}) has ${live.length} passwords, expected only the new one`);
        if (replies[3 + index]!.value !== 'OK') throw new RotationError(`the new password of Redis user ${user} does not log in (container ${container.slice(0, 12)}): ${replies[3 + index]!.error ?? ''}`);
      }
      const now = new Set(await redisConnectionsOf(container, rotationPassword, 'app'));
      appBefore += before.appConnections.length;
      kept += before.appConnections.filter((id) => now.has(id)).length;
    }
    return {
      summary: `app and exporter: the new passwords log in on ${state.before.size} Redis, the old ones removed after ${formatDuration(state.graceMs)}; ${kept} of ${appBefore} app connections kept, no failed login${state.exporters.length > 0 ? `; redis-exporter restarted (it reads its password only at start)` : ''}`,
      details: { redis: [...state.before.keys()].map((id) => id.slice(0, 12)), appConnectionsBefore: appBefore, appConnectionsKept: kept, failedLogins: 0, exportersRestarted: state.exporters, graceMs: state.graceMs, copies: state.copies },
    };
  },
};

/** ACL LOG entries of failed logins as `app` or `exporter` within the last `withinMs` (`user from address ×count`). */
export function failedLogins(log: unknown, withinMs: number): string[] {
  if (!Array.isArray(log)) return [];
  return log
    .map((entry) => asRecord(entry))
    .filter((entry) => entry.reason === 'auth' && (REDIS_ROTATED_USERS as readonly unknown[]).includes(entry.username) && Number(entry['age-seconds']) * 1000 <= withinMs)
    .map((entry) => `${String(entry.username)} from ${/addr=(\S+)/.exec(String(entry['client-info']))?.[1] ?? '?'} ×${String(entry.count)}`);
}
