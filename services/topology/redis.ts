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
 */
export const REDIS_USERS: Readonly<Record<'default' | 'app' | 'exporter', string>> = {
  default: 'off resetkeys resetchannels -@all',
  app: 'on resetkeys ~auth:* ~ivor:* ~ryw:* ~snapshot:* ~cache:* resetchannels -@all +@read +@write +@transaction +@scripting +@connection -@dangerous -@admin +info',
  exporter: 'on resetkeys resetchannels -@all +ping +info +select +dbsize +config|get +client|list +client|info +client|setname +cluster|info +slowlog +latency +memory|stats +memory|usage',
};
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

/** The ACL file's lines for the given passwords' SHA-256 (hex): every user, the default one off. */
export function redisAclLines(passwordHashes: Readonly<Record<'app' | 'exporter', string>>): string[] {
  return [`user default ${REDIS_USERS.default}`, ...(['app', 'exporter'] as const).map((user) => `user ${user} ${REDIS_USERS[user].replace(/^on /, `on #${passwordHashes[user]} `)}`)];
}
