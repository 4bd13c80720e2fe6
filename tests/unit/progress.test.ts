import { describe, expect, it, vi } from 'vitest';
import { createProgress } from '../../scripts/runners/core/progress.js';

/** A non-terminal stream that keeps what was written. */
function plainStream() {
  const lines: string[] = [];
  return { stream: { isTTY: false, write: (text: string) => lines.push(text) } as unknown as NodeJS.WriteStream, lines };
}

describe('progress in CI (plain lines)', () => {
  it('starts a step without a time (never "(0ms)") and gives the real elapsed time in its heartbeats', () => {
    vi.useFakeTimers();
    try {
      const { stream, lines } = plainStream();
      const progress = createProgress('[x]', stream);
      progress.step('docker compose up');
      vi.advanceTimersByTime(30_000);
      progress.info('done');
      progress.done();
      expect(lines).toEqual(['[x] docker compose up …\n', '[x] docker compose up (still running, 30.0s)\n', '[x] done\n']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps a polling step to one line: a changing detail shows in the heartbeat, not as new lines', () => {
    vi.useFakeTimers();
    try {
      const { stream, lines } = plainStream();
      const progress = createProgress('[x]', stream);
      progress.step('waiting for every health check', '3/28 healthy');
      vi.advanceTimersByTime(1_000);
      progress.step('waiting for every health check', '20/28 healthy');
      vi.advanceTimersByTime(29_000);
      progress.done();
      expect(lines).toEqual(['[x] waiting for every health check …\n', '[x] waiting for every health check: 20/28 healthy (still running, 30.0s)\n']);
      expect(lines.join('')).not.toMatch(/\(0ms\)/);
    } finally {
      vi.useRealTimers();
    }
  });
});
