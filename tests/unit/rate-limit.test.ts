/**
 * Traefik's rateLimit as arithmetic (services/topology/rate-limit.ts): its figures, which requests a
 * bucket admits, the burst a page load needs and the most an address gets through, and the page
 * load itself, read from the frontend's sources.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import { largestSafeBurst } from '../../services/config/validate.js';
import {
  HOME_PAGE_LOAD,
  admitted,
  bucketOf,
  fullestBucket,
  largestHonestBurst,
  smallestBurst,
  smallestBurstAtOnce,
  traefikBucket,
  worstCasePerAddress,
  worstCasePerWindow,
  worstCaseSchedule,
} from '../../services/topology/rate-limit.js';
import { APP_ROUTES } from '../../services/topology/traefik.js';

const root = join(import.meta.dirname, '..', '..');
const perMinute = traefikBucket(100, 60);
const login = traefikBucket(10, 60);
const PREFIXES = { ...APP_ROUTES, auth: ['/auth'] };

describe('rate_limiter.go\'s figures', () => {
  it('100/min: 1.67 tokens/s, requests delayed up to 500 ms, an idle address forgotten after 2 s', () => {
    expect(perMinute).toEqual({ average: 100, periodSeconds: 60, rate: 100 / 60, maxDelaySeconds: 0.5, forgetSeconds: 2 });
    // Below 1 request/s: 500 ms, and 1 s plus one token's interval.
    expect(login).toMatchObject({ maxDelaySeconds: 0.5, forgetSeconds: 7 });
    // 1 s / (2 × int(rate)).
    expect(traefikBucket(600, 60)).toMatchObject({ maxDelaySeconds: 0.05, forgetSeconds: 2 });
    expect(traefikBucket(150, 60)).toMatchObject({ maxDelaySeconds: 0.25, forgetSeconds: 2 });
  });

  it('forgets after the same time as validation reckons (largestSafeBurst = what refills while it keeps the bucket)', () => {
    for (const [average, period] of [[100, 60], [10, 60], [600, 60], [30, 60], [5, 1]] as const) {
      const bucket = traefikBucket(average, period);
      expect(largestSafeBurst(average, period), `${average}/${period}s`).toBe(Math.max(1, Math.floor(bucket.rate * bucket.forgetSeconds)));
    }
  });
});

describe('which requests a bucket admits', () => {
  it('at once, only as many as the burst: the next would wait 600 ms, over the 500 ms Traefik delays for', () => {
    expect(admitted([0, 0, 0, 0], 3, perMinute)).toEqual([true, true, true, false]);
    expect(admitted([0, 0, 0, 0], 4, perMinute)).toEqual([true, true, true, true]);
  });

  it('a request over the burst is delayed, not refused, once its wait is at most maxDelay (100 ms after the burst at 100/min)', () => {
    expect(admitted([0, 0, 0, 0.1], 3, perMinute)).toEqual([true, true, true, true]);
    expect(admitted([0, 0, 0, 0.09], 3, perMinute)).toEqual([true, true, true, false]);
  });

  it('an address idle for more than 2 s finds a full bucket; a refused request keeps the bucket too', () => {
    // The delayed 4th request leaves the bucket below zero; 2.01 s later it is forgotten: 3 at once, and one 100 ms later.
    expect(admitted([0, 0, 0, 0.1, 2.11, 2.11, 2.11, 2.21], 3, perMinute)).toEqual([true, true, true, true, true, true, true, true]);
    // A refused request at 0.15 s keeps it: 2.52 tokens at 2.11 s, so the one 100 ms later would wait 790 ms.
    expect(admitted([0, 0, 0, 0.1, 0.15, 2.11, 2.11, 2.11, 2.21], 3, perMinute)).toEqual([true, true, true, true, false, true, true, true, false]);
  });
});

describe('(a) the smallest burst a page load needs', () => {
  it('requests arriving at once: the burst must hold them all, at any rate', () => {
    for (const bucket of [perMinute, login, traefikBucket(600, 60), traefikBucket(6000, 60), traefikBucket(30, 60)]) {
      for (let n = 1; n <= 8; n++) expect(smallestBurstAtOnce(n, bucket), `${bucket.average}/${bucket.periodSeconds}s, ${n} at once`).toBe(n);
    }
  });

  it('requests spread out need less: the refill and the 500 ms delay cover the later ones', () => {
    expect(smallestBurst([0, 0, 0, 0.1], perMinute)).toBe(3);
    expect(smallestBurst([0, 0.1, 0.7, 1.3], perMinute)).toBe(1);
  });

  it('the home page\'s load: static files draw from no bucket; in memory each other request has its router\'s bucket, with one per address all four share one', () => {
    expect(HOME_PAGE_LOAD.filter((path) => bucketOf(path, 'router', PREFIXES) === undefined)).toEqual(['/static/style.css', '/static/app.js']);
    expect(HOME_PAGE_LOAD.map((path) => bucketOf(path, 'router', PREFIXES)).filter(Boolean)).toEqual(['GET /', 'GET /api/events', 'GET /api/articles', 'GET /api/resources']);
    expect(fullestBucket(HOME_PAGE_LOAD, 'router', PREFIXES)).toBe(1);
    expect(fullestBucket(HOME_PAGE_LOAD, 'address', PREFIXES)).toBe(4);
    // Paths the route table doesn't list share their service's prefix router.
    expect(fullestBucket(['/favicon.ico', '/robots.txt', '/api/resources/x'], 'router', PREFIXES)).toBe(2);
  });

  it('the page load is what the frontend\'s page references and what app.js calls when it is ready', () => {
    const frontend = readFileSync(join(root, 'stubs', 'src', 'services', 'frontend.ts'), 'utf8');
    const page = frontend.slice(frontend.indexOf('function page('), frontend.indexOf('export const frontend'));
    const referenced = [...page.matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)].map((match) => match[1]);
    const script = readFileSync(join(root, 'stubs', 'public', 'app.js'), 'utf8');
    const ready = script.slice(script.indexOf("addEventListener('DOMContentLoaded'"));
    const called = [...ready.matchAll(/(?:refreshList\('[^']+', |getJson\()'(\/[^']+)'/g)].map((match) => match[1]);
    expect(referenced.length).toBeGreaterThan(0);
    expect(called).toHaveLength(3);
    expect([...HOME_PAGE_LOAD].sort()).toEqual(['/', ...referenced, ...called].sort());
  });
});

describe('(b) the most an address gets through a bucket in a minute', () => {
  it('100/min: burst 1 → 101, 2 → 102 (a steady client: the burst, then the refill); 3 → 117 and 4 → 146 (forgetting pays)', () => {
    expect([1, 2, 3, 4].map((burst) => worstCasePerWindow(burst, perMinute))).toEqual([101, 102, 117, 146]);
    // The login bucket (10/min, burst 1): 10 + 1.
    expect(worstCasePerWindow(1, login)).toBe(11);
  });

  it('the worst schedule at burst 3: cycles of 3 at once and one more 100 ms later (delayed 500 ms), then 2 s of silence', () => {
    const schedule = worstCaseSchedule(3, perMinute);
    expect(schedule.every((at) => at >= 0 && at < 60)).toBe(true);
    expect(admitted(schedule, 3, perMinute).every(Boolean)).toBe(true);
    expect(schedule.slice(0, 5).map((at) => Math.round(at * 1000))).toEqual([0, 0, 0, 100, 2100]);
  });

  it('no simpler strategy beats it: bursts every 2 s (the forgetting alone), n extras per cycle, a steady client', () => {
    const cycles = (burst: number, extras: number) => {
      const arrivals: number[] = [];
      for (let start = 0; start < 60; ) {
        arrivals.push(...new Array<number>(burst).fill(start));
        for (let j = 1; j <= extras; j++) if (start + j / perMinute.rate - 0.5 < 60) arrivals.push(start + j / perMinute.rate - 0.5);
        start = arrivals.at(-1)! + 2.000001;
      }
      return admitted(arrivals, burst, perMinute).filter(Boolean).length;
    };
    const steady = (burst: number) => admitted(Array.from({ length: 6000 }, (_, i) => i / 100), burst, perMinute).filter(Boolean).length;
    for (const burst of [1, 2, 3, 4, 5]) {
      const bound = worstCasePerWindow(burst, perMinute);
      expect(steady(burst), `burst ${burst} steady`).toBeLessThanOrEqual(bound);
      for (const extras of [0, 1, 2, 3]) expect(cycles(burst, extras), `burst ${burst}, ${extras} extras`).toBeLessThanOrEqual(bound);
    }
    // Bursts every 2 s alone: 30 a minute.
    expect(cycles(3, 0)).toBe(90);
    expect(steady(2)).toBe(102);
  });

  it('per address, in memory: one bucket per router, so the bound times the routers an address reaches', () => {
    expect(worstCasePerAddress(2, perMinute, 1)).toBe(102);
    expect(worstCasePerAddress(2, perMinute, 10)).toBe(1020);
  });

  it('the largest burst forgetting gives nothing for: 2 at 100/min (validation allows 3: it leaves out the delayed request), 1 at 10/min', () => {
    expect(largestHonestBurst(perMinute)).toBe(2);
    expect(largestSafeBurst(100, 60)).toBe(3);
    expect(largestHonestBurst(login)).toBe(1);
  });
});

describe('the default bucket (edge.rateLimit)', () => {
  const { average, periodSeconds, burst } = DEFAULT_CONFIG.edge.rateLimit;
  const bucket = traefikBucket(average, periodSeconds);

  it('burst 2: a page load of the home page is never limited, nor two at once (in memory, a bucket per router)', () => {
    expect(burst).toBe(2);
    expect(burst).toBeGreaterThanOrEqual(smallestBurstAtOnce(fullestBucket(HOME_PAGE_LOAD, 'router', PREFIXES), bucket));
    expect(burst).toBeGreaterThanOrEqual(smallestBurstAtOnce(fullestBucket([...HOME_PAGE_LOAD, ...HOME_PAGE_LOAD], 'router', PREFIXES), bucket));
  });

  it('and the most an address gets through one router\'s bucket is average + burst a minute: forgetting gives it nothing', () => {
    expect(burst).toBe(largestHonestBurst(bucket));
    expect(worstCasePerWindow(burst, bucket)).toBe(average + burst);
  });

  it('with one bucket per address (Redis, or buckets shared per middleware), a page load would need 4: 146 a minute', () => {
    const shared = smallestBurstAtOnce(fullestBucket(HOME_PAGE_LOAD, 'address', PREFIXES), bucket);
    expect(shared).toBe(4);
    expect(worstCasePerWindow(shared, bucket)).toBe(146);
  });
});
