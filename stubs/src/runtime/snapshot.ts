/**
 * The last good answer of a listing, kept for fallbacks: in Redis (shared by every instance
 * and color) and in memory (for when Redis is the thing that is down).
 */
import type { Cache } from './cache.js';

export interface Snapshot<T> {
  save(value: T): Promise<void>;
  load(): Promise<{ value: T; savedAt: string } | undefined>;
}

export function createSnapshot<T>(key: string, cache: Cache | undefined, ttlSeconds = 86_400): Snapshot<T> {
  let local: { value: T; savedAt: string } | undefined;
  return {
    async save(value) {
      local = { value, savedAt: new Date().toISOString() };
      await cache?.set(`snapshot:${key}`, JSON.stringify(local), ttlSeconds).catch(() => {});
    },
    async load() {
      const shared = await cache?.get(`snapshot:${key}`).catch(() => null);
      return shared ? (JSON.parse(shared) as { value: T; savedAt: string }) : local;
    },
  };
}
