/**
 * The one polling loop of the runners (deploys, health waits, the engine, tests): ask a probe
 * at an interval until it says done, or give up at a deadline with a `TimeoutError` that names
 * what was awaited, what was expected, how long it really took and what was last seen. The
 * clock is injectable, so unit tests run it without real time passing.
 */
import { formatDuration, InterruptedError, TimeoutError } from '../../../services/errors.js';

/** A probe's answer: done with a value, or not yet with what it saw (for the timeout message). */
export type PollOutcome<T> = { readonly done: true; readonly value: T } | { readonly done: false; readonly observation: string };

/** Time as the poller sees it. */
export interface Clock {
  /** Milliseconds, monotonic enough for deadlines. */
  readonly now: () => number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Wall-clock time and real timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface PollOptions {
  /** What is awaited, e.g. "traefik weights blue 100/green 0". */
  readonly subject: string;
  /** What done means, in words, e.g. "Traefik's API shows the weights written". */
  readonly expectation: string;
  /** Give up after this long (the probe still runs at least once). */
  readonly timeoutMs: number;
  /**
   * Pause between two probes.
   * @default 500
   */
  readonly intervalMs?: number;
  /** Aborting ends the wait with an `InterruptedError`. */
  readonly signal?: AbortSignal;
  /**
   * Time source and sleep.
   * @default systemClock
   */
  readonly clock?: Clock;
}

/** The probe's value and how long it took to get it. */
export interface PollResult<T> {
  readonly value: T;
  readonly elapsedMs: number;
}

/** `pending(observation)`: shorthand for a probe's "not yet". */
export const pending = (observation: string): PollOutcome<never> => ({ done: false, observation });
/** `done(value)`: shorthand for a probe's "done". */
export const done = <T>(value: T): PollOutcome<T> => ({ done: true, value });

/**
 * Probe until done. The probe gets the time spent so far; an error it throws ends the wait at
 * once (a probe that should retry on errors returns `pending` instead).
 */
export async function pollUntil<T>(probe: (elapsedMs: number) => Promise<PollOutcome<T>>, options: PollOptions): Promise<PollResult<T>> {
  const clock = options.clock ?? systemClock;
  const interval = options.intervalMs ?? 500;
  const started = clock.now();
  let observation = 'nothing yet';
  for (;;) {
    const elapsed = clock.now() - started;
    if (options.signal?.aborted) throw new InterruptedError(`${options.subject}: interrupted after ${formatDuration(elapsed)} (last seen: ${observation})`);
    const outcome = await probe(elapsed);
    const after = clock.now() - started;
    if (outcome.done) return { value: outcome.value, elapsedMs: after };
    observation = outcome.observation;
    if (after >= options.timeoutMs) {
      throw new TimeoutError(
        `${options.subject}: expected ${options.expectation} within ${formatDuration(options.timeoutMs)}; not so after ${formatDuration(after)} (last seen: ${observation})`,
        after,
      );
    }
    await clock.sleep(Math.min(interval, options.timeoutMs - after), options.signal);
  }
}
