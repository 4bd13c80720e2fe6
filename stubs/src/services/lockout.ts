/**
 * Login backoff: failed logins are counted in Redis per email and per client address in a
 * fixed window (`LOGIN_LOCKOUT_SECONDS`, 15 min); at the limit every login for that email or
 * from that address is refused with 429 and `Retry-After` until the window ends, right
 * password or not (otherwise guessing would just go on). A good login clears its email's count.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError, type StubContext } from '../runtime/app.js';

/**
 * The client's address: the last `X-Forwarded-For` hop, which Traefik (the only way in)
 * appends with the address it saw; entries a client sends itself come before it. Without
 * the header (a direct call), the socket's peer.
 */
export function clientAddress(request: FastifyRequest): string {
  const header = request.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((hop) => hop.trim()).filter(Boolean);
  return hops.at(-1) ?? request.ip;
}

export interface LoginGuard {
  /** 429 with `Retry-After` while the email or the address is locked out. */
  refuseIfLocked(): Promise<void>;
  /** Count a failed login (and a lockout when this one reaches a limit). */
  recordFailure(): Promise<void>;
  /**
   * Clear the email's count. The address's stays: one account of their own would otherwise
   * let a guesser reset it at will.
   */
  recordSuccess(): Promise<void>;
}

export function loginGuard(context: StubContext, request: FastifyRequest, email: string): LoginGuard {
  const cache = context.cache!;
  const { maxFailures, maxFailuresPerAddress, windowSeconds } = context.settings.lockout;
  // Hashed: no addresses of people in Redis keys, and a bounded key length.
  const emailKey = `auth:login-failures:email:${createHash('sha256').update(email).digest('base64url')}`;
  const addressKey = `auth:login-failures:address:${clientAddress(request)}`;
  const limits = [
    { key: emailKey, max: maxFailures, by: 'email', what: 'for this account' },
    { key: addressKey, max: maxFailuresPerAddress, by: 'address', what: 'from this address' },
  ] as const;
  return {
    async refuseIfLocked() {
      const counts = await Promise.all(limits.map(async (limit) => Number((await cache.get(limit.key)) ?? 0)));
      const locked = limits.find((limit, index) => counts[index]! >= limit.max);
      if (!locked) return;
      const seconds = Math.max(1, await cache.ttl(locked.key));
      throw new HttpError(429, `too many failed logins ${locked.what}: try again in ${seconds} s`, undefined, undefined, { 'retry-after': String(seconds) });
    },
    async recordFailure() {
      context.metrics.failedLogins.inc();
      const counts = await Promise.all(limits.map((limit) => cache.increment(limit.key, windowSeconds)));
      limits.forEach((limit, index) => {
        if (counts[index] === limit.max) context.metrics.lockouts.inc({ by: limit.by });
      });
    },
    async recordSuccess() {
      await cache.del(emailKey);
    },
  };
}
