/**
 * What every drill does with time: mark a moment (kept for the report and the picture, and said
 * as it happens) and wait, bounded, for a condition. Shared by every drill.
 */
import type { Marker } from '../../../services/drills/model.js';
import { TimeoutError } from '../../../services/errors.js';
import { done, pending, pollUntil } from '../core/poll.js';
import type { Progress } from '../core/progress.js';

/** The part of a drill's run object these need. */
export interface DrillMoments {
  readonly markers: Marker[];
  readonly options: { readonly progress: Progress; readonly signal?: AbortSignal | undefined };
}

/** A moment of the drill: kept for the report and the picture, and said as it happens. */
export const mark = (run: DrillMoments, name: string, atMs?: number, detail?: string): void => {
  run.markers.push({ name, ...(atMs !== undefined ? { atMs } : {}), ...(detail ? { detail } : {}) });
  run.options.progress.info(`${atMs === undefined ? '   never' : `+${(atMs / 1000).toFixed(2)}s`.padStart(8)}  ${name}${detail ? ` (${detail})` : ''}`);
};

/**
 * Wait until `condition` holds (polled through pollUntil); false when it never did within
 * `timeoutMs` (the drill reports "never" for that moment). Ctrl-C ends the wait with an
 * InterruptedError, which stops the drill.
 */
export async function waitUntil(run: Pick<DrillMoments, 'options'>, subject: string, condition: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  try {
    await pollUntil(async () => ((await condition()) ? done(true) : pending('not yet')), { subject, expectation: subject, timeoutMs, intervalMs, ...(run.options.signal ? { signal: run.options.signal } : {}) });
    return true;
  } catch (error) {
    if (error instanceof TimeoutError) return false;
    throw error;
  }
}
