/**
 * The Patroni cluster through each node's REST API (published on 127.0.0.1): the cluster view
 * Patroni keeps in etcd (`GET /cluster`), planned switchovers, and the dynamic config.
 */
import type { ParityConfig } from '../../../services/config/schema.js';
import { dynamicConfig, PATRONI_REST_PORT, patroniNodes } from '../../../services/topology/patroni.js';
import { engineOf } from './engine-of.js';
import { type ComposeTarget } from './engine.js';
import { ServiceAnswerError } from '../../../services/errors.js';

export interface Member {
  readonly name: string;
  /** `leader`, `replica`, `sync_standby`, … as Patroni says. */
  readonly role: string;
  /** `running`, `streaming`, `starting`, `stopped`, … */
  readonly state: string;
  readonly timeline?: number;
  /** Replication lag in bytes (Patroni's figure), when known. */
  readonly lag?: number;
  /** A changed server parameter waits for a restart (e.g. archive_mode set through the dynamic config). */
  readonly pendingRestart?: boolean;
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

/** Each node's REST API on this host; `portOf` answers the published port of a service (undefined: not running). */
export async function discoverRest(portOf: (service: string, containerPort: number) => Promise<number | undefined>, nodes: readonly string[]): Promise<RestEndpoints> {
  const entries = await Promise.all(nodes.map(async (node) => [node, await portOf(node, PATRONI_REST_PORT)] as const));
  return Object.fromEntries(entries.filter(([, port]) => port !== undefined).map(([node, port]) => [node, `http://127.0.0.1:${port}`]));
}

const fetchJson = async (url: string, timeoutMs: number): Promise<unknown> => {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return response.json();
};

/**
 * The cluster as one node sees it (each reads the same etcd keys, through its own cache). With
 * `prefer`, that node is asked first, so a watch keeps one node's view and doesn't flip between
 * nodes whose caches lag each other; otherwise the first node that answers.
 */
export async function readCluster(rest: RestEndpoints, timeoutMs = 800, prefer?: string): Promise<ClusterView | undefined> {
  if (prefer && rest[prefer]) {
    const view = await readCluster({ [prefer]: rest[prefer] }, Math.min(timeoutMs, 300));
    if (view) return view;
  }
  const attempts = Object.entries(rest).map(async ([node, url]) => {
    const body = (await fetchJson(`${url}/cluster`, timeoutMs)) as { members?: Array<Record<string, unknown>> };
    const members = (body.members ?? []).map((m) => ({
      name: String(m.name),
      role: String(m.role),
      state: String(m.state),
      ...(typeof m.timeline === 'number' ? { timeline: m.timeline } : {}),
      ...(typeof m.lag === 'number' ? { lag: m.lag } : {}),
      ...(m.pending_restart === true ? { pendingRestart: true } : {}),
    }));
    // A standby cluster (a DR region) is led by its standby leader.
    return { members, leader: (members.find((m) => m.role === 'leader') ?? members.find((m) => m.role === 'standby_leader'))?.name, from: node } satisfies ClusterView;
  });
  try {
    return await Promise.any(attempts);
  } catch {
    return undefined;
  }
}

/** True when a member replicates from the leader (Patroni 3.0 says `running`, later versions `streaming`). */
export const isReplicating = (member: Member | undefined): boolean =>
  member !== undefined && member.role !== 'leader' && member.role !== 'standby_leader' && (member.state === 'streaming' || member.state === 'running') && member.lag !== undefined;

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
  if (!response.ok) throw new ServiceAnswerError(`Patroni switchover ${leader} → ${candidate}: HTTP ${response.status}: ${text.trim()}`);
  return text.trim();
}

/**
 * Bring the running cluster's dynamic settings (timings, synchronous mode) in line with the config:
 * `bootstrap.dcs` only applies when a cluster is first created. Returns what changed.
 */
