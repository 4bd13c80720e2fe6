/** pollUntil on a fake clock: no real time passes. */
import { describe, expect, it } from 'vitest';
import { InterruptedError, TimeoutError } from '../../services/errors.js';
import { done, pending, pollUntil, type Clock } from '../../scripts/runners/core/poll.js';

/** A clock whose sleeps advance time at once; `costMs` is what each probe takes. */
function fakeClock(): Clock & { t: number; sleeps: number[] } {
  const clock = {
    t: 1_000_000,
    sleeps: [] as number[],
    now: () => clock.t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) return; // like the real one: an abort ends the sleep at once
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}

const base = { subject: 'traefik weights blue 100/green 0', expectation: "Traefik's API shows them", timeoutMs: 2000, intervalMs: 500 };

describe('pollUntil', () => {
  it('returns the value and the time it took once the probe is done', async () => {
    const clock = fakeClock();
    let calls = 0;
    const result = await pollUntil(async () => (++calls === 3 ? done('loaded') : pending(`weights ${calls}`)), { ...base, clock });
    expect(result).toEqual({ value: 'loaded', elapsedMs: 1000 });
    expect(clock.sleeps).toEqual([500, 500]);
  });

  it('times out with a TimeoutError naming subject, expectation, real time spent and the last observation', async () => {
    const clock = fakeClock();
    let calls = 0;
    const probe = async () => {
      calls += 1;
      clock.t += 300; // each probe takes 300 ms: the real time spent exceeds the budget
      return pending(`blue ${calls * 10}/green 0`);
    };
    const error = await pollUntil(probe, { ...base, clock }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toBe(
      "traefik weights blue 100/green 0: expected Traefik's API shows them within 2.0s; not so after 2.3s (last seen: blue 40/green 0)",
    );
    expect((error as TimeoutError).elapsedMs).toBe(2300);
    expect((error as TimeoutError).exitCode).toBe(1);
    // The last sleep is cut to the deadline, so the last probe runs at it.
    expect(clock.sleeps).toEqual([500, 500, 100]);
  });

  it('probes at least once, even with no time allowed', async () => {
    const clock = fakeClock();
    expect(await pollUntil(async () => done(1), { ...base, timeoutMs: 0, clock })).toEqual({ value: 1, elapsedMs: 0 });
    await expect(pollUntil(async () => pending('no'), { ...base, timeoutMs: 0, clock })).rejects.toThrow(
      "traefik weights blue 100/green 0: expected Traefik's API shows them within 0ms; not so after 0ms (last seen: no)",
    );
  });

  it('gives the probe the elapsed time, and lets its errors through at once', async () => {
    const clock = fakeClock();
    const seen: number[] = [];
    const error = await pollUntil(
      async (elapsed) => {
        seen.push(elapsed);
        if (elapsed >= 1000) throw new Error('container exited');
        return pending('starting');
      },
      { ...base, clock },
    ).catch((e: unknown) => e);
    expect(seen).toEqual([0, 500, 1000]);
    expect((error as Error).message).toBe('container exited');
  });

  it('ends with an InterruptedError when the signal aborts', async () => {
    const clock = fakeClock();
    const aborter = new AbortController();
    let calls = 0;
    const probe = async () => {
      if (++calls === 2) aborter.abort();
      return pending(`try ${calls}`);
    };
    const error = await pollUntil(probe, { ...base, clock, signal: aborter.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterruptedError);
    expect((error as Error).message).toBe('traefik weights blue 100/green 0: interrupted after 500ms (last seen: try 2)');
    expect((error as InterruptedError).exitCode).toBe(130);
  });
});
