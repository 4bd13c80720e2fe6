/**
 * Progress for long work: which subject, which step, elapsed time. On a terminal the current
 * step is redrawn in place; in CI (or when piped) plain lines are printed, with a heartbeat
 * so a quiet step still shows it is alive.
 */
import { formatDuration } from '../../services/errors.js';

export interface Progress {
  /** A line that stays (start or end of a subject). */
  info(message: string): void;
  /** The current step of the current subject; replaces the previous step on a terminal. */
  step(message: string): void;
  /** Stop redrawing (call when the subject ends). */
  done(): void;
}

const HEARTBEAT_MS = 30_000;

export function createProgress(prefix: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const live = Boolean(stream.isTTY) && !process.env.CI;
  let current = '';
  let since = Date.now();
  let timer: NodeJS.Timeout | undefined;

  const render = (): void => {
    const elapsed = formatDuration(Date.now() - since);
    if (live) stream.write(`\r\x1b[2K${`${prefix} ${current} (${elapsed})`.slice(0, (stream.columns ?? 120) - 1)}`);
    // Plain lines: a step's start says no time (it would always be 0 ms); its heartbeats do.
    else stream.write(`${prefix} ${current}${heartbeat ? ` (still running, ${elapsed})` : ' …'}\n`);
  };
  let heartbeat = false;
  const clear = (): void => {
    if (live && current) stream.write('\r\x1b[2K');
  };

  return {
    info(message) {
      clear();
      stream.write(`${prefix} ${message}\n`);
      if (live && current) render();
    },
    step(message) {
      // Polling loops report the same step again and again: keep its clock, and in plain
      // mode leave repeats to the heartbeat instead of printing a line per poll.
      if (message === current) return;
      current = message;
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
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
