/**
 * Progress for long work: which subject, which step, elapsed time. On a terminal the current
 * step is redrawn in place (a live view). In CI (or when piped) each step gets one plain line
 * when it starts, with no time (it would always be 0 ms), then a heartbeat with the real
 * elapsed time while it runs; a step's changing detail (counts, figures) never prints a new
 * line, so polling loops stay quiet. Ends of steps with their time are `info` lines.
 */
import { formatDuration } from '../../../services/errors.js';

export interface Progress {
  /** A line that stays (start or end of a subject). */
  info(message: string): void;
  /**
   * The current step of the current subject; replaces the previous step on a terminal. The
   * same `message` again keeps the step's clock; `detail` (what the step sees right now) is
   * shown live and in heartbeats.
   */
  step(message: string, detail?: string): void;
  /** Stop redrawing (call when the subject ends). */
  done(): void;
}

const HEARTBEAT_MS = 30_000;

export function createProgress(prefix: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const live = Boolean(stream.isTTY) && !process.env.CI;
  let current = '';
  let detail = '';
  let since = Date.now();
  let heartbeat = false;
  let timer: NodeJS.Timeout | undefined;

  const label = (): string => `${prefix} ${current}${detail ? `: ${detail}` : ''}`;
  const render = (): void => {
    const elapsed = formatDuration(Date.now() - since);
    if (live) stream.write(`\r\x1b[2K${`${label()} (${elapsed})`.slice(0, (stream.columns ?? 120) - 1)}`);
    else stream.write(heartbeat ? `${label()} (still running, ${elapsed})\n` : `${prefix} ${current} …\n`);
  };
  const clear = (): void => {
    if (live && current) stream.write('\r\x1b[2K');
  };

  return {
    info(message) {
      clear();
      stream.write(`${prefix} ${message}\n`);
      if (live && current) render();
    },
    step(message, stepDetail = '') {
      if (message === current) {
        detail = stepDetail;
        if (live) render();
        return;
      }
      current = message;
      detail = stepDetail;
      since = Date.now();
      heartbeat = false;
      render();
      heartbeat = true;
      if (!timer) {
        timer = setInterval(render, live ? 1000 : HEARTBEAT_MS);
        timer.unref();
      }
    },
    done() {
      clear();
      current = '';
      detail = '';
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
