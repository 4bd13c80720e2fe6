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
    const line = `${prefix} ${current} (${formatDuration(Date.now() - since)})`;
    if (live) stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`);
    else stream.write(`${line}\n`);
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
    step(message) {
      // Polling loops report the same step again and again: keep its clock, and in plain
      // mode leave repeats to the heartbeat instead of printing a line per poll.
      if (message === current) return;
      current = message;
      since = Date.now();
      render();
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
