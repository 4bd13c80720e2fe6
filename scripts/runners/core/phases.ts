/**
 * Phases of a run that ends in a report (a deploy, a rollback, later the drills): each phase is
 * timed and recorded with its outcome and details, warnings are kept for the report, and the
 * progress line says what is going on. Nothing here knows about deploys.
 */
import { formatDuration } from '../../../services/errors.js';
import { systemClock, type Clock } from './poll.js';
import type { Progress } from './progress.js';

/** One phase as the report shows it. */
export interface PhaseRecord {
  readonly name: string;
  readonly startedAt: string;
  readonly ms: number;
  readonly ok: boolean;
  /** What the phase found (its figures), or the message it failed with. */
  readonly details?: unknown;
}

export interface PhaseRecorder {
  readonly phases: readonly PhaseRecord[];
  readonly warnings: readonly string[];
  /** Run `work` as the phase `name`; `details` picks what of its result goes into the report. */
  phase<T>(name: string, work: () => Promise<T>, details?: (result: T) => unknown): Promise<T>;
  /** A problem that does not fail the run, kept for the report. */
  warn(message: string): void;
}

export function createPhaseRecorder(progress: Progress, clock: Clock = systemClock): PhaseRecorder {
  const phases: PhaseRecord[] = [];
  const warnings: string[] = [];
  return {
    phases,
    warnings,
    async phase<T>(name: string, work: () => Promise<T>, details?: (result: T) => unknown): Promise<T> {
      const started = clock.now();
      progress.step(name);
      const record = (ok: boolean, detail: unknown, withDetails: boolean) =>
        phases.push({ name, startedAt: new Date(started).toISOString(), ms: clock.now() - started, ok, ...(withDetails ? { details: detail } : {}) });
      try {
        const result = await work();
        record(true, details?.(result), details !== undefined);
        progress.info(`${name}: ok (${formatDuration(clock.now() - started)})`);
        return result;
      } catch (error) {
        record(false, (error as Error).message, true);
        throw error;
      }
    },
    warn(message: string) {
      warnings.push(message);
      progress.info(`warning: ${message}`);
    },
  };
}
