/**
 * Redis (ioredis) behind a breaker. Commands fail fast instead of queueing while Redis is
 * away, so a stopped Redis shows up as an open breaker within seconds, not as stuck requests.
 */
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
  /** PING round trip and memory use, for L1 health (bypasses the breaker: health reports reality). */
  probe(): Promise<{ latencyMs: number; usedBytes: number; maxBytes: number }>;
  close(): Promise<void>;
}

export function createCache(url: string, breakers: BreakerSettings, metrics: Metrics): Cache {
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
