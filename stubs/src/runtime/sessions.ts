/**
 * Sessions as auth keeps them in Redis (`auth:session:<sid>`): written at login and refresh,
 * deleted at logout and when a refresh token is reused. Every API looks the session up on
 * every authenticated request, so a revoked token stops working at once instead of living
 * out its 15 minutes.
 */
import { DependencyUnavailableError } from './breakers.js';
import type { Cache } from './cache.js';

/** The fallback an answer names when the session could not be looked up (Redis unavailable). */
export const STATELESS_FALLBACK = 'auth-stateless';

export const sessionKey = (id: string): string => `auth:session:${id}`;

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

export async function sessionState(cache: Cache | undefined, sessionId: string, userId: string): Promise<SessionState> {
  if (!cache) return 'unavailable';
  if (!sessionId) return 'ended';
  let raw: string | null;
  try {
    raw = await cache.get(sessionKey(sessionId));
  } catch (error) {
    if (error instanceof DependencyUnavailableError) return 'unavailable';
    throw error;
  }
  if (!raw) return 'ended';
  try {
    return (JSON.parse(raw) as Partial<SessionRecord>).userId === userId ? 'live' : 'ended';
  } catch {
    return 'ended';
  }
}
