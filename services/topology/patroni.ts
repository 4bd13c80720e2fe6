/**
 * Postgres high availability: three etcd members (Patroni's consensus store; a quorum survives
 * the loss of one), `postgres.nodes` Patroni nodes (`postgres-1` … `postgres-N`), and two HAProxy
 * endpoints that follow Patroni's REST checks: `postgres-writer:5432` (the leader only, `/primary`)
 * and `postgres-reader:5432` (healthy replicas, `/replica`; the leader when no replica is healthy).
 */
import type { ParityConfig } from '../config/schema.js';
import { DATABASE, MAX_SLOT_WAL_KEEP_SIZE, hostFor, publish } from './common.js';
import type { AlertRule } from './alerting.js';
import { httpHealth, tcpHealth, type FileSpec, type ServiceSpec } from './types.js';
import { agentEnvironment, archiveParameters, backupFiles, backupScrapeJob, backupSecrets, RESTORE_COMMAND } from './backup.js';
import { hasDr, regionAlias, standbySource, type Region } from './region.js';

/** Patroni's REST API (health, role checks for HAProxy, /cluster, /switchover, /metrics). */
export const PATRONI_REST_PORT = 8008;
/** HAProxy's own port: `GET /health` (503 while the writer has no leader) and `/metrics`. */
export const HAPROXY_ADMIN_PORT = 8404;
export const ETCD_CLIENT_PORT = 2379;
/** Toxiproxy's API; with `postgres.dcsProxy` it forwards `toxiproxy:2379N` to `etcd-N:2379`. */
export const TOXIPROXY_API_PORT = 8474;
/** The Toxiproxy listener in front of an etcd member (`etcd-2` → 23792). */
export const etcdProxyPort = (member: string): number => ETCD_CLIENT_PORT * 10 + Number(member.split('-').at(-1));
const ETCD_PEER_PORT = 2380;
export const ETCD_MEMBERS = ['etcd-1', 'etcd-2', 'etcd-3'] as const;
/**
 * One name for every etcd member on the data network (Docker's DNS answers with all their
 * addresses): Patroni's bootstrap address. See `patroniConfig` for why it is not the three names.
 */
export const ETCD_ALIAS = 'etcd';
/** Patroni's cluster name (`scope`): its keys in etcd live under /parity/<scope>/. */
export const PATRONI_SCOPE = 'parity';
const PG_DATA = '/var/lib/postgresql/data';

/** `postgres-1` … `postgres-N`. */
export const patroniNodes = (config: ParityConfig): string[] => Array.from({ length: config.postgres.nodes }, (_, index) => `postgres-${index + 1}`);

export function etcdServices(image: string): ServiceSpec[] {
  const cluster = ETCD_MEMBERS.map((member) => `${member}=http://${member}:${ETCD_PEER_PORT}`).join(',');
  return ETCD_MEMBERS.map((member) => ({
    name: member,
    logical: 'etcd',
    copyOf: 'etcd',
    tier: 'data',
    image,
    command: [
      'etcd',
      `--name=${member}`,
      '--data-dir=/var/lib/etcd/data',
      `--listen-client-urls=http://0.0.0.0:${ETCD_CLIENT_PORT}`,
      `--advertise-client-urls=http://${member}:${ETCD_CLIENT_PORT}`,
      `--listen-peer-urls=http://0.0.0.0:${ETCD_PEER_PORT}`,
      `--initial-advertise-peer-urls=http://${member}:${ETCD_PEER_PORT}`,
      `--initial-cluster=${cluster}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=${PATRONI_SCOPE}`,
      // Losing the etcd leader stops every request until a new one is elected: followers wait one
      // election timeout (randomised up to twice that) without a heartbeat, then vote. Patroni's
      // leader must get its lease refreshed within retry_timeout (2 s) or it demotes itself; with
      // etcd's default 1 s that election took up to ~2 s here and sometimes demoted a healthy
      // leader (write errors, no failover). 500 ms keeps the election well inside retry_timeout;
      // the heartbeat stays at a tenth of it (etcd's rule), far above this bridge's round trip.
      '--heartbeat-interval=50',
      '--election-timeout=500',
      '--auto-compaction-retention=1h',
    ],
    volumes: [`${member}:/var/lib/etcd`],
    aliases: [ETCD_ALIAS],
    healthcheck: { ...httpHealth(ETCD_CLIENT_PORT, '/health'), interval: '2s' },
    // etcd 3.4 serves clients only once the cluster has a leader, and a Swarm task is found by
    // name only once healthy: on Swarm, healthy means the peer port listens.
    peerHealthcheck: tcpHealth(ETCD_PEER_PORT, { interval: '2s' }),
  }));
}

