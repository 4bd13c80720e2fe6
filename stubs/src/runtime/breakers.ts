/**
 * Circuit breakers (opossum) around every dependency and cross-service call. Callers catch
 * `DependencyUnavailableError` and serve the architecture's fallback for their route; the
 * breaker itself has no fallback because the right one depends on the route.
 */
import CircuitBreaker from 'opossum';
import { ParityError } from '../../../services/contracts/index.js';
import type { BreakerSettings } from './settings.js';
import { BREAKER_STATE_VALUE, type Metrics } from './metrics.js';

/** A dependency call failed, timed out, or was refused because its breaker is open. */
export class DependencyUnavailableError extends ParityError {
  // Spelled out: a bundler may rename the class, and the name is part of what the logs show.
  override readonly name = 'DependencyUnavailableError';
  readonly exitCode = 1;
  constructor(
    readonly dependency: string,
    readonly reason: 'open' | 'timeout' | 'error',
    override readonly cause?: unknown,
  ) {
    super(`${dependency} unavailable (${reason === 'open' ? 'circuit open' : reason}${cause instanceof Error ? `: ${cause.message}` : ''})`);
  }
}

export type BreakerState = keyof typeof BREAKER_STATE_VALUE;

export interface Breaker {
  readonly name: string;
  /** Run `operation` through the breaker; `label` names it in the latency metric. */
  call<T>(label: string, operation: () => Promise<T>): Promise<T>;
  state(): BreakerState;
  shutdown(): void;
}

export interface BreakerOptions {
  /** Per-call timeout. */
  readonly timeoutMs: number;
  /** Errors that are the caller's fault (a constraint violation, a missing key) don't count as failures. */
  readonly isClientError?: (error: unknown) => boolean;
  /**
   * While the breaker is open, run this check every `intervalMs`, outside the breaker; the first
   * success closes it. A database failover is over in seconds, and users should not wait out the
   * architecture's 60 s reset timeout once the writer endpoint answers again.
   */
  readonly probe?: { readonly check: () => Promise<void>; readonly intervalMs: number };
}

/** An HTTP 4xx raised inside an operation (e.g. "no such event" in a transaction) is the caller's fault. */
const isHttpClientError = (error: unknown): boolean => {
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 500;
};

export function createBreaker(name: string, settings: Pick<BreakerSettings, 'resetMs' | 'errorThresholdPercentage' | 'volumeThreshold'>, metrics: Metrics, options: BreakerOptions): Breaker {
  const isClientError = (error: unknown) => isHttpClientError(error) || (options.isClientError?.(error) ?? false);
  const breaker = new CircuitBreaker(async (operation: () => Promise<unknown>) => operation(), {
    timeout: options.timeoutMs,
    resetTimeout: settings.resetMs,
    errorThresholdPercentage: settings.errorThresholdPercentage,
    volumeThreshold: settings.volumeThreshold,
    rollingCountTimeout: 10_000,
    rollingCountBuckets: 10,
    errorFilter: isClientError,
  });
  const setState = (state: BreakerState, event: string) => {
    metrics.breakerState.set({ breaker: name }, BREAKER_STATE_VALUE[state]);
    metrics.breakerEvents.inc({ breaker: name, event });
  };
  setState('closed', 'created');
  // Every transition's series exists from the start at 0: Prometheus' increase() needs a sample
  // before the first open, and an open shorter than a scrape interval (a 2 s reset against a 5 s
  // scrape) is then still counted, where the state gauge may only ever be sampled half-open.
  for (const event of ['open', 'half-open', 'close', 'probe-close', 'reject']) metrics.breakerEvents.inc({ breaker: name, event }, 0);
  let probing: NodeJS.Timeout | undefined;
  const stopProbing = () => {
    if (probing) clearInterval(probing);
    probing = undefined;
  };
  const startProbing = (probe: NonNullable<BreakerOptions['probe']>) => {
    if (probing) return;
    let running = false;
    probing = setInterval(() => {
      if (running) return;
      running = true;
      probe
        .check()
        .then(() => {
          if (!breaker.closed) {
            metrics.breakerEvents.inc({ breaker: name, event: 'probe-close' });
            breaker.close();
          }
        })
        .catch(() => {})
        .finally(() => (running = false));
    }, probe.intervalMs);
    probing.unref();
  };
  breaker.on('open', () => {
    setState('open', 'open');
    if (options.probe) startProbing(options.probe);
  });
  breaker.on('halfOpen', () => setState('half-open', 'half-open'));
  breaker.on('close', () => {
    stopProbing();
    setState('closed', 'close');
  });
  breaker.on('reject', () => metrics.breakerEvents.inc({ breaker: name, event: 'reject' }));

  return {
    name,
    async call<T>(label: string, operation: () => Promise<T>): Promise<T> {
      const end = metrics.dependencyDuration.startTimer({ dependency: name, operation: label });
      try {
        const result = (await breaker.fire(operation)) as T;
        end({ outcome: 'success' });
        return result;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (isClientError(error)) {
          end({ outcome: 'success' });
          throw error;
        }
        const reason = code === 'EOPENBREAKER' ? 'open' : code === 'ETIMEDOUT' ? 'timeout' : 'error';
        end({ outcome: reason === 'open' ? 'rejected' : reason === 'timeout' ? 'timeout' : 'failure' });
        throw new DependencyUnavailableError(name, reason, reason === 'open' ? undefined : error);
      }
    },
    state(): BreakerState {
      return breaker.opened ? 'open' : breaker.halfOpen ? 'half-open' : 'closed';
    },
    shutdown(): void {
      stopProbing();
      breaker.shutdown();
    },
  };
}
