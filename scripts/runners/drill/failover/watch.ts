/**
 * Watching the cluster during a drill: Patroni's view polled every 250 ms in the background,
 * every leader change kept with its time, so the phases (leader lost, new leader elected) and the
 * false failovers come from one record.
 */
import { readCluster, type ClusterView, type RestEndpoints } from '../../clients/patroni.js';
import { systemClock } from '../../core/poll.js';

export interface LeaderChange {
  readonly atMs: number;
  readonly from?: string;
  readonly to?: string;
}

export interface ClusterWatch {
  /** The last view any node gave. */
  latest(): ClusterView | undefined;
  /** Changes of the leader key since the watch started (a leader lost shows as `to: undefined`). */
  readonly changes: readonly LeaderChange[];
  /** Leader elections (`to` set) since the watch started. */
  elections(): LeaderChange[];
  stop(): Promise<void>;
}

export function watchCluster(rest: RestEndpoints, initial: ClusterView, now: () => number, intervalMs = 250): ClusterWatch {
  const changes: LeaderChange[] = [];
  let latest: ClusterView | undefined = initial;
  let leader = initial.leader;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const view = await readCluster(rest, 800, latest?.from);
      if (view) {
        latest = view;
        if (view.leader !== leader) {
          changes.push({ atMs: now(), ...(leader ? { from: leader } : {}), ...(view.leader ? { to: view.leader } : {}) });
          leader = view.leader;
        }
      }
      await systemClock.sleep(intervalMs);
    }
  })();
  return {
    latest: () => latest,
    changes,
    elections: () => changes.filter((change) => change.to !== undefined),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