export function patroniServices(config: ParityConfig, image: string, region: Region = 'primary'): ServiceSpec[] {
  return patroniNodes(config).map((node) => ({
    name: node,
    logical: 'postgres',
    copyOf: 'postgres',
    tier: 'data',
    image,
    // The image's entrypoint (secrets from files, stale postmaster.pid cleared) runs Patroni with this file.
    // Failing back, an empty node bootstraps once from patroni-standby.yml, named by a marker in its volume (the entrypoint's).
    command: ['/etc/parity/patroni/patroni.yml'],
    environment: {
      POSTGRES_DB: DATABASE.name,
      PATRONI_NAME: node,
      PATRONI_RESTAPI_CONNECT_ADDRESS: `${node}:${PATRONI_REST_PORT}`,
      PATRONI_POSTGRESQL_CONNECT_ADDRESS: `${node}:5432`,
      PATRONI_SUPERUSER_PASSWORD_FILE: '/run/secrets/postgres_password',
      PATRONI_REPLICATION_PASSWORD_FILE: '/run/secrets/replication_password',
      ...(config.backup.enabled ? agentEnvironment(config, region) : {}),
    },
    // The REST API on an ephemeral loopback port: drills and `make status` read /cluster there.
    ports: [{ bind: '127.0.0.1', container: PATRONI_REST_PORT }],
    volumes: [`${node}:${PG_DATA}`, './patroni:/etc/parity/patroni:ro', ...(config.backup.enabled ? ['./pgbackrest:/etc/pgbackrest:ro'] : [])],
    secrets: ['postgres_password', 'replication_password', ...(config.backup.enabled ? backupSecrets(config) : [])],
    dnsOptions: ['timeout:1', 'attempts:1'],
    dependsOn: Object.fromEntries([...ETCD_MEMBERS, ...(config.postgres.dcsProxy ? ['toxiproxy'] : []), ...(config.backup.enabled ? ['s3'] : [])].map((member) => [member, 'service_healthy'])),
    // 200 once Postgres runs on this node, as leader or replica.
    healthcheck: { ...httpHealth(PATRONI_REST_PORT, '/health'), interval: '2s', startPeriod: '30s' },
  }));
}

/** The two HAProxy endpoints; each publishes its port on the host (`ports.postgres`, `ports.postgresReplica`). */
export function haproxyServices(config: ParityConfig, image: string, region: Region = 'primary'): ServiceSpec[] {
  const endpoint = (name: 'postgres-writer' | 'postgres-reader', hostPort: number, what: string): ServiceSpec => ({
    name,
    logical: name,
    tier: 'data',
    image,
    // The image's entrypoint adds -W -db (master-worker, foreground).
    command: ['-f', `/usr/local/etc/haproxy/${name}.cfg`],
    ports: [publish(config, hostPort, 5432)],
    volumes: ['./haproxy:/usr/local/etc/haproxy:ro'],
    dependsOn: Object.fromEntries(patroniNodes(config).map((node) => [node, 'service_started'])),
    healthcheck: { ...httpHealth(HAPROXY_ADMIN_PORT, '/health'), interval: '2s', startPeriod: '60s' },
    url: `postgresql://${DATABASE.user}@${hostFor(config, name)}:${hostPort}/${DATABASE.name} (${what})`,
    // The other region's standby cluster streams from this writer, through the link.
    ...(hasDr(config) && name === 'postgres-writer' ? { aliases: [regionAlias(region, 'postgres')] } : {}),
  });
  return [endpoint('postgres-writer', config.ports.postgres, 'writer: the Patroni leader'), endpoint('postgres-reader', config.ports.postgresReplica, 'reader: replicas, else the leader')];
}