export async function applyDynamicConfig(rest: RestEndpoints, config: ParityConfig): Promise<string[]> {
  const wanted = dynamicConfig(config);
  const keys = ['ttl', 'loop_wait', 'retry_timeout', 'maximum_lag_on_failover', 'synchronous_mode', 'synchronous_mode_strict'] as const;
  const [node, url] = Object.entries(rest)[0] ?? [];
  if (!url) return [];
  const current = (await fetchJson(`${url}/config`, 3000)) as Record<string, unknown>;
  const patch: Record<string, unknown> = Object.fromEntries(keys.filter((key) => current[key] !== wanted[key]).map((key) => [key, wanted[key]]));
  const changes = Object.entries(patch).map(([key, value]) => `${key}: ${String(current[key])} → ${String(value)}`);
  // Server parameters too (e.g. wal_sender_timeout): Patroni reads 'on' back as true, so compare loosely.
  const same = (a: unknown, b: unknown) => String(a === 'on' ? true : a === 'off' ? false : a) === String(b === 'on' ? true : b === 'off' ? false : b);
  const currentParameters = ((current.postgresql as { parameters?: Record<string, unknown> } | undefined)?.parameters ?? {});
  const wantedParameters = (wanted.postgresql as { parameters: Record<string, unknown> }).parameters;
  const parameters = Object.fromEntries(Object.entries(wantedParameters).filter(([key, value]) => !same(currentParameters[key], value)));
  if (Object.keys(parameters).length) {
    patch.postgresql = { parameters };
    changes.push(...Object.entries(parameters).map(([key, value]) => `${key}: ${String(currentParameters[key] ?? 'default')} → ${String(value)}`));
  }
  if (changes.length === 0) return [];
  const response = await fetch(`${url}/config`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch), signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new ServiceAnswerError(`Patroni PATCH ${node} /config: HTTP ${response.status}: ${(await response.text()).trim()}`);
  return changes;
}

/**
 * Restart the members whose server waits for it (Patroni's `pending_restart`): a parameter that
 * needs a restart, changed through the dynamic config, applies only then. An upgraded stack whose
 * cluster predates backups got `archive_mode: on` that way and kept archiving off until someone
 * restarted it by hand. Patroni flags members on its next HA loop after the change, so this waits
 * up to `flagWaitMs` for a flag; replicas go first, one at a time, then the leader (restarted in
 * place: writes pause for the restart, no failover). Returns the members restarted, in order.
 */
export async function restartPending(rest: RestEndpoints, options: { readonly flagWaitMs: number; readonly timeoutMs: number; readonly sleep: (ms: number) => Promise<void> }): Promise<string[]> {
  const pending = async () => (await readCluster(rest, 2000))?.members.filter((m) => m.pendingRestart) ?? [];
  let flagged = await pending();
  for (let waited = 0; flagged.length === 0 && waited < options.flagWaitMs; waited += 500) {
    await options.sleep(500);
    flagged = await pending();
  }
  const order = [...flagged].sort((a, b) => Number(a.role === 'leader') - Number(b.role === 'leader'));
  for (const member of order) {
    const url = rest[member.name];
    if (!url) throw new ServiceAnswerError(`Patroni ${member.name} waits for a restart but its REST API is not published here`);
    const response = await fetch(`${url}/restart`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ restart_pending: true }), signal: AbortSignal.timeout(options.timeoutMs) });
    if (!response.ok) throw new ServiceAnswerError(`Patroni POST ${member.name} /restart: HTTP ${response.status}: ${(await response.text()).trim()}`);
  }
  return order.map((m) => `${m.name} (${m.role})`);
}

/** The HA cluster's REST endpoints on this host (empty without Patroni). */
export async function patroniRest(target: ComposeTarget, config: ParityConfig): Promise<RestEndpoints> {
  if (config.postgres.ha !== 'patroni') return {};
  return discoverRest((service, port) => engineOf(target).publishedPort(service, port), patroniNodes(config));
}
