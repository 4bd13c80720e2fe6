/**
 * Watching the stubs' breakers during a drill: each watched container's `/metrics` (reached on its
 * address in the project's network, which the host routes to) every 200 ms. The state gauge tells
 * where a breaker is; the event counters tell what happened between two polls, so a HALF-OPEN that
 * lasted a few milliseconds is still in the record.
 */
import { orderTransitions, type BreakerState, type Transition } from '../../../../services/drills/chaos.js';
import { DrillError } from '../../../../services/errors.js';
import type { ComposeTarget } from '../../clients/engine.js';
import { stubEndpoint } from '../../clients/stub-http.js';

export interface BreakerWatch {
  /** Every transition seen so far, in order. */
  transitions(): Transition[];
  /** The state each breaker was in at the last poll (`<service>:<breaker>`). */
  states(): ReadonlyMap<string, BreakerState>;
  stop(): Promise<void>;
}

const STATE_BY_VALUE: Readonly<Record<string, BreakerState>> = { '0': 'closed', '1': 'half-open', '2': 'open' };

interface Reading {
  readonly state: BreakerState;
  readonly open: number;
  readonly halfOpen: number;
  readonly close: number;
}

/** The breakers in one `/metrics` text, keyed `<service>:<breaker>`. */
export function readBreakers(text: string): Map<string, Reading> {
  const label = (line: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(line)?.[1] ?? '';
  const readings = new Map<string, { state: BreakerState; open: number; halfOpen: number; close: number }>();
  const entry = (key: string) => readings.get(key) ?? readings.set(key, { state: 'closed', open: 0, halfOpen: 0, close: 0 }).get(key)!;
  for (const line of text.split('\n')) {
    if (!line.startsWith('circuit_breaker_')) continue;
    const key = `${label(line, 'service')}:${label(line, 'breaker')}`;
    const value = line.slice(line.lastIndexOf(' ') + 1);
    if (line.startsWith('circuit_breaker_state{')) entry(key).state = STATE_BY_VALUE[value] ?? 'closed';
    else if (line.startsWith('circuit_breaker_events_total{')) {
      const event = label(line, 'event');
      if (event === 'open') entry(key).open = Number(value);
      else if (event === 'half-open') entry(key).halfOpen = Number(value);
      else if (event === 'close' || event === 'probe-close') entry(key).close += Number(value);
    }
  }
  return readings;
}

/** The address and HTTP port of a compose service's container in its project network. */
async function addressOf(target: ComposeTarget, service: string): Promise<string> {
  const endpoint = await stubEndpoint(target, service);
  if (!endpoint) throw new DrillError(`could not find the network address of ${service} in project ${target.project}: is it running?`);
  return `${endpoint.address}:${endpoint.port}`;
}

/** Start polling the breakers of `services` (compose services, e.g. `events-blue`, `auth`). */
export async function watchBreakers(target: ComposeTarget, services: readonly string[], now: () => number, intervalMs = 200): Promise<BreakerWatch> {
  const urls = await Promise.all(services.map(async (service) => `http://${await addressOf(target, service)}/metrics`));
  const transitions: Transition[] = [];
  const last = new Map<string, Reading>();
  const poll = async (record: boolean) => {
    const texts = await Promise.all(urls.map((url) => fetch(url, { signal: AbortSignal.timeout(1000) }).then((r) => r.text()).catch(() => '')));
    const at = now();
    for (const text of texts) {
      for (const [key, reading] of readBreakers(text)) {
        const before = last.get(key);
        last.set(key, reading);
        if (!record || !before) continue;
        const steps = orderTransitions(before.state, { open: reading.open - before.open, halfOpen: reading.halfOpen - before.halfOpen, close: reading.close - before.close });
        for (const to of steps) transitions.push({ breaker: key, to, atMs: at });
      }
    }
  };
  await poll(false);
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      await poll(true);
    }
  })();
  return {
    transitions: () => [...transitions],
    states: () => new Map([...last].map(([key, reading]) => [key, reading.state])),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