/** Patroni's config, shared by every node (each node's name and addresses come from its environment). */
export function patroniConfig(config: ParityConfig, region: Region = 'primary', standby = false): object {
  return {
    scope: PATRONI_SCOPE,
    namespace: '/parity/',
    restapi: { listen: `0.0.0.0:${PATRONI_REST_PORT}` },
    // Through Toxiproxy, Patroni must use the hosts as given (use_proxies), not the member URLs etcd advertises.
    // Directly, one alias for the three members, not their three names: when every member fails
    // (a leader cut off the network), Patroni 3.0.2 drops its DNS cache for the configured `hosts`
    // and looks each one up again before it gives up and demotes; with no network every lookup
    // waits out the resolver's 1 s, so three names kept a partitioned leader a primary ~3 s past
    // retry_timeout, right at the lease's end (CI, 2026-12-07: 2.3 s of two primaries). `host` is
    // resolved once to addresses and kept; the member names etcd advertises stay cached. Measured
    // cut → demoted: docs/failover.md.
    etcd3: config.postgres.dcsProxy
      ? { hosts: ETCD_MEMBERS.map((member) => `toxiproxy:${etcdProxyPort(member)}`), use_proxies: true }
      : { host: `${ETCD_ALIAS}:${ETCD_CLIENT_PORT}` },
    bootstrap: {
      // Applied when the cluster is first created; `make up` and the drills PATCH /config to
      // keep a running cluster in line with parity.yaml.
      dcs: standby ? { ...dynamicConfig(config), standby_cluster: standbyCluster(region) } : dynamicConfig(config),
      initdb: [{ encoding: 'UTF8' }, { locale: 'en_US.UTF-8' }, 'data-checksums'],
      pg_hba: [
        'local all all trust',
        `host replication ${DATABASE.replicationUser} all scram-sha-256`,
        'host all all all scram-sha-256',
      ],
      // The image's script: creates POSTGRES_DB, owned by the superuser.
      post_bootstrap: '/usr/local/bin/patroni-post-bootstrap.sh',
    },
    postgresql: {
      listen: '0.0.0.0:5432',
      data_dir: `${PG_DATA}/pgdata`,
      bin_dir: '/usr/lib/postgresql/15/bin',
      pgpass: '/tmp/pgpass',
      // A replica clones the leader right away instead of waiting for a spread checkpoint.
      basebackup: [{ checkpoint: 'fast' }],
      authentication: {
        superuser: { username: DATABASE.user },
        replication: { username: DATABASE.replicationUser },
      },
      parameters: { unix_socket_directories: '/var/run/postgresql' },
      // A replica too far behind for the leader's WAL fetches the segments from the archive.
      ...(config.backup.enabled ? { recovery_conf: { restore_command: RESTORE_COMMAND } } : {}),
    },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
    log: { level: 'INFO' },
    // No /dev/watchdog in a container; without this Patroni warns on every loop.
    watchdog: { mode: 'off' },
  };
}

/**
 * A standby cluster follows the other region's writer through the link (streaming; the WAL archive
 * as fallback). Patroni runs it with a standby leader; removing this key promotes it.
 */
export function standbyCluster(region: Region): Record<string, unknown> {
  return { ...standbySource(region), create_replica_methods: ['basebackup'], restore_command: RESTORE_COMMAND };
}

