/**
 * Redis (ioredis) behind a breaker. Commands fail fast instead of queueing while Redis is
 * away, so a stopped Redis shows up as an open breaker within seconds, not as stuck requests.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createBreaker, type Breaker } from './breakers.js';
import type { Metrics } from './metrics.js';
import type { BreakerSettings } from './settings.js';
import { withTimeout } from './timeout.js';

export interface Cache {
  readonly breaker: Breaker;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(key: string): Promise<void>;
  /**
   * Atomically (one Lua script): when the JSON value at `key` has `field` equal to `expected`,
   * replace it with `value` (new TTL) → `replaced`; when it differs, delete the key →
   * `mismatch`; when there is no value → `missing`. Two callers holding the same `expected`:
   * exactly one replaces.
   */
  replaceIfField(key: string, field: string, expected: string, value: string, ttlSeconds: number): Promise<'replaced' | 'mismatch' | 'missing'>;
  /** Add one to the counter at `key`; a new counter expires after `ttlSeconds`. The new count. */
  increment(key: string, ttlSeconds: number): Promise<number>;
  /** Seconds until `key` expires (0 when it doesn't exist or has no expiry). */
  ttl(key: string): Promise<number>;
  /** PING round trip and memory use, for L1 health (bypasses the breaker: health reports reality). */
  probe(): Promise<{ latencyMs: number; usedBytes: number; maxBytes: number }>;
  close(): Promise<void>;
}

/** KEYS[1]; ARGV: field, expected, value, ttl. 1 replaced, 0 missing, -1 mismatch (deleted). */
const REPLACE_IF_FIELD = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, decoded = pcall(cjson.decode, raw)
if ok and type(decoded) == 'table' and decoded[ARGV[1]] == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[3], 'EX', tonumber(ARGV[4]))
  return 1
end
redis.call('DEL', KEYS[1])
return -1`;

/** KEYS[1]; ARGV: ttl. INCR, and the expiry only on the first increment (a fixed window). */
const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end
return count`;

/**
 * The password for the next connection: the file's content now (`make rotate-secrets` rewrites it
 * in place, with the old password still valid until the clients have the new one), else `current`
 * when the file can't be read or is empty, so a file caught mid-write doesn't cost a connection
 * the password that works.
 */
export function passwordForReconnect(file: string, current: string | undefined, read: (path: string) => string = (path) => readFileSync(path, 'utf8')): string | undefined {
  try {
    return read(file).trim() || current;
  } catch {
    return current;
  }
}

/** `passwordFile`: where the password came from (Settings.redisPasswordFile), read again before every reconnect. */
export function createCache(url: string, breakers: BreakerSettings, metrics: Metrics, passwordFile?: string): Cache {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    // Keep trying to reconnect (capped at 2 s) so the breaker's half-open trial finds Redis back.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  redis.on('error', () => {
    // Connection errors surface through the breaker on the next call; logging each retry is noise.
  });
  if (passwordFile) {
    // ioredis sends `options.password` in the AUTH of every new connection (Redis.connect reads it
    // each time) and emits 'reconnecting' before it reconnects, a failed AUTH included. An open
    // connection stays logged in whatever happens to the password later (Redis checks it at AUTH).
    redis.on('reconnecting', () => {
      redis.options.password = passwordForReconnect(passwordFile, redis.options.password);
    });
  }
  const breaker = createBreaker('redis', breakers, metrics, { timeoutMs: breakers.timeoutsMs.redis });
  return {
    breaker,
    get: (key) => breaker.call('get', () => redis.get(key)),
    set: async (key, value, ttlSeconds) => {
      await breaker.call('set', () => redis.set(key, value, 'EX', ttlSeconds));
    },
    del: async (key) => {
      await breaker.call('del', () => redis.del(key));
    },
    replaceIfField: async (key, field, expected, value, ttlSeconds) => {
      const result = Number(await breaker.call('replace', () => redis.eval(REPLACE_IF_FIELD, 1, key, field, expected, value, String(ttlSeconds))));
      return result === 1 ? 'replaced' : result === 0 ? 'missing' : 'mismatch';
    },
    increment: async (key, ttlSeconds) => Number(await breaker.call('incr', () => redis.eval(INCREMENT, 1, key, String(ttlSeconds)))),
    ttl: async (key) => Math.max(0, await breaker.call('ttl', () => redis.ttl(key))),
    probe: async () => {
      const started = performance.now();
      await withTimeout(redis.ping(), 1000, 'redis PING');
      const latencyMs = performance.now() - started;
      const info = await withTimeout(redis.info('memory'), 1000, 'redis INFO');
      const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
      return { latencyMs, usedBytes: field('used_memory'), maxBytes: field('maxmemory') };
    },
    close: async () => {
      breaker.shutdown();
      redis.disconnect();
    },
  };
}
