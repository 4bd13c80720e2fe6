/**
 * Traefik's rateLimit middleware (v3.6.12, pkg/middlewares/ratelimiter/) as arithmetic, so the
 * edge's burst and the bound it gives attackers are computed, not guessed.
 *
 * What Traefik does with a bucket of `average` requests per `period` and `burst`:
 *   - rate_limiter.go: the rate r = average / period; a request that would have to wait for a token
 *     is delayed, not refused, while its wait is at most maxDelay = 1 s / (2 × int(r)) (500 ms below
 *     1 request/s); the wait of the k-th request over the burst is k / r, always more than maxDelay,
 *     so requests arriving at once get through only as far as the burst;
 *   - in_memory_limiter.go: an address's bucket is dropped after ttl = 2 s without a request (1 s +
 *     one token's interval below 1 request/s), and the next request finds a full one;
 *   - lua.go (Redis, since v3.4): `expire key ttl` with the same ttl: it forgets the same way;
 *   - each router builds its own middleware (pkg/server/middleware/middlewares.go has no cache), so a
 *     bucket in memory is per router and address, not per address (traefik/traefik#13706; with Redis
 *     it would be per middleware and address).
 */
import { ROUTES, routeRegexp } from '../contracts/index.js';

export interface TraefikBucket {
  readonly average: number;
  readonly periodSeconds: number;
  /** Tokens per second. */
  readonly rate: number;
  /** The longest wait Traefik delays a request for instead of refusing it (429). */
  readonly maxDelaySeconds: number;
  /** How long Traefik keeps an idle address's bucket. */
  readonly forgetSeconds: number;
}

/** rate_limiter.go's figures for `average` requests per `periodSeconds`. */
export function traefikBucket(average: number, periodSeconds: number): TraefikBucket {
  const rate = average / periodSeconds;
  return {
    average,
    periodSeconds,
    rate,
    maxDelaySeconds: rate < 1 ? 0.5 : 1 / (2 * Math.floor(rate)),
    forgetSeconds: 1 + (rate >= 1 ? 1 : Math.floor(1 / rate)),
  };
}

/**
 * Which of `arrivals` (seconds, in order) one bucket of `burst` admits, the way Traefik decides:
 * golang.org/x/time/rate's reservation (tokens refill at `rate` up to `burst`; a request takes one,
 * and waits while the count is below zero), refused when the wait is over maxDelay (the token goes
 * back), and the bucket forgotten (full again) after `forgetSeconds` without a request; a refused
 * request keeps the bucket too (Traefik refreshes its ttl before it reserves).
 */
export function admitted(arrivals: readonly number[], burst: number, bucket: TraefikBucket): boolean[] {
  let tokens = burst;
  let last = Number.NEGATIVE_INFINITY;
  return arrivals.map((at) => {
    tokens = at - last > bucket.forgetSeconds ? burst : Math.min(burst, tokens + (at - last) * bucket.rate);
    last = at;
    const wait = (1 - tokens) / bucket.rate;
    if (tokens - 1 < 0 && wait > bucket.maxDelaySeconds + 1e-9) return false;
    tokens -= 1;
    return true;
  });
}

/**
 * (a) The smallest burst with which a fresh bucket admits every one of `arrivals` (a page load's
 * requests in one bucket, `[0, 0, 0, 0]` for four at once): at once, the burst must hold them all.
 */
export function smallestBurst(arrivals: readonly number[], bucket: TraefikBucket): number {
  let burst = 1;
  while (!admitted(arrivals, burst, bucket).every(Boolean)) burst += 1;
  return burst;
}

/** (a) for `requests` arriving at once: the burst must hold them all (the first over it would wait 1 / r, always over maxDelay). */
export const smallestBurstAtOnce = (requests: number, bucket: TraefikBucket): number => smallestBurst(new Array<number>(requests).fill(0), bucket);

/**
 * (b) The most requests one address gets through one bucket in `windowSeconds`, whatever it does,
 * and when it sends them. The best it can do is cycles: the burst at once on a full bucket, then
 * `m` more, each at the first moment Traefik would delay it rather than refuse it (j / r − maxDelay
 * after the burst), then silence until Traefik forgets the bucket, and a full one again; the last
 * cycle carries on until the window closes (with no cycle before it, that is a steady client: the
 * burst, then the refill). Every mix of cycles is tried: k0 with the burst alone, k1 with M extra
 * requests between them. The schedule is checked against `admitted`, request by request.
 */
