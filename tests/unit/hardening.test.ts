import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../services/config/validate.js';
import { buildTopology } from '../../services/topology/index.js';
import { renderAll } from '../../services/render/compose.js';
import { MAX_SLOT_WAL_KEEP_SIZE } from '../../services/topology/common.js';
import { networksOf } from '../../services/topology/types.js';

type ComposeService = { command?: string[]; networks?: string[] | Record<string, { aliases: string[] }> };
const rendered = (yaml: string) => renderAll(buildTopology(parseConfig(yaml)));
const composeOf = (yaml: string) => parse(rendered(yaml).get('compose.yaml')!.content) as { services: Record<string, ComposeService> };

describe('hardening: Postgres', () => {
  it('bounds the WAL a replication slot may hold, in Patroni\'s dynamic config and on the plain primary', () => {
    const patroni = parse(rendered('').get('patroni/patroni.yml')!.content) as { bootstrap: { dcs: { postgresql: { parameters: Record<string, unknown> } } } };
    expect(patroni.bootstrap.dcs.postgresql.parameters.max_slot_wal_keep_size).toBe(MAX_SLOT_WAL_KEEP_SIZE);
    const primary = composeOf('profile: minimal\npostgres:\n  ha: streaming\n').services['postgres-primary']!;
    expect(primary.command).toContain(`max_slot_wal_keep_size=${MAX_SLOT_WAL_KEEP_SIZE}`);
  });
});

describe('hardening: networks', () => {
  const everything = 'profile: full\nservices:\n  grafana:\n    enabled: true\nchaos:\n  enabled: true\nbackup:\n  enabled: true\n';
  const topology = buildTopology(parseConfig(everything));
  const on = (network: string) => topology.services.filter((service) => networksOf(service).includes(network as never)).map((service) => service.name).sort();

  it('the edge network holds Traefik only: no data service (nor Toxiproxy in front of them) is reachable from it', () => {
    expect(on('edge')).toEqual(['traefik']);
    for (const service of topology.services.filter((s) => s.tier === 'data')) expect(networksOf(service), service.name).not.toContain('edge');
  });

  it('Traefik on edge + apps, the apps on apps + data, the data services on data, monitoring on monitoring plus what it scrapes', () => {
    const of = (name: string) => networksOf(topology.services.find((service) => service.name === name)!);
    expect(of('traefik')).toEqual(['edge', 'apps']);
    for (const name of ['auth', 'ivor-blue', 'frontend-green']) expect(of(name), name).toEqual(['apps', 'data']);
    for (const name of ['postgres-1', 'etcd-1', 'postgres-writer', 'redis', 's3']) expect(of(name), name).toEqual(['data']);
    expect(of('prometheus')).toEqual(['monitoring', 'apps', 'data']);
    for (const name of ['postgres-exporter', 'redis-exporter']) expect(of(name), name).toEqual(['monitoring', 'data']);
    for (const name of ['grafana', 'alertmanager', 'alert-receiver', 'node-exporter']) expect(of(name), name).toEqual(['monitoring']);
    expect(of('toxiproxy')).toEqual(['apps', 'data']);
  });

  it('every scrape target shares a network with Prometheus', () => {
    const config = parse(rendered(everything).get('prometheus/prometheus.yml')!.content) as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> };
    const prometheus = networksOf(topology.services.find((service) => service.name === 'prometheus')!);
    const hosts = config.scrape_configs.flatMap((job) => job.static_configs.flatMap((group) => group.targets.map((target) => target.split(':')[0]!))).filter((host) => host !== 'localhost');
    expect(hosts.length).toBeGreaterThan(15);
    for (const host of hosts) {
      const service = topology.services.find((candidate) => candidate.name === host);
      expect(service, host).toBeDefined();
      expect(networksOf(service!).some((network) => prometheus.includes(network)), host).toBe(true);
    }
  });

  it('compose declares the networks it uses, project-relative (no fixed names), and no default network', () => {
    const compose = parse(rendered(everything).get('compose.yaml')!.content) as { networks: Record<string, object>; services: Record<string, ComposeService> };
    expect(compose.networks).toEqual({ edge: {}, apps: {}, data: {}, monitoring: {} });
    for (const [name, service] of Object.entries(compose.services)) expect(service.networks, name).toBeDefined();
  });

  it('GIVEN a DR region THEN the aliases the link reaches are on every network of their service', () => {
    const compose = parse(rendered('profile: minimal\npostgres:\n  ha: patroni\n  nodes: 2\nbackup:\n  enabled: true\ndr:\n  enabled: true\n').get('compose.yaml')!.content) as { services: Record<string, ComposeService> };
    expect(compose.services['postgres-writer']!.networks).toEqual({ data: { aliases: ['primary-postgres'] } });
    expect(compose.services.traefik!.networks).toEqual({ edge: { aliases: ['primary-traefik'] }, apps: { aliases: ['primary-traefik'] } });
  });
});
