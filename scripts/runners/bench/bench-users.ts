/**
 * `make bench-users`: what the users' path costs in memory, and what users get, as the load grows:
 * steps of a fixed rate through the front from many client addresses (kept-alive connections, and
 * a new TLS connection per request), with every container on the path watched from its cgroup
 * (peak memory against its limit) and any restart or OOM kill counted. Measures; asserts nothing.
 */
import { containerMemory, resetMemoryPeak } from '../clients/container-stats.js';
import type { ParityConfig } from '../../../services/config/schema.js';
import { APP_SERVICES } from '../../../services/config/profiles.js';
import { readActiveColor } from '../stack/stack.js';
import { engineOf } from '../clients/engine-of.js';
import { type ComposeTarget } from '../clients/engine.js';
import { runUsersLoad, usersFigures, type UsersLoadFigures } from './users-load.js';
import type { Progress } from '../core/progress.js';

export interface ContainerStep {
  readonly peakMiB: number;
  readonly limitMiB: number;
  readonly restarts: number;
  readonly oomKilled: boolean;
}

export interface UsersStep {
  readonly mode: 'keep-alive' | 'fresh';
  readonly rate: number;
  readonly seconds: number;
  readonly addresses: number;
  readonly users: UsersLoadFigures;
  readonly containers: Record<string, ContainerStep>;
}

export interface UsersBenchOptions {
  readonly target: ComposeTarget;
  readonly base: string;
  readonly ca: string;
  readonly rates: readonly number[];
  readonly seconds: number;
  readonly addresses: number;
  readonly modes: readonly UsersStep['mode'][];
  readonly paths: readonly string[];
  /** Services whose containers are watched (compose service names). */
  readonly services: readonly string[];
  readonly progress: Progress;
  readonly signal?: AbortSignal;
}

interface Watched {
  readonly service: string;
  readonly id: string;
}

async function inspect(target: ComposeTarget): Promise<Map<string, { restarts: number; oom: boolean }>> {
  return new Map((await engineOf(target).listContainers()).map((c) => [c.id, { restarts: c.restartCount, oom: c.oomKilled }]));
}

const MiB = 1024 * 1024;

export async function benchUsers(options: UsersBenchOptions): Promise<UsersStep[]> {
  const watched: Watched[] = [];
  for (const service of options.services) {
    const running = (await engineOf(options.target).listContainers()).find((c) => c.service === service && c.state === 'running');
    if (running) watched.push({ service, id: running.id });
  }
  const steps: UsersStep[] = [];
  for (const mode of options.modes) {
    for (const rate of options.rates) {
      if (options.signal?.aborted) return steps;
      const before = await inspect(options.target);
      for (const w of watched) resetMemoryPeak(w.id);
      const peaks = new Map<string, number>();
      const sample = () => {
        for (const w of watched) {
          const memory = containerMemory(w.id);
          peaks.set(w.service, Math.max(peaks.get(w.service) ?? 0, memory.peak, memory.usage));
        }
      };
      options.progress.info(`${mode}: ${rate} req/s for ${options.seconds} s through ${options.base} from ${options.addresses} addresses …`);
      const answers = await runUsersLoad({ base: options.base, ca: options.ca, rate, seconds: options.seconds, paths: options.paths, addresses: options.addresses, fresh: mode === 'fresh', ...(options.signal ? { signal: options.signal } : {}), onSecond: sample });
      sample();
      const after = await inspect(options.target);
      const containers: Record<string, ContainerStep> = {};
      for (const w of watched) {
        const memory = containerMemory(w.id);
        const was = before.get(w.id);
        const now = after.get(w.id);
        containers[w.service] = {
          peakMiB: Math.round((peaks.get(w.service) ?? NaN) / MiB),
          limitMiB: Number.isFinite(memory.limit) && memory.limit < 2 ** 60 ? Math.round(memory.limit / MiB) : NaN,
          restarts: (now?.restarts ?? 0) - (was?.restarts ?? 0),
          oomKilled: now?.oom ?? false,
        };
      }
      const step: UsersStep = { mode, rate, seconds: options.seconds, addresses: options.addresses, users: usersFigures(answers), containers };
      steps.push(step);
      options.progress.info(describeStep(step));
      // Let connections close and the edge settle before the next step.
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
  return steps;
}

export function describeStep(step: UsersStep): string {
  const u = step.users;
  const failures = Object.entries(u.outcomes).filter(([status]) => !/^[23]\d\d$|^404$/.test(status));
  const memory = Object.entries(step.containers)
    .map(([service, c]) => `${service} ${c.peakMiB}/${Number.isNaN(c.limitMiB) ? '∞' : c.limitMiB} MiB${c.restarts ? ` RESTARTED ×${c.restarts}` : ''}${c.oomKilled ? ' OOM-KILLED' : ''}`)
    .join(', ');
  return `${step.mode.padEnd(10)} ${String(step.rate).padStart(4)} req/s: ${u.ok}/${u.sent} ok, p50 ${u.p50Ms} ms, p95 ${u.p95Ms} ms, p99 ${u.p99Ms} ms${failures.length ? `, failed ${JSON.stringify(Object.fromEntries(failures))}` : ''}\n             peak memory: ${memory}`;
}

/** The containers on the users' path: the front, Traefik, Toxiproxy (with chaos on), auth and the active color's apps. */
export async function usersPathServices(target: ComposeTarget, config: ParityConfig): Promise<string[]> {
  const color = (await readActiveColor(target.stateDir))?.color ?? config.activeColor;
  return ['front', 'traefik', 'toxiproxy', 'auth', ...APP_SERVICES.map((app) => `${app}-${color}`)];
}
