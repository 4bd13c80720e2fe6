/** Redis: cache, sessions, queue. */
import type { ParityConfig } from '../config/schema.js';
import { hostFor, publish } from './common.js';
import type { ServiceSpec } from './types.js';

export function redisService(config: ParityConfig, image: string): ServiceSpec {
  return {
    name: 'redis',
    logical: 'redis',
    tier: 'data',
    image,
    // maxmemory makes "Redis memory > 80 %" measurable (redis_memory_max_bytes).
    command: ['redis-server', '--maxmemory', '256mb', '--maxmemory-policy', 'allkeys-lru', '--appendonly', 'yes'],
    ports: [publish(config, config.ports.redis, 6379)],
    volumes: ['redis:/data'],
    healthcheck: { test: ['CMD', 'redis-cli', 'ping'] },
    url: `redis://${hostFor(config, 'redis')}:${config.ports.redis}`,
  };
}