/** The settings Patroni keeps in etcd (`PATCH /config` changes them on a running cluster). */
export function dynamicConfig(config: ParityConfig): Record<string, unknown> {
  const { patroni, synchronous, synchronousStrict } = config.postgres;
  return {
    ttl: patroni.ttl,
    loop_wait: patroni.loopWait,
    retry_timeout: patroni.retryTimeout,
    maximum_lag_on_failover: patroni.maximumLagOnFailoverBytes,
    synchronous_mode: synchronous,
    synchronous_mode_strict: synchronousStrict,
    postgresql: {
      use_pg_rewind: true,
      use_slots: true,
      parameters: {
        wal_level: 'replica',
        hot_standby: 'on',
        wal_log_hints: 'on',
        max_wal_senders: 10,
        max_replication_slots: 10,
        wal_keep_size: '256MB',
        max_slot_wal_keep_size: MAX_SLOT_WAL_KEEP_SIZE,
        hot_standby_feedback: 'on',
        // A leader cut off the network demotes itself with a fast shutdown, which waits for its WAL
        // senders; with the default 60 s they hang on the dead connections and the node rejoins a
        // minute late (measured: 56 s). Replicas answer keepalives at once, so 5 s is plenty.
        wal_sender_timeout: '5s',
        ...archiveParameters(config),
      },
    },
  };
}

const haproxyCommon = (resolversFor: string) => [
  'global',
  '  maxconn 512',
  '',
  // Docker's DNS: a restarted node may come back with another address.
  'resolvers docker',
  '  nameserver dns 127.0.0.11:53',
  '  hold valid 1s',
  '  hold nx 1s',
  '  hold obsolete 5s',
  '',
  'defaults',
  '  mode tcp',
  '  timeout connect 1s',
  '  timeout client 30m',
  '  timeout server 30m',
  '  timeout check 1s',
  // Fast, cheap checks (an OPTIONS to Patroni's REST API): a dead leader is out of rotation within ~0.5 s, and its client sessions
  // are cut so pools reconnect to the new one instead of hanging on a dead peer.
  `  default-server inter 250ms fastinter 100ms downinter 250ms fall 2 rise 1 on-marked-down shutdown-sessions resolvers docker init-addr last,libc,none check port ${PATRONI_REST_PORT}`,
  '',
  `# ${resolversFor}`,
];

/** Every node as a server, checked on Patroni's REST `path` (200 = this node fits). */
const checkedServers = (config: ParityConfig, path: string) => [
  `  option httpchk OPTIONS ${path}`,
  '  http-check expect status 200',
  ...patroniNodes(config).map((node) => `  server ${node} ${node}:5432`),
];

const adminFrontend = (condition: string) => [
  '',
  'frontend admin',
  `  bind :${HAPROXY_ADMIN_PORT}`,
  '  mode http',
  '  monitor-uri /health',
  `  monitor fail if ${condition}`,
  '  http-request use-service prometheus-exporter if { path /metrics }',
];

/** Patroni's check for "the node that leads": with a DR region also a standby leader (`/leader`), so a standby region's writer has a server. */
const leaderCheck = (config: ParityConfig) => (hasDr(config) ? '/leader' : '/primary');

export function haproxyWriterConfig(config: ParityConfig): string[] {
  return [
    ...haproxyCommon('postgres-writer: only the Patroni leader (REST /primary answers 200 on the leader alone). OPTIONS, not GET: Patroni then sends only a status line, which HAProxy reads whole before closing (GET logs a reset traceback per check).'),
    'listen postgres',
    '  bind :5432',
    ...checkedServers(config, leaderCheck(config)),
    ...adminFrontend('{ nbsrv(postgres) lt 1 }'),
  ];
}

export function haproxyReaderConfig(config: ParityConfig): string[] {
  return [
    ...haproxyCommon('postgres-reader: replicas that are streaming and at most 1 MB behind; the leader when none is'),
    'frontend postgres',
    '  bind :5432',
    '  use_backend replicas if { nbsrv(replicas) gt 0 }',
    '  default_backend leader',
    '',
    'backend replicas',
    '  balance roundrobin',
    ...checkedServers(config, '/replica?lag=1MB'),
    '',
    'backend leader',
    ...checkedServers(config, leaderCheck(config)),
    ...adminFrontend('{ nbsrv(replicas) lt 1 } { nbsrv(leader) lt 1 }'),
  ];
}

