/** Redis: cache, sessions, queue; ACL users instead of the open default user. */
import type { ParityConfig } from '../config/schema.js';
import { hostFor, publish, type SecretName } from './common.js';
import type { ServiceSpec } from './types.js';

/**
 * Redis' users and what each may do (ACL rules, without the password, which stack-state.ts adds
 * as a SHA-256 when it writes the ACL file). The default user is off: a client that doesn't log
 * in can't even PING.
 * - `app`: the platform services. Their keys only: sessions and auth state (`auth:*`), IVOR's
 *   answers (`ivor:*`), read-your-writes positions (`ryw:*`), shared page snapshots
 *   (`snapshot:*`) and `cache:*`; data commands, transactions and scripts (atomic updates), never
 *   the dangerous or admin ones (KEYS, FLUSHALL, CONFIG, DEBUG, ...); INFO for health.
 * - `exporter`: redis_exporter's reads of the server's state, no key at all.
 * - `rotation`: `make rotate-secrets` only (scripts/runners/rotate/redis.ts), through `docker exec`:
 *   it adds and removes the other users' passwords. ACL SETUSER can grant anything, so this user is
 *   as strong as an admin: its password is in no container, only in the runners' state directory.
 */
export const REDIS_USERS: Readonly<Record<'default' | RedisLoginUser, string>> = {
  default: 'off resetkeys resetchannels -@all',
  app: 'on resetkeys ~auth:* ~ivor:* ~ryw:* ~snapshot:* ~cache:* resetchannels -@all +@read +@write +@transaction +@scripting +@connection -@dangerous -@admin +info',
  exporter: 'on resetkeys resetchannels -@all +ping +info +select +dbsize +config|get +client|list +client|info +client|setname +cluster|info +slowlog +latency +memory|stats +memory|usage',
  rotation: 'on resetkeys resetchannels -@all +acl|setuser +acl|getuser +acl|log +client|list +ping',
};
/** The users that log in (every one but `default`). */
export type RedisLoginUser = 'app' | 'exporter' | 'rotation';
/** The user `make rotate-secrets` logs in as. */
export const REDIS_ROTATION_USER = 'rotation';
/** Users whose passwords `make rotate-secrets` rotates (the services log in as them). */
export const REDIS_ROTATED_USERS = ['app', 'exporter'] as const;
/**
 * The rotation user's password: a file in the state directory's secrets (0600, the runners'),
 * not a compose secret, since no container reads it (Redis gets its SHA-256 in the ACL file).
 */
export const REDIS_ROTATION_PASSWORD_FILE = 'redis_rotation_password';
/** The secret holding each login user's password. */
export const REDIS_PASSWORD_SECRETS: Readonly<Record<'app' | 'exporter', SecretName>> = { app: 'redis_app_password', exporter: 'redis_exporter_password' };
/** Where a container finds a secret (compose mounts it there). */
const secretPath = (name: SecretName) => `/run/secrets/${name}`;

export function redisService(config: ParityConfig, image: string): ServiceSpec {
  return {
    name: 'redis',
    logical: 'redis',
    tier: 'data',
    image,
    // maxmemory makes "Redis memory > 80 %" measurable (redis_memory_max_bytes).
    command: ['redis-server', '--maxmemory', '256mb', '--maxmemory-policy', 'allkeys-lru', '--appendonly', 'yes', '--aclfile', secretPath('redis_acl')],
    ports: [publish(config, config.ports.redis, 6379)],
    volumes: ['redis:/data'],
    // The health check logs in as the exporter (read-only, no keys): the password comes from its
    // file inside the container, never from the command line `docker inspect` shows.
    secrets: ['redis_acl', REDIS_PASSWORD_SECRETS.exporter],
    healthcheck: {
      test: ['CMD-SHELL', `REDISCLI_AUTH="$$(cat ${secretPath(REDIS_PASSWORD_SECRETS.exporter)})" redis-cli --no-auth-warning --user exporter ping | grep -q PONG`],
    },
    url: `redis://${hostFor(config, 'redis')}:${config.ports.redis} (users app and exporter; passwords in .parity/secrets/redis_*_password)`,
  };
}

/**
 * The ACL file's lines for the given passwords' SHA-256 (hex): every user, the default one off.
 * A user may have several (a rotation in progress: the old and the new one both log in).
 */
export function redisAclLines(passwordHashes: Readonly<Record<RedisLoginUser, string | readonly string[]>>): string[] {
  const users: readonly RedisLoginUser[] = ['app', 'exporter', 'rotation'];
  const hashes = (user: RedisLoginUser) => [passwordHashes[user]].flat().map((hash) => `#${hash}`).join(' ');
  return [`user default ${REDIS_USERS.default}`, ...users.map((user) => `user ${user} ${REDIS_USERS[user].replace(/^on /, `on ${hashes(user)} `)}`)];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The ACL SETUSER command that adds the password hashed as `add` to `user` and removes the ones
 * hashed as `remove` (`#<sha256>` adds, `!<sha256>` removes: the clear password never reaches
 * Redis' command line, log or slowlog). Redis keeps every listed password valid at once, so a
 * rotation adds the new one, moves the clients over, then removes the old ones.
 */
export function redisPasswordChange(user: (typeof REDIS_ROTATED_USERS)[number], change: { readonly add?: string; readonly remove?: readonly string[] }): string[] {
  const remove = (change.remove ?? []).filter((hash) => hash !== change.add);
  for (const hash of [...(change.add ? [change.add] : []), ...remove]) {
    if (!SHA256_HEX.test(hash)) throw new RangeError(`a Redis password hash is 64 lowercase hex digits (a SHA-256), got ${hash.length} characters`);
  }
  return ['ACL', 'SETUSER', user, ...(change.add ? [`#${change.add}`] : []), ...remove.map((hash) => `!${hash}`)];
}
