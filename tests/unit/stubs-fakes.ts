/**
 * Test doubles for the stubs' clients: an in-memory Cache with Redis's semantics for what the
 * stubs use, and a switch that makes every call fail like an open breaker (Redis away).
 */
import { DependencyUnavailableError, type Breaker } from '../../stubs/src/runtime/breakers.js';
import type { Cache } from '../../stubs/src/runtime/cache.js';

export interface MemoryCache extends Cache {
  readonly entries: Map<string, { value: string; expiresAt: number }>;
  /** While true every call fails with DependencyUnavailableError (reason `open`). */
  down: boolean;
}

export function memoryCache(): MemoryCache {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) entries.delete(key);
    return entries.get(key);
  };
  const breaker: Breaker = { name: 'redis', call: (_label, operation) => operation(), state: () => 'closed', shutdown: () => {} };
  const cache: MemoryCache = {
    entries,
    down: false,
    breaker,
    get: async (key) => (guard(), live(key)?.value ?? null),
    set: async (key, value, ttlSeconds) => {
      guard();
      entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
    },
    del: async (key) => {
      guard();
      entries.delete(key);
    },
    replaceIfField: async (key, field, expected, value, ttlSeconds) => {
      guard();
      const entry = live(key);
      if (!entry) return 'missing';
      if ((JSON.parse(entry.value) as Record<string, unknown>)[field] !== expected) {
        entries.delete(key);
        return 'mismatch';
      }
      entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
      return 'replaced';
    },
    increment: async (key, ttlSeconds) => {
      guard();
      const entry = live(key);
      const count = Number(entry?.value ?? 0) + 1;
      entries.set(key, { value: String(count), expiresAt: entry?.expiresAt ?? Date.now() + ttlSeconds * 1000 });
      return count;
    },
    ttl: async (key) => {
      guard();
      const entry = live(key);
      return entry ? Math.ceil((entry.expiresAt - Date.now()) / 1000) : 0;
    },
    probe: async () => (guard(), { latencyMs: 0, usedBytes: 0, maxBytes: 0 }),
    close: async () => {},
  };
  function guard() {
    if (cache.down) throw new DependencyUnavailableError('redis', 'open');
  }
  return cache;
}
