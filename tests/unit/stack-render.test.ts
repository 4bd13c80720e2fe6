/**
 * The Swarm stack file from the model (services/render/stack.ts): what it maps and how. That the
 * engine's own `docker stack deploy` accepts the committed file is checked in
 * tests/integration/generated-config.test.ts.
 */
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import { parseConfig } from '../../services/config/validate.js';
import { buildTopology } from '../../services/topology/index.js';
import { renderFiles } from '../../services/render/compose.js';
import { APP_REPLICAS, renderStack, renderStackObject, ZONES } from '../../services/render/stack.js';

interface StackService {
  readonly image: string;
  readonly ports?: { target: number; published?: number; mode: string }[];
  readonly configs?: { source: string; target: string }[];
  readonly secrets?: { source: string; target: string; uid: string; mode: number }[];
  readonly volumes?: unknown[];
  readonly networks: unknown;
  readonly deploy: { replicas: number; endpoint_mode: string; placement: { constraints?: string[]; preferences?: unknown[] }; restart_policy: { condition: string }; resources?: { limits: { memory?: string } }; update_config?: { order: string } };
  readonly [key: string]: unknown;
}

const topology = buildTopology(DEFAULT_CONFIG);
const files = renderFiles(topology);
const { stack, problems, leftOut } = renderStackObject(topology, files);
const services = stack.services as Record<string, StackService>;

