/**
 * The users of a drill: a steady rate of requests through Traefik, each one's outcome kept with
 * its time (ok, a fallback answer, or failed), so the report can say what users saw second by
 * second. Reads are `GET /api/events`; writes (optional) are `POST /api/events` as an editor.
 */
import type { Sample } from '../../../services/drills/model.js';
import { FALLBACK_HEADER, headerKey } from '../../../services/contracts/index.js';
import type { HttpClient } from '../core/http.js';

export interface ApiLoadOptions {
  readonly http: HttpClient;
  /** Traefik's HTTPS base URL. */
  readonly base: string;
  /** Reads per second, per path. @default 10 */
  readonly readsPerSecond?: number;
  /** The paths users read. @default ['/api/events?limit=5'] */
  readonly readPaths?: readonly string[];
  /** Send the token with the reads too (as a logged-in user would). @default false */
  readonly authenticatedReads?: boolean;
  /** Writes per second (0 = none). Needs `token`. @default 0 */
  readonly writesPerSecond?: number;
  /** Bearer token of an editor (or admin) for the writes. */
  readonly token?: string;
  /** Title prefix of the events the writes create (the drill removes them afterwards). */
  readonly writeTag: string;
  readonly now: () => number;
  readonly onSample: (sample: Sample & { readonly kind: 'read' | 'write' }) => void;
}

export interface StartedApiLoad {
  stop(): Promise<void>;
}

/** The fallback marker(s) of an answer (`ivor`, `events,ivor`), if it is one. */
export const fallbackOf = (headers: Record<string, string | string[] | undefined>): string | undefined => {
  const value = headers[headerKey(FALLBACK_HEADER)];
  return Array.isArray(value) ? value.join(',') : value || undefined;
};

/** Classify one answer the way a user would experience it: a fallback page (even with a 5xx status) is degraded, not failed. */
export function classify(status: number, headers: Record<string, string | string[] | undefined>): Sample['outcome'] {
  if (fallbackOf(headers)) return 'fallback';
  return status >= 200 && status < 300 ? 'ok' : 'failed';
}

function paced(ratePerSecond: number, isStopped: () => boolean, send: () => Promise<void>): Promise<void> {
  if (ratePerSecond <= 0) return Promise.resolve();
  const intervalMs = 1000 / ratePerSecond;
  const inFlight = new Set<Promise<void>>();
  return (async () => {
    let next = Date.now();
    while (!isStopped()) {
      // Open loop: a slow answer doesn't slow the users down (they keep clicking).
      const request = send().finally(() => inFlight.delete(request));
      inFlight.add(request);
      next += intervalMs;
      const wait = next - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      else next = Date.now();
    }
    await Promise.allSettled(inFlight);
  })();
}

export function startApiLoad(options: ApiLoadOptions): StartedApiLoad {
  let stopped = false;
  let written = 0;
  const isStopped = () => stopped;
  const record = async (kind: 'read' | 'write', path: string, send: () => ReturnType<HttpClient>, seq?: number) => {
    const startedAt = options.now();
    const route = path.split('?')[0]!;
    try {
      const response = await send();
      const outcome = classify(response.status, response.headers);
      const detail = outcome === 'failed' ? `HTTP ${response.status}` : outcome === 'fallback' ? fallbackOf(response.headers) : undefined;
      options.onSample({ kind, atMs: startedAt, lane: 'api', outcome, latencyMs: options.now() - startedAt, status: response.status, route, ...(detail ? { detail } : {}), ...(seq !== undefined ? { seq } : {}) });
    } catch (error) {
      options.onSample({ kind, atMs: startedAt, lane: 'api', outcome: 'failed', latencyMs: options.now() - startedAt, route, detail: (error as Error).message.slice(0, 120), ...(seq !== undefined ? { seq } : {}) });
    }
  };
  const readHeaders: Record<string, string> = options.authenticatedReads && options.token ? { authorization: `Bearer ${options.token}` } : {};
  const reads = Promise.all(
    (options.readPaths ?? ['/api/events?limit=5']).map((path) =>
      paced(options.readsPerSecond ?? 10, isStopped, () => record('read', path, () => options.http(`${options.base}${path}`, { headers: readHeaders, timeoutMs: 5000 }))),
    ),
  );
  const writes = paced(options.token ? (options.writesPerSecond ?? 0) : 0, isStopped, () => {
    written += 1;
    const seq = written;
    const body = JSON.stringify({ title: `${options.writeTag} #${seq}`, startsAt: new Date(Date.now() + 86_400_000).toISOString() });
    return record(
      'write',
      '/api/events',
      () => options.http(`${options.base}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` }, body, timeoutMs: 5000 }),
      seq,
    );
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all([reads, writes]);
    },
  };
}

/**
 * A drill's users' load through the front: reads and writes (`startApiLoad`) whose samples go to
 * the run's samples, and whose writes' start times to `writeTimes` (the write figures read them).
 */
export function startUsersLoad(
  run: { readonly samples: Sample[]; readonly tag: string; readonly now: () => number },
  users: { readonly http: HttpClient; readonly base: string; readonly token?: string },
  rates: { readonly reads: number; readonly writes: number; readonly readPaths?: readonly string[] },
  writeTimes: Set<number>,
): StartedApiLoad {
  return startApiLoad({
    http: users.http,
    base: users.base,
    readsPerSecond: rates.reads,
    ...(rates.readPaths ? { readPaths: rates.readPaths } : {}),
    writesPerSecond: rates.writes,
    ...(users.token ? { token: users.token } : {}),
    writeTag: run.tag,
    now: run.now,
    onSample: ({ kind, ...sample }) => {
      run.samples.push(sample);
      if (kind === 'write') writeTimes.add(sample.atMs);
    },
  });
}