export function worstCaseSchedule(burst: number, bucket: TraefikBucket, windowSeconds = bucket.periodSeconds): number[] {
  const { rate, maxDelaySeconds: delay, forgetSeconds: forget } = bucket;
  // Traefik forgets a bucket idle for more than ttl: the next cycle starts just after.
  const silence = forget + 1e-6;
  // The j-th request over the burst, j ≥ 1, from j / r − maxDelay after the cycle's start.
  const extraAt = (j: number) => j / rate - delay;
  // How many j ≥ 1 have start + extraAt(j) < window.
  const extrasBefore = (start: number) => Math.max(0, Math.ceil((windowSeconds - start + delay) * rate - 1e-9) - 1);
  let best = { count: 0, k0: 0, k1: 0, extras: 0 };
  for (let k0 = 0; k0 * silence < windowSeconds; k0++) {
    for (let k1 = 0; k0 * silence + k1 * (silence + extraAt(1)) < windowSeconds; k1++) {
      // The last cycle starts at base + extras / r. One more extra before it costs the last cycle
      // one (1 / r later): the count stays, or grows by one once the last cycle has no room for
      // extras. So one extra per cycle, or the most that leave the last cycle's start inside the window.
      const base = k0 * silence + k1 * (silence - delay);
      const most = Math.ceil((windowSeconds - base) * rate - 1e-9) - 1;
      for (const extras of k1 === 0 ? [0] : [k1, most]) {
        const lastStart = base + extras / rate;
        if (extras < k1 || lastStart >= windowSeconds) continue;
        const count = (k0 + k1 + 1) * burst + extras + extrasBefore(lastStart);
        if (count > best.count) best = { count, k0, k1, extras };
      }
    }
  }
  const arrivals: number[] = [];
  let start = 0;
  const cycle = (extras: number) => {
    arrivals.push(...new Array<number>(burst).fill(start));
    for (let j = 1; j <= extras; j++) arrivals.push(start + extraAt(j));
    start = arrivals.at(-1)! + silence;
  };
  for (let i = 0; i < best.k0; i++) cycle(0);
  // One extra per cycle, the rest in the last of them (any split gives the same total and length).
  for (let i = 0; i < best.k1; i++) cycle(i < best.k1 - 1 ? 1 : best.extras - best.k1 + 1);
  cycle(extrasBefore(start));
  return arrivals;
}

/** (b) as a number: what `worstCaseSchedule` gets through (Traefik's arithmetic, `admitted`). */
export function worstCasePerWindow(burst: number, bucket: TraefikBucket, windowSeconds = bucket.periodSeconds): number {
  return admitted(worstCaseSchedule(burst, bucket, windowSeconds), burst, bucket).filter(Boolean).length;
}

/** The worst case per address: one bucket per router in memory (Traefik 3.6.12), times the routers an address can reach with it. */
export const worstCasePerAddress = (burst: number, bucket: TraefikBucket, routers: number, windowSeconds = bucket.periodSeconds): number =>
  worstCasePerWindow(burst, bucket, windowSeconds) * routers;

/**
 * The largest burst with which forgetting and delaying give an address nothing over a steady client
 * (the burst, then the refill: average + burst per period), judged over a window of at least 30 times
 * the forget time. At most what the bucket refills while Traefik keeps it (validate.ts's
 * largestSafeBurst, which leaves out the delayed requests): past that the forgetting pays by itself.
 */
export function largestHonestBurst(bucket: TraefikBucket): number {
  const window = Math.max(bucket.periodSeconds, 30 * bucket.forgetSeconds);
  const steady = (burst: number) => burst + Math.floor(bucket.rate * (window + bucket.maxDelaySeconds) + 1e-9);
  const ceiling = Math.max(1, Math.floor(bucket.rate * bucket.forgetSeconds));
  let burst = 1;
  while (burst < ceiling && worstCasePerWindow(burst + 1, bucket, window) <= steady(burst + 1)) burst += 1;
  return burst;
}

/** Where the frontend's static files live: served without the per-address bucket, as a CDN would serve them. */
export const STATIC_PREFIX = '/static/';

/**
 * A page load of the home page in a browser: the page, what it references (stubs/src/services/
 * frontend.ts `page()`), and what its script calls when the page is ready (stubs/public/app.js).
 * A unit test reads both sources and fails when they ask for something else.
 */
export const HOME_PAGE_LOAD: readonly string[] = ['/', '/static/style.css', '/static/app.js', '/api/events?limit=50', '/api/articles?limit=20', '/api/resources'];

/** Which buckets an address has: one per router (Traefik's in-memory limiter), or one in all (Redis, or buckets shared per middleware). */
export type BucketScope = 'router' | 'address';

/**
 * The bucket a users' GET of `path` draws from at the edge, or undefined for a static file (no
 * bucket). Per router: the route table's router for a path it lists, otherwise the router of the
 * longest of `prefixes` (each service's path prefixes, traefik.ts APP_ROUTES and /auth) it falls under.
 */
export function bucketOf(path: string, scope: BucketScope, prefixes: Readonly<Record<string, readonly string[]>>): string | undefined {
  const bare = path.split('?')[0]!;
  if (bare.startsWith(STATIC_PREFIX)) return undefined;
  if (scope === 'address') return 'address';
  const route = ROUTES.find((r) => r.method === 'GET' && new RegExp(routeRegexp(r.path)).test(bare));
  if (route) return `GET ${route.path}`;
  const [service] = Object.entries(prefixes)
    .flatMap(([name, list]) => list.filter((prefix) => bare.startsWith(prefix)).map((prefix) => [name, prefix.length] as const))
    .sort((a, b) => b[1] - a[1])[0] ?? ['none'];
  return `prefix ${service}`;
}

/** How many of `paths` draw from the fullest bucket: what the burst must hold when they arrive at once. */
export function fullestBucket(paths: readonly string[], scope: BucketScope, prefixes: Readonly<Record<string, readonly string[]>>): number {
  const counts = new Map<string, number>();
  for (const path of paths) {
    const bucket = bucketOf(path, scope, prefixes);
    if (bucket) counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
  }
  return Math.max(0, ...counts.values());
}