describe('the Swarm stack file', () => {
  it('GIVEN the default model THEN every service but the front is in the stack, and nothing is left that Swarm cannot express', () => {
    expect(problems).toEqual([]);
    expect(leftOut).toEqual([expect.stringMatching(/^front \(host network/)]);
    expect(Object.keys(services).sort()).toEqual(topology.services.filter((service) => service.networkMode !== 'host').map((service) => service.name).sort());
  });

  it('THEN no service carries a key docker stack deploy refuses or ignores (limits go to deploy.resources, restart to deploy.restart_policy)', () => {
    const refused = ['mem_limit', 'cpus', 'dns_opt', 'security_opt', 'depends_on', 'restart', 'tmpfs', 'network_mode', 'container_name', 'profiles'];
    for (const [name, service] of Object.entries(services)) expect({ name, keys: Object.keys(service).filter((key) => refused.includes(key)) }).toEqual({ name, keys: [] });
  });

  it('THEN every service is dnsrr, and published ports are host mode without a host address (no IPVS on this kernel)', () => {
    for (const service of Object.values(services)) {
      expect(service.deploy.endpoint_mode).toBe('dnsrr');
      for (const port of service.ports ?? []) expect(port).toMatchObject({ mode: 'host' });
    }
    // The front reaches Traefik on the node's published entrypoints.
    expect(services.traefik!.ports!.map((port) => port.published)).toEqual(expect.arrayContaining([8443, 8444, 8000]));
  });

  it('THEN the apps run replicated and spread over the zones, updating start-first; stateful services one replica each, pinned to a zone', () => {
    for (const name of ['events-blue', 'events-green', 'frontend-blue', 'auth']) {
      expect(services[name]!.deploy).toMatchObject({ replicas: APP_REPLICAS, placement: { preferences: [{ spread: 'node.labels.zone' }] }, update_config: { order: 'start-first' } });
    }
    const zones = ['postgres-1', 'postgres-2', 'postgres-3'].map((name) => services[name]!.deploy);
    for (const deploy of zones) expect(deploy.replicas).toBe(1);
    const pinned = zones.map((deploy) => deploy.placement.constraints![0]);
    for (const constraint of pinned) expect(ZONES.map((zone) => `node.labels.zone == ${zone}`)).toContain(constraint);
    // The three etcd members, like the three Patroni nodes, land in three different zones.
    expect(new Set(['etcd-1', 'etcd-2', 'etcd-3'].map((name) => services[name]!.deploy.placement.constraints![0])).size).toBe(3);
  });

  it("THEN the data tier's stateless proxies (HAProxy's endpoints, Toxiproxy) are replicated like the apps: one of them on a lost node must not cut the apps off their stores", () => {
    for (const name of ['postgres-writer', 'postgres-reader', 'toxiproxy']) expect(services[name]!.deploy).toMatchObject({ replicas: APP_REPLICAS, placement: { preferences: [{ spread: 'node.labels.zone' }] } });
    for (const name of ['redis', 's3', 'prometheus']) expect(services[name]!.deploy.replicas).toBe(1);
  });

  it("THEN Traefik runs on every node (global), so the front balances over the nodes and losing one loses no entry", () => {
    expect(services.traefik!.deploy).toMatchObject({ mode: 'global', endpoint_mode: 'dnsrr' });
    expect(services.traefik!.deploy).not.toHaveProperty('replicas');
  });

  it("THEN an etcd member's check on Swarm asks only that its peer port listens (a task is found by name once healthy, and etcd answers /health only once its peers found it); compose keeps /health", () => {
    const test = (services['etcd-1']!.healthcheck as { test: string[] }).test.join(' ');
    expect(test).toContain('/dev/tcp/127.0.0.1/2380');
    expect(test).not.toContain('/health');
    const compose = topology.services.find((service) => service.name === 'etcd-1')!.healthcheck.test.join(' ');
    expect(compose).toContain('GET /health');
  });

  it('THEN a job restarts on failure only (it runs to completion once); memory limits are deploy limits', () => {
    expect(services['db-init']!.deploy.restart_policy.condition).toBe('on-failure');
    expect(services.traefik!.deploy.resources!.limits.memory).toBe('512m');
  });

  it('THEN bind mounts are configs, one per file the model renders there; the TLS key a secret; secrets go to their reader uid, 0400', () => {
    const patroni = services['postgres-1']!;
    expect(patroni.configs).toEqual(expect.arrayContaining([{ source: 'patroni_patroni.yml', target: '/etc/parity/patroni/patroni.yml' }]));
    expect(patroni.secrets).toEqual(expect.arrayContaining([{ source: 'postgres_password', target: 'postgres_password', uid: '999', gid: '999', mode: 0o400 }]));
    const configs = stack.configs as Record<string, { file: string }>;
    for (const service of Object.values(services)) for (const config of service.configs ?? []) expect(configs[config.source], config.source).toBeDefined();
    expect(services.traefik!.secrets).toEqual(expect.arrayContaining([expect.objectContaining({ source: 'state_tls_key.pem', target: '/etc/traefik/tls/key.pem', mode: 0o400 })]));
    expect(services.traefik!.volumes).toEqual(expect.arrayContaining([{ type: 'tmpfs', target: '/tmp' }]));
  });

  it('THEN networks are attachable overlays, and the front network (the host front reaches Traefik on its ports) is not one of them', () => {
    expect(stack.networks).toEqual({ edge: { driver: 'overlay', attachable: true }, apps: { driver: 'overlay', attachable: true }, data: { driver: 'overlay', attachable: true }, monitoring: { driver: 'overlay', attachable: true } });
  });

  it("GIVEN a health check with a shell $( THEN the stack has $$ (the stack loader refuses a bare $), a $$ stays, an intended ${…} stays", () => {
    const minimal = buildTopology(parseConfig('profile: minimal\n'));
    const rendered = renderStackObject(minimal, renderFiles(minimal)).stack.services as Record<string, { healthcheck: { test: string[] }; image: string }>;
    const replica = rendered['postgres-replica']!.healthcheck.test.join(' ');
    expect(replica).toContain('"$$(psql');
    expect(replica).not.toMatch(/(?<!\$)\$\(/);
    const already = Object.values(services).map((service) => ((service.healthcheck as { test?: string[] }).test ?? []).join(' ')).find((test) => test.includes('REDISCLI_AUTH'));
    expect(already).toContain('REDISCLI_AUTH="$$(cat');
    expect(rendered['events-blue']!.image).toMatch(/^\$\{PARITY_IMAGE_BLUE:-/);
  });

  it('THEN the file says how it differs from compose.yaml, and parses back to the same object', () => {
    const text = renderStack(topology, files);
    expect(text).toMatch(/^# GENERATED by `make gen`/);
    expect(text).toContain('# Not in the stack: front (host network');
    expect(parse(text)).toEqual(JSON.parse(JSON.stringify(stack)));
  });
});
