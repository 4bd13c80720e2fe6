/**
 * The Patroni cluster as the drills see it: each node's REST API (published on 127.0.0.1),
 * the cluster view Patroni keeps in etcd (`GET /cluster`), planned switchovers, and the few
 * docker operations the faults need (kill, stop, start, disconnect from the network).
 */
import { PATRONI_REST_PORT } from '../../../services/topology/patroni.js';
import { tryRun } from '../exec.js';
import { compose, tryCompose, type ComposeTarget } from '../stack.js';

export interface Member {
  readonly name: string;
  /** `leader`, `replica`, `sync_standby`, … as Patroni says. */
  readonly role: string;
  /** `running`, `streaming`, `starting`, `stopped`, … */
  readonly state: string;
  readonly timeline?: number;
  /** Replication lag in bytes (Patroni's figure), when known. */
  readonly lag?: number;
}

export interface ClusterView {
  readonly members: readonly Member[];
  /** The member holding the leader key, if any. */
  readonly leader?: string;
  /** Which node answered. */
  readonly from: string;
}

/** A node's REST base URL on this host, per compose service (`postgres-1` → `http://127.0.0.1:49153`). */
export type RestEndpoints = Readonly<Record<string, string>>;

export async function discoverRest(target: ComposeTarget, nodes: readonly string[]): Promise<RestEndpoints> {
  const entries = await Promise.all(
    nodes.map(async (node) => {
      const out = await tryCompose(target, ['port', node, String(PATRONI_REST_PORT)]);
      const port = out.stdout.trim().split('\n')[0]?.split(':').at(-1);
      return [node, port ? `http://127.0.0.1:${port}` : ''] as const;
    }),
  );
  return Object.fromEntries(entries.filter(([, url]) => url));
}

const fetchJson = async (url: string, timeoutMs: number): Promise<unknown> => {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return response.json();
};

/** The cluster as the first node that answers sees it (each node reads the same etcd keys). */
export async function readCluster(rest: RestEndpoints, timeoutMs = 800): Promise<ClusterView | undefined> {
  const attempts = Object.entries(rest).map(async ([node, url]) => {
    const body = (await fetchJson(`${url}/cluster`, timeoutMs)) as { members?: Array<Record<string, unknown>> };
    const members = (body.members ?? []).map((m) => ({
      name: String(m.name),
      role: String(m.role),
      state: String(m.state),
      ...(typeof m.timeline === 'number' ? { timeline: m.timeline } : {}),
      ...(typeof m.lag === 'number' ? { lag: m.lag } : {}),
    }));
    return { members, leader: members.find((m) => m.role === 'leader')?.name, from: node } satisfies ClusterView;
  });
  try {
    return await Promise.any(attempts);
  } catch {
    return undefined;
  }
}

/** True when a member replicates from the leader (Patroni 3.0 says `running`, later versions `streaming`). */
export const isReplicating = (member: Member | undefined): boolean =>
  member !== undefined && member.role !== 'leader' && (member.state === 'streaming' || member.state === 'running') && member.lag !== undefined;

/** A healthy cluster: one leader, every other expected node replicating. */
export function clusterHealthy(view: ClusterView | undefined, nodes: readonly string[]): boolean {
  if (!view?.leader) return false;
  return nodes.every((node) => node === view.leader || isReplicating(view.members.find((m) => m.name === node)));
}

/** A planned switchover through Patroni's REST API (on the leader). */
export async function switchover(rest: RestEndpoints, leader: string, candidate: string): Promise<string> {
  const response = await fetch(`${rest[leader]}/switchover`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ leader, candidate }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`switchover ${leader} → ${candidate}: HTTP ${response.status}: ${text.trim()}`);
  return text.trim();
}

/** The container id of a compose service. */
export async function containerOf(target: ComposeTarget, service: string): Promise<string> {
  const id = (await compose(target, ['ps', '-aq', service])).trim().split('\n')[0];
  if (!id) throw new Error(`no container for ${service} in project ${target.project}`);
  return id;
}

/** `docker <args>`; the result, never an exception (callers decide). */
export const docker = (args: readonly string[]) => tryRun(['docker', ...args]);

/** Is the node's Postgres writable? Asked on its own unix socket, so it works while it is cut off the network. */
export async function localWritable(container: string, user: string, database: string): Promise<boolean | undefined> {
  const result = await docker(['exec', container, 'psql', '-h', '/var/run/postgresql', '-U', user, '-d', database, '-tAc', 'SELECT NOT pg_is_in_recovery()']);
  if (result.code !== 0) return undefined;
  return result.stdout.trim() === 't';
}
