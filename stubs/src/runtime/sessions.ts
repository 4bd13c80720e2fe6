/**
 * Sessions as auth keeps them in Redis (`auth:session:<sid>`: the refresh token's state), written
 * at login and refresh. Ending one (logout, a reused refresh token) also puts its id on a deny-list
 * (`auth:revoked:<sid>`) for as long as an access token can live. Every API asks the deny-list on
 * every authenticated request, so a revoked token stops working at once instead of living out its
 * 15 minutes — and a token stays good in a region whose Redis never saw its session (a standby
 * region taking over: users keep working; a token revoked in the lost region lives until it
 * expires there, at most the access-token lifetime).
 */
import { DependencyUnavailableError } from './breakers.js';
import type { Cache } from './cache.js';

/** The fallback an answer names when the session could not be looked up (Redis unavailable). */
export const STATELESS_FALLBACK = 'auth-stateless';

export const sessionKey = (id: string): string => `auth:session:${id}`;
export const revokedKey = (id: string): string => `auth:revoked:${id}`;

/** End a session: its refresh state goes, and its id is denied while its access tokens could live. */
export async function endSession(cache: Cache, sessionId: string, accessTokenTtlSeconds: number): Promise<void> {
  await cache.set(revokedKey(sessionId), '1', accessTokenTtlSeconds);
  await cache.del(sessionKey(sessionId));
}

/** What auth stores per session (JSON). */
export interface SessionRecord {
  readonly userId: string;
  readonly email: string;
  readonly role: 'member' | 'editor' | 'admin';
  /** sha256 of the current refresh token's secret (base64url). */
  readonly refreshHash: string;
}

/**
 * Methods that change nothing. With Redis away they are served on the token alone; anything
 * else fails closed, because a revoked token must not be able to change data.
 */
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isWriteMethod = (method: string): boolean => !READ_METHODS.has(method.toUpperCase());

/**
 * - `live`: the session exists and belongs to the token's subject;
 * - `ended`: logged out, revoked or expired (or a session of someone else);
 * - `unavailable`: Redis can't be asked (down, breaker open, or not configured).
 */
export type SessionState = 'live' | 'ended' | 'unavailable';

export async function sessionState(cache: Cache | undefined, sessionId: string, _userId: string): Promise<SessionState> {
  if (!cache) return 'unavailable';
  if (!sessionId) return 'ended';
  try {
    return (await cache.get(revokedKey(sessionId))) ? 'ended' : 'live';
  } catch (error) {
    if (error instanceof DependencyUnavailableError) return 'unavailable';
    throw error;
  }
}

/** Take the `parity_token` cookie as the bearer token when there is none (a browser's navigation to /admin). */
export function acceptCookieToken(request: { headers: { authorization?: string | undefined; cookie?: string | undefined } }): void {
  if (request.headers.authorization) return;
  const cookie = /(?:^|;\s*)parity_token=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
  if (cookie) request.headers.authorization = `Bearer ${cookie}`;
}
