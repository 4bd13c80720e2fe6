/**
 * HTTP load with autocannon: a fixed duration at full speed or at a fixed overall rate, with
 * every response's latency kept so percentiles (p95 included) are exact, and failures split
 * into non-2xx responses and connection errors.
 */
import autocannon from 'autocannon';

export interface LoadOptions {
  readonly url: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  /** Bodies to cycle through (POST). */
  readonly bodies?: readonly string[];
  readonly durationSeconds: number;
  readonly connections?: number;
  /** Requests per second across all connections; unset = as fast as possible. */
  readonly overallRate?: number;
  /** Stops the load early (the result covers what ran). */
  readonly signal?: AbortSignal;
  /** Called once a second with the requests done so far. */
  readonly onTick?: (done: number) => void;
}

export interface LoadResult {
  readonly requests: number;
  readonly durationSeconds: number;
  readonly requestsPerSecond: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
  readonly statusCodes: Record<string, number>;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let index = 0;
  let finished!: (result: autocannon.Result) => void;
  let failed!: (error: Error) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finished = resolve;
    failed = reject;
  });
  const instance = autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    duration: options.durationSeconds,
    connections: options.connections ?? 10,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    ...(options.bodies?.length
      ? {
          requests: [
            {
              setupRequest: (request: autocannon.Request) => ({ ...request, body: options.bodies![index++ % options.bodies!.length]! }),
            },
          ],
        }
      : {}),
  }, (error, result) => (error ? failed(error) : finished(result)));
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    latencies.push(responseTime);
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
  });
  options.signal?.addEventListener('abort', () => instance.stop(), { once: true });
  const ticker = options.onTick ? setInterval(() => options.onTick!(latencies.length), 1000) : undefined;
  const result = await done;
  if (ticker) clearInterval(ticker);
  latencies.sort((a, b) => a - b);
  const seconds = (new Date(result.finish).getTime() - new Date(result.start).getTime()) / 1000;
  return {
    requests: latencies.length,
    durationSeconds: seconds,
    requestsPerSecond: latencies.length / seconds,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN },
    statusCodes,
  };
}

/**
 * Constant load (at `rate` requests/s) on `url` from 3 s before `work` starts until 2 s after it
 * ends, so the whole of it runs under load. `work`'s error is returned, not thrown: the load's
 * figures matter either way.
 */
export async function runWhileLoaded<T>(url: string, rate: number, work: () => Promise<T>): Promise<{ load: LoadResult; outcome: T | Error }> {
  const stop = new AbortController();
  const loading = runLoad({ url, durationSeconds: 3600, connections: 20, overallRate: rate, signal: stop.signal });
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await pause(3000);
  let outcome: T | Error;
  try {
    outcome = await work();
  } catch (error) {
    outcome = error as Error;
  }
  await pause(2000);
  stop.abort();
  return { load: await loading, outcome };
}