export function patroniFiles(config: ParityConfig, region: Region = 'primary'): FileSpec[] {
  const source = 'services/topology/patroni.ts';
  return [
    // The DR region bootstraps as a standby of the primary; the primary, rebuilt to fail back, as a standby of the DR region.
    { path: 'patroni/patroni.yml', format: 'yaml', value: patroniConfig(config, region, region === 'dr'), source },
    ...(hasDr(config) && region === 'primary' ? [{ path: 'patroni/patroni-standby.yml', format: 'yaml' as const, value: patroniConfig(config, region, true), source }] : []),
    { path: 'haproxy/postgres-writer.cfg', format: 'config', value: haproxyWriterConfig(config), source },
    { path: 'haproxy/postgres-reader.cfg', format: 'config', value: haproxyReaderConfig(config), source },
    ...backupFiles(config, region),
  ];
}

/** Prometheus jobs of the HA cluster: Patroni's /metrics on each node, HAProxy's exporter, etcd. */
export function patroniScrapeJobs(config: ParityConfig): { readonly name: string; readonly targets: string[] }[] {
  return [
    { name: 'patroni', targets: patroniNodes(config).map((node) => `${node}:${PATRONI_REST_PORT}`) },
    { name: 'haproxy', targets: ['postgres-writer', 'postgres-reader'].map((endpoint) => `${endpoint}:${HAPROXY_ADMIN_PORT}`) },
    { name: 'etcd', targets: ETCD_MEMBERS.map((member) => `${member}:${ETCD_CLIENT_PORT}`) },
    ...(config.backup.enabled ? [backupScrapeJob(patroniNodes(config))] : []),
  ];
}

/** The HA cluster's alerts (Patroni 3.0's metric names), each with a promtool case that makes it fire. */
export const PATRONI_ALERT_RULES: readonly AlertRule[] = [
  {
    alert: 'PostgresNoLeader',
    // Every node reports patroni_primary (1 on the leader); none at 1, or none reporting, is no leader.
    expr: '(sum(patroni_primary) or vector(0)) < 1',
    for: '10s',
    severity: 'critical',
    summary: 'The Postgres cluster has no leader: writes fail',
    test: { series: [{ series: 'patroni_primary{job="patroni",instance="postgres-1:8008"}', values: '0x10' }], evalTime: '2m', labels: {} },
  },
  {
    alert: 'PostgresFailover',
    // Every promotion starts a new timeline.
    expr: 'max(patroni_postgres_timeline) > max(patroni_postgres_timeline offset 5m)',
    for: '0s',
    severity: 'high',
    summary: 'A Postgres failover or switchover happened in the last 5 minutes (new timeline)',
    test: { series: [{ series: 'patroni_postgres_timeline{job="patroni",instance="postgres-1:8008"}', values: '1x10 2x20' }], evalTime: '6m', labels: {} },
  },
  {
    alert: 'PostgresReplicaNotStreaming',
    // A replica more than 16 MB of WAL behind what the leader wrote is not receiving it.
    expr: 'patroni_replica == 1 and on(instance) (scalar(max(patroni_xlog_location)) - patroni_xlog_received_location) > 16777216',
    for: '30s',
    severity: 'high',
    summary: '{{ $labels.instance }} does not receive WAL from the leader',
    test: {
      series: [
        { series: 'patroni_xlog_location{job="patroni",instance="postgres-1:8008",scope="parity"}', values: '0+10000000x20' },
        { series: 'patroni_replica{job="patroni",instance="postgres-2:8008",scope="parity"}', values: '1x20' },
        { series: 'patroni_xlog_received_location{job="patroni",instance="postgres-2:8008",scope="parity"}', values: '0x20' },
      ],
      evalTime: '5m',
      labels: { job: 'patroni', instance: 'postgres-2:8008', scope: 'parity' },
    },
  },
];
