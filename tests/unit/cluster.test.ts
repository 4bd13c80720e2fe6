/**
 * The local cluster (services/topology/cluster.ts) and the node drill's judgement
 * (services/drills/node.ts), pure: names, addresses, each node's engine config, the front in front
 * of the nodes, NODES as typed, and the drill's figures against drills.node.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import { parseConfig } from '../../services/config/validate.js';
import { nodeFigures } from '../../services/drills/node.js';
import type { Sample } from '../../services/drills/model.js';
import { judgeFigures } from '../../services/drills/model.js';
import { buildTopology } from '../../services/topology/index.js';
import { renderFiles } from '../../services/render/compose.js';
import { clusterNetwork, clusterNodes, MAX_NODES, nodeDaemonConfig, parseNodeCount, ZONES } from '../../services/topology/cluster.js';
import { traefikStaticConfig } from '../../services/topology/traefik.js';

describe('the cluster plan', () => {
  it('GIVEN NODES THEN 1 to 3 whole nodes are accepted (3 when unset), anything else is named with what was expected', () => {
    expect(parseNodeCount(undefined)).toBe(MAX_NODES);
    expect(parseNodeCount('2')).toBe(2);
    expect(parseNodeCount('0')).toMatch(/NODES=0: expected 1 to 3 nodes \(one per zone: zone-a, zone-b, zone-c\)/);
    expect(parseNodeCount('4')).toMatch(/NODES=4: expected 1 to 3/);
    expect(parseNodeCount('two')).toMatch(/NODES=two: expected a whole number of nodes from 1 to 3/);
  });

  it('THEN each node has its zone, a fixed address on a /24 of its own, its volume and its own cgroup parent; the host is .1', () => {
    const network = clusterNetwork(DEFAULT_CONFIG, 'parity');
    const nodes = clusterNodes(DEFAULT_CONFIG, 'parity');
    expect(network).toEqual({ name: 'parity-cluster', subnet: `10.214.${DEFAULT_CONFIG.ports.https % 256}.0/24`, gateway: `10.214.${DEFAULT_CONFIG.ports.https % 256}.1` });
    expect(nodes.map((node) => [node.name, node.zone, node.address.split('.').at(-1), node.volume, node.cgroupParent])).toEqual([
      ['parity-node-a', 'zone-a', '11', 'parity-node-a-engine', '/parity-node-a'],
      ['parity-node-b', 'zone-b', '12', 'parity-node-b-engine', '/parity-node-b'],
      ['parity-node-c', 'zone-c', '13', 'parity-node-c-engine', '/parity-node-c'],
    ]);
    expect(clusterNodes(DEFAULT_CONFIG, 'parity', 2).map((node) => node.zone)).toEqual(['zone-a', 'zone-b']);
  });

  it("THEN no two nodes' engines take the same inner address pool, and none overlaps the cluster's bridge or Swarm's overlays", () => {
    const pools = clusterNodes(DEFAULT_CONFIG, 'parity').map((node, index) => (nodeDaemonConfig(node, index) as { 'default-address-pools': { base: string }[] })['default-address-pools'][0]!.base);
    expect(new Set(pools).size).toBe(pools.length);
    for (const pool of pools) expect(pool).toMatch(/^10\.216\./);
  });

  it("THEN the cluster front balances each client to one node by its address, redispatches a failed connection, drops a node on its users' first failed connection, and keeps the PROXY header", () => {
    const front = renderFiles(buildTopology(DEFAULT_CONFIG)).find((file) => file.path === 'front/cluster.cfg')!.content;
    expect(front).toContain('stats socket /run/parity-front/admin.sock mode 600 level admin');
    const backend = front.slice(front.indexOf('backend traefik-public\n'));
    expect(backend).toMatch(/balance source\n {2}hash-type consistent\n {2}option redispatch 1\n/);
    expect(backend).toContain('observe layer4 error-limit 1 on-error mark-down send-proxy-v2 check on-marked-down shutdown-sessions');
    for (const node of clusterNodes(DEFAULT_CONFIG, 'parity')) expect(backend).toContain(`server ${node.zone} ${node.address}:8443`);
    // Traefik believes the PROXY header from the host's end of the cluster's bridge too.
    const trusted = (traefikStaticConfig(DEFAULT_CONFIG) as { entryPoints: { public: { proxyProtocol: { trustedIPs: string[] } } } }).entryPoints.public.proxyProtocol.trustedIPs;
    expect(trusted).toContain(`${clusterNetwork(DEFAULT_CONFIG, 'parity').gateway}/32`);
  });

  it('THEN there is one zone per node the stack spreads over', () => {
    expect(ZONES).toHaveLength(MAX_NODES);
  });
});

const api = (atMs: number, outcome: Sample['outcome'], seq?: number): Sample => ({ atMs, lane: 'api', outcome, latencyMs: 10, ...(seq !== undefined ? { seq } : {}) });

describe('the node drill judgement', () => {
  const budgets = DEFAULT_CONFIG.drills.node;

  it('GIVEN the defaults THEN a lost node may cost 0.1 % of requests, a drain none, and replicas are back within 30 s', () => {
    expect(budgets).toEqual({ lostFailedPercent: 0.1, drainFailed: 0, replicasBackSeconds: 30 });
  });

  it('GIVEN a lost node with 2 of 1000 requests failed THEN the failed share is judged in percent, and the front and Swarm moments are figures', () => {
    const samples = [...Array.from({ length: 998 }, (_, index) => api(index * 10, 'ok')), api(5000, 'failed'), api(5010, 'failed')];
    const figures = judgeFigures(nodeFigures({ scenario: 'lose-node', faultAtMs: 4000, samples, apiWriteTimes: new Set(), frontDownAtMs: 4900, nodeGoneAtMs: 7400, replicasBackAtMs: 12_000, loadEndMs: 10_000, ackedWritesLost: 0 }, budgets));
    const failed = figures.find((figure) => figure.name === "users' requests failed")!;
    expect(failed).toMatchObject({ value: 0.2, unit: 'percent', pass: false });
    expect(failed.reason).toMatch(/0\.20 % > budget 0\.10 %.*2 of 1000/);
    expect(figures.find((figure) => figure.name.startsWith('front noticed'))!.value).toBe(900);
    expect(figures.find((figure) => figure.name.startsWith('Swarm marked'))!.value).toBe(3400);
    expect(figures.find((figure) => figure.name === 'replicas back at desired')).toMatchObject({ value: 8000, pass: true });
  });

  it('GIVEN a drain with one failed request THEN it fails its budget of none; replicas that never came back fail as never measured', () => {
    const figures = judgeFigures(nodeFigures({ scenario: 'drain-node', faultAtMs: 1000, samples: [api(0, 'ok'), api(2000, 'failed')], apiWriteTimes: new Set(), loadEndMs: 5000, ackedWritesLost: null }, budgets));
    expect(figures.find((figure) => figure.name === "users' requests failed")).toMatchObject({ value: 1, unit: 'count', pass: false });
    expect(figures.find((figure) => figure.name === 'replicas back at desired')).toMatchObject({ value: null, pass: false });
    expect(figures.some((figure) => figure.name.startsWith('front noticed'))).toBe(false);
  });

  it('GIVEN writes THEN the longest gap between two acknowledged writes is a figure; none acknowledged is "not measured", not NaN', () => {
    const writes = [api(0, 'ok', 1), api(200, 'failed', 2), api(1200, 'ok', 3)];
    const figure = (samples: Sample[]) => nodeFigures({ scenario: 'lose-zone', faultAtMs: 100, samples, apiWriteTimes: new Set(samples.map((sample) => sample.atMs)), loadEndMs: 1300, ackedWritesLost: 0 }, budgets).find((f) => f.name.startsWith('longest gap'))!.value;
    expect(figure(writes)).toBe(1200);
    expect(figure([api(0, 'failed', 1)])).toBeNull();
  });

  it('GIVEN drills.node in parity.yaml THEN it is validated like the other budgets', () => {
    expect(() => parseConfig('drills:\n  node:\n    lostFailedPercent: 200\n')).toThrow(/drills\.node\.lostFailedPercent/);
    expect(parseConfig('drills:\n  node:\n    lostFailedPercent: 2\n').drills.node).toEqual({ ...budgets, lostFailedPercent: 2 });
  });
});
