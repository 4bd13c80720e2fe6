/**
 * The local multi-node cluster (`make cluster-up`): N docker-in-docker Swarm nodes on one bridge
 * of their own, one per zone, all managers, and the front on the host in front of them. Pure:
 * names, addresses and each node's engine config, from the config. The runner
 * (scripts/runners/cluster/) starts them; services/render/stack.ts renders what runs on them.
 *
 * Addresses: a /24 in 10.214.0.0/16 picked by the users' https port (as the front network is), the
 * host's end of the bridge at .1, node i at .(11+i). Inside a node, its engine's own bridges take
 * 10.216.(4i).0/22 and Swarm's overlays 10.217.0.0/16, so no inner network shadows an outer one.
 */
import type { ParityConfig } from '../config/schema.js';

/** The zones the nodes carry (`node.labels.zone`), one node each; the stack spreads over them. */
export const ZONES = ['zone-a', 'zone-b', 'zone-c'] as const;
export type Zone = (typeof ZONES)[number];

/** Nodes a cluster may have: one per zone. */
export const MAX_NODES = ZONES.length;
/** Swarm's overlay networks (`docker swarm init --default-addr-pool`). */
export const OVERLAY_POOL = { base: '10.217.0.0/16', maskLength: 24 } as const;
/**
 * How often nodes report to the managers (`--dispatcher-heartbeat`). Swarm marks a node down after
 * about three missed beats: ~15 s with its default 5 s, ~3 s with 1 s (measured: docs/scale-out.md).
 */
export const DISPATCHER_HEARTBEAT = '1s';

export interface ClusterNode {
  /** The container's name, and its engine's host name (`docker node ls`). */
  readonly name: string;
  readonly zone: Zone;
  /** Its fixed address on the cluster bridge: the front and the other nodes reach it there. */
  readonly address: string;
  /** The volume holding its engine's data (`/var/lib/docker`: images, the swarm's state, the tasks' volumes). */
  readonly volume: string;
  /** Its cgroup parent on the host: every task's cgroup is under it, and it goes with the node. */
  readonly cgroupParent: string;
}

export interface ClusterNetwork {
  readonly name: string;
  readonly subnet: string;
  /** The host's address on the bridge: where the front's connections come from. */
  readonly gateway: string;
}

/** The cluster's containers, networks and volumes carry it. */
export const CLUSTER_LABEL = 'dev.parity.cluster';

export function clusterNetwork(config: ParityConfig, project: string): ClusterNetwork {
  const slot = config.ports.https % 256;
  return { name: `${project}-cluster`, subnet: `10.214.${slot}.0/24`, gateway: `10.214.${slot}.1` };
}

/** The cluster's nodes, zone by zone: `count` of them (1 to MAX_NODES). */
export function clusterNodes(config: ParityConfig, project: string, count: number = MAX_NODES): ClusterNode[] {
  const prefix = clusterNetwork(config, project).subnet.replace(/\.0\/24$/, '');
  return ZONES.slice(0, count).map((zone, index) => ({
    name: `${project}-node-${zone.slice('zone-'.length)}`,
    zone,
    address: `${prefix}.${11 + index}`,
    volume: `${project}-node-${zone.slice('zone-'.length)}-engine`,
    cgroupParent: `/${project}-node-${zone.slice('zone-'.length)}`,
  }));
}

/** A node's engine config (`daemon.json`): its socket where the runner reaches it, its pools, its cgroup parent. */
export function nodeDaemonConfig(node: ClusterNode, index: number): object {
  return {
    hosts: ['unix:///run/parity-node/docker.sock'],
    'storage-driver': 'overlay2',
    'cgroup-parent': node.cgroupParent,
    'default-address-pools': [{ base: `10.216.${index * 4}.0/22`, size: 24 }],
    'log-driver': 'json-file',
    'log-opts': { 'max-size': '10m', 'max-file': '2' },
  };
}

/**
 * NODES as given on the command line: a whole number from 1 to MAX_NODES. Returns the problem in
 * words, or the number.
 */
export function parseNodeCount(value: string | undefined): number | string {
  if (value === undefined || value === '') return MAX_NODES;
  if (!/^\d+$/.test(value.trim())) return `NODES=${value}: expected a whole number of nodes from 1 to ${MAX_NODES} (one per zone: ${ZONES.join(', ')})`;
  const count = Number(value.trim());
  if (count < 1 || count > MAX_NODES) return `NODES=${value}: expected 1 to ${MAX_NODES} nodes (one per zone: ${ZONES.join(', ')}); a fourth zone isn't modelled`;
  return count;
}

/** Where the cluster's front keeps its runtime API (a folder the runner mounts), for a drain. */
export const FRONT_ADMIN_DIR = '/run/parity-front';
export const FRONT_ADMIN_SOCKET = `${FRONT_ADMIN_DIR}/admin.sock`;
/** The cluster front's global lines: its runtime API, so a node can be drained from it first. */
export const CLUSTER_FRONT_GLOBAL = [`  stats socket ${FRONT_ADMIN_SOCKET} mode 600 level admin`];

/**
 * The front's backends on the cluster: every possible node (absent ones are marked down by the
 * health check), balanced by the client's address so one client stays on one node's Traefik (its
 * rate-limit bucket lives there). Checked every 500 ms (down after two misses), and watched in the
 * users' own traffic (`observe layer4`): the first connection a node fails marks it down at once. A
 * connection that can't be made within 300 ms is tried again on another node (redispatch on every
 * retry), and the sessions of a node marked down are closed at once (a lost node answers nothing:
 * they would hang). Measured (docs/scale-out.md): with one retry on the same node first and checks
 * alone, a lost node cost 1.6 % of users' requests at 35 req/s. The PROXY header as on one engine.
 */
export function clusterFrontBackend(config: ParityConfig, name: string, port: number): string[] {
  return [
    '',
    `backend ${name}`,
    '  balance source',
    '  hash-type consistent',
    '  option redispatch 1',
    '  retries 3',
    '  timeout connect 300ms',
    '  default-server inter 500ms fastinter 250ms downinter 1s fall 2 rise 2 observe layer4 error-limit 1 on-error mark-down send-proxy-v2 check on-marked-down shutdown-sessions',
    ...clusterNodes(config, 'front').map((node) => `  server ${node.zone} ${node.address}:${port}`),
  ];
}
