/**
 * The user's config file (`parity.yaml`): its shape, its defaults, and the schema the
 * validator walks. An empty file is a valid config: every field has a default.
 */
import { CONTRACT_MODES, type ContractMode } from '../contracts/gate.js';
import { VERSIONS } from '../images/catalog.js';

export type Profile = 'minimal' | 'full';
export type Color = 'blue' | 'green';
export type S3Provider = 'seaweedfs' | 'minio';
export type PostgresHa = 'patroni' | 'streaming';

/**
 * Application services; each runs in a blue and a green environment, and each can run a
 * developer's own code in place of its stub (`services.<name>.source`; auth stays a stub:
 * `AUTH_STAYS_A_STUB` in sources.ts says why).
 */
export const APP_SERVICES = ['frontend', 'ivor', 'events', 'newsroom'] as const;
export type AppService = (typeof APP_SERVICES)[number];
/** Where a platform service's code comes from: Parity's stub, the developer's image, a build of their source, or a process on their host. */
export const SERVICE_SOURCES = ['stub', 'image', 'build', 'host'] as const;
export type ServiceSource = (typeof SERVICE_SOURCES)[number];
/** What a change under a watched path does (Compose `develop.watch` actions). */
export const WATCH_ACTIONS = ['sync', 'sync+restart', 'rebuild'] as const;
export type WatchAction = (typeof WATCH_ACTIONS)[number];
/** The stack's values an `envMap` template may name, as `{name}`. */
export const ENV_TEMPLATE_VALUES = [
  'postgres.host', 'postgres.port', 'postgres.readerHost', 'postgres.readerPort', 'postgres.database', 'postgres.user', 'postgres.passwordFile',
  'redis.host', 'redis.port', 'redis.user', 'redis.passwordFile',
  's3.endpoint', 's3.accessKeyFile', 's3.secretKeyFile', 'jwt.publicKeysDir', 'service.port',
] as const;

export interface WatchRule {
  /** A path in the build context (file or folder). */
  readonly path: string;
  readonly action: WatchAction;
  /** Where `sync` puts it in the container (required for sync and sync+restart). */
  readonly target?: string;
  /** Paths under `path` that never trigger the rule. @default [] */
  readonly ignore?: readonly string[];
}

export interface ServiceSourceConfig {
  /** @default 'stub' */
  readonly source: ServiceSource;
  /** `source: image`: an image on the engine (no registry is reached). */
  readonly image?: string;
  /** `source: build`: the context (relative to parity.yaml), its Dockerfile and stage, and the live-sync rules. */
  readonly build?: { readonly context: string; readonly dockerfile?: string; readonly target?: string; readonly watch?: readonly WatchRule[] };
  /**
   * `source: host`: the port the developer's process listens on, and which users' requests reach
   * it: all (default), or only those carrying `X-Parity-Dev: <name>` (the rest go to the stack's color).
   */
  readonly host?: { readonly port: number; readonly routing?: 'all' | 'header'; readonly name?: string };
  /** The port the service listens on in its container. @default 3000 (the stubs') */
  readonly port?: number;
  /** Health paths, probed from outside the container. @default { live: '/health/live', ready: '/health' } */
  readonly health?: { readonly live?: string; readonly ready?: string };
  /** Extra environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Environment composed from the stack's values (`DATABASE_URL: "postgres://{postgres.user}@{postgres.host}:{postgres.port}/{postgres.database}"`). */
  readonly envMap?: Readonly<Record<string, string>>;
  /** Extra secrets: a name and the file (relative to parity.yaml) mounted at /run/secrets/<name>. */
  readonly secrets?: Readonly<Record<string, string>>;
  /**
   * The platform contract as a gate (services/contracts/gate.ts): `enforce` refuses to start or
   * deploy an image that fails it; `warn` routes it anyway and says so. @default 'enforce'
   */
  readonly contract?: ContractMode;
}

/** Services a user can size with `resources.<name>`. */
export const SIZABLE_SERVICES = [
  'traefik',
  'auth',
  'frontend',
  'ivor',
  'events',
  'newsroom',
  'postgres-primary',
  'postgres-replica',
  'postgres',
  'etcd',
  'postgres-writer',
  'postgres-reader',
  'toxiproxy',
  'redis',
  's3',
  'prometheus',
  'alertmanager',
  'alert-receiver',
  'grafana',
  'postgres-exporter',
  'redis-exporter',
  'node-exporter',
] as const;
export type SizableService = (typeof SIZABLE_SERVICES)[number];

/**
 * Services with host ports that `expose` may open beyond loopback (`traefik`: its dashboard; the
 * users' entrypoints, web and websecure, follow `bindAddress` anyway).
 */
export const EXPOSABLE_SERVICES = ['traefik', 'postgres-writer', 'postgres-reader', 'postgres-primary', 'postgres-replica', 'redis', 's3', 'prometheus', 'alertmanager', 'grafana'] as const;
export type ExposableService = (typeof EXPOSABLE_SERVICES)[number];

export interface Resources {
  /** Memory limit, docker syntax (`256m`, `1g`). @default none */
  readonly memory?: string;
  /** CPU limit in cores (`0.5`). @default none */
  readonly cpus?: number;
}

export interface ParityConfig {
  /** `minimal` = edge + apps + postgres + redis; `full` = everything. @default 'full' */
  readonly profile: Profile;
  /**
   * Host address the users' entrypoints (Traefik's web and websecure) bind to. Every other published
   * port stays on 127.0.0.1 unless `expose` names its service. @default '127.0.0.1'
   */
  readonly bindAddress: string;
  /**
   * Services whose published ports also bind to a non-loopback `bindAddress` (`[grafana]`): each is
   * reachable from other machines, and `make up` says so. @default []
   */
  readonly expose: readonly ExposableService[];
  /** Color that serves 100 % of traffic at start. @default 'blue' */
  readonly activeColor: Color;
  /**
   * `make up` loads the demo data set (`make seed`) when it finds the platform empty. Tests
   * start their stacks with the runners, which never seed. @default true
   */
  readonly demo: boolean;
  /** Host ports. */
  readonly ports: {
    /** Plain HTTP entrypoint (redirects to HTTPS). @default 8080 */
    readonly http: number;
    /** HTTPS entrypoint. @default 8443 */
    readonly https: number;
    /** Traefik dashboard/API (and /ping). @default 8081 */
    readonly dashboard: number;
    /** Postgres primary. @default 5432 */
    readonly postgres: number;
    /** Postgres streaming replica (read-only). @default 5433 */
    readonly postgresReplica: number;
    /** Redis. @default 6379 */
    readonly redis: number;
    /** S3 API. @default 8333 */
    readonly s3: number;
    /** Prometheus. @default 9090 */
    readonly prometheus: number;
    /** Alertmanager. @default 9093 */
    readonly alertmanager: number;
    /** Grafana. @default 3000 */
    readonly grafana: number;
  };
  /** Image tags; each overrides the catalog's pinned version for that image. */
  readonly versions: {
    readonly traefik: string;
    readonly postgres: string;
    readonly redis: string;
    readonly seaweedfs: string;
    readonly prometheus: string;
    readonly alertmanager: string;
    readonly node: string;
    /** Upstream image only (AGPL: never built here). @default '11.3.0' */
    readonly grafana: string;
    /** Upstream image only (AGPL, archived project: never built here). */
    readonly minio: string;
  };
  readonly services: {
    /** Grafana needs its upstream image (it can't be built offline). @default false */
    readonly grafana: { readonly enabled: boolean };
    /** The node exporter reads host metrics; some desktop VMs break it. @default true */
    readonly nodeExporter: { readonly enabled: boolean };
    /** S3 store: SeaweedFS (built here) or MinIO (upstream image). @default 'seaweedfs' */
    readonly s3: { readonly provider: S3Provider };
  } & Readonly<Partial<Record<AppService, ServiceSourceConfig>>>;
  /** Per-service limits. */
  readonly resources: Readonly<Partial<Record<SizableService, Resources>>>;
  readonly alerting: {
    /** Where Alertmanager sends alerts; empty = the local recorder (`alert-receiver`). @default '' */
    readonly webhookUrl: string;
  };
  /** Blue/green deploys (`make deploy`): the canary's pace, its budgets, drain and stickiness. */
  readonly deploy: DeployConfig;
  /** The database tier: plain streaming replication, or a Patroni HA cluster. */
  readonly postgres: PostgresConfig;
  /** Continuous backup (pgBackRest to the S3 store over TLS) and the file buckets' copies. */
  readonly backup: BackupConfig;
  /** A standby region: a second compose project (`<project>-dr`) with a Patroni standby cluster. */
  readonly dr: DrConfig;
  /** Budgets of the failure drills (`make drill-failover`, …): a drill exits 1 when one is exceeded. */
  readonly drills: DrillsConfig;
  /** Circuit breakers: in every stub (opossum) and at the edge (Traefik's circuitBreaker middleware). */
  readonly breakers: BreakersConfig;
  /** Fault injection: Toxiproxy between the apps and their dependencies, and declared scenarios (`make chaos`). */
  readonly chaos: ChaosConfig;
  /** The users' edge: the front that keeps client addresses, rate limits, body limits. */
  readonly edge: EdgeConfig;
}

/** A rate-limit bucket: `average` requests per `periodSeconds` per client address, `burst` at once. */
export interface RateLimitBucket {
  /** @default 100 */
  readonly average: number;
  /**
   * Requests at once. At most what the bucket refills in the time Traefik keeps an idle address's
   * bucket (2 s at 100/min: 3); validation says why. The default bucket's 2: Traefik 3.6.12 keeps a
   * bucket per router and address, and a load of the home page draws at most 1 from any of them (its
   * static files none), so 2 holds the page loaded twice at once. The most one address then gets
   * through one router's bucket is 102 a minute (average + burst); with 3 it would be 117 (3 at once,
   * a 4th 100 ms later that Traefik delays rather than refuses, and 2 s of silence, after which
   * Traefik has forgotten the bucket; services/topology/rate-limit.ts). Per address it is that per
   * router: an address that spreads its requests over the users' routers on `public` (45 with the
   * route table of today) gets up to 45 × 102 a minute (traefik/traefik#13706). @default 2
   */
  readonly burst: number;
}

export interface EdgeConfig {
  /**
   * Traefik's rateLimit middleware on the users' routers of the front's entrypoint (`public`), per
   * *real* client address: the front (HAProxy on the host network) sees it and passes it on in the
   * PROXY protocol, which Traefik trusts from the front alone. The frontend's static files
   * (GET/HEAD /static/) go without it, as a CDN would serve them. Operators' tools use the
   * loopback-only operator entrypoint.
   */
  readonly rateLimit: RateLimitBucket & {
    /** @default true */
    readonly enabled: boolean;
    /** The period `average` counts over. @default 60 */
    readonly periodSeconds: number;
    /** Client addresses or CIDRs never limited (probes, a monitoring service). @default [] */
    readonly trustedSources: readonly string[];
    /**
     * Tighter buckets for the routes of the route table under a path prefix (a second bucket: the
     * default one applies too). @default { '/auth/login': { average: 10, burst: 1 }, '/auth/register': { average: 10, burst: 1 } }
     */
    readonly routes: Readonly<Record<string, RateLimitBucket>>;
  };
  /** Largest request body the edge accepts (413 above it), bytes. @default 1048576 */
  readonly bodyLimitBytes: number;
  /** Larger (or smaller) body limits for routes under a path prefix (uploads). @default { '/api/articles': 2097152, '/api/events': 2097152 } */
  readonly routeBodyLimits: Readonly<Record<string, number>>;
}

/** Dependencies a stub calls through a breaker, each with its own call timeout. */
export const BREAKER_TIMEOUT_KEYS = ['postgresWriter', 'postgresReader', 'redis', 's3', 'services'] as const;
export type BreakerTimeoutKey = (typeof BREAKER_TIMEOUT_KEYS)[number];

export interface BreakersConfig {
  /** The stubs' breakers (opossum), one per dependency and per upstream service. */
  readonly app: {
    /** How long an open breaker waits before a trial call (HALF-OPEN). Architecture: 60 s. @default 60 */
    readonly resetSeconds: number;
    /** Failure share that opens a breaker; the architecture keeps it closed above 95 % success. @default 5 */
    readonly errorPercent: number;
    /** Calls in the rolling window before the share is judged. @default 10 */
    readonly volume: number;
    /**
     * Per-call timeouts, ms: a slow dependency costs users at most this long before the breaker
     * opens, and nothing once it is open. The reader's is short: reads fall back to the writer.
     */
    readonly timeoutsMs: Readonly<Record<BreakerTimeoutKey, number>>;
    /**
     * A replica read not answered within this long is asked of the writer too, and the first
     * answer wins (0: never). The reader's timeout still counts the slow read against its breaker,
     * but users don't wait for it: under 50 users/s a slow reader held reads for the whole
     * timeout until the breaker opened, and the backlog delayed reads for a second after. @default 100
     */
    readonly hedgeReadsMs: number;
  };
  /** Traefik's circuitBreaker middleware on each API route (one instance per router). */
  readonly edge: {
    /** @default true */
    readonly enabled: boolean;
    /**
     * When the breaker trips: Traefik's expression over NetworkErrorRatio(), ResponseCodeRatio(…),
     * LatencyAtQuantileMS(…). The default leaves out 503: an API answers 503 itself (with
     * Retry-After) when *its* dependency is down and its own breaker is open, fast and on purpose.
     * Counting those tripped the edge breaker during a database failover under users' writes and
     * kept the API shut for its fallback and recovery (~10 s + a ramp) after the database was back.
     * The edge breaker is for an API that is unreachable, failing (500/502/504…) or slow.
     */
    readonly expression: string;
    /** How often the expression is evaluated while closed, ms. @default 100 */
    readonly checkPeriodMs: number;
    /** How long it stays open before recovering. @default 10 */
    readonly fallbackSeconds: number;
    /** How long the recovery ramp (traffic let through progressively) lasts. @default 10 */
    readonly recoverySeconds: number;
  };
}

/** What Toxiproxy sits in front of: the data endpoints, and each API's colors (Traefik and the frontend go through them). */
export const CHAOS_TARGETS = ['postgres-writer', 'postgres-reader', 'redis', 's3', 'ivor', 'events', 'newsroom'] as const;
export type ChaosTarget = (typeof CHAOS_TARGETS)[number];
export const TOXIC_TYPES = ['latency', 'timeout', 'down', 'bandwidth', 'slicer', 'reset_peer'] as const;
export type ToxicType = (typeof TOXIC_TYPES)[number];

export interface ToxicConfig {
  readonly type: ToxicType;
  /** latency: added delay per chunk, ms. */
  readonly latencyMs?: number;
  /** latency: ± random jitter, ms. */
  readonly jitterMs?: number;
  /** timeout / reset_peer: ms before the connection is closed (timeout: 0 = hold it forever, a partition). */
  readonly timeoutMs?: number;
  /** bandwidth: KB/s. */
  readonly rateKbps?: number;
  /** slicer: average slice size in bytes, and the delay between slices in µs. */
  readonly sliceBytes?: number;
  readonly sliceDelayUs?: number;
}

export interface ChaosScenario {
  /** One line: what the scenario does to the platform. */
  readonly description: string;
  /** The proxy the toxic goes on (an API name means both of its colors). */
  readonly target: ChaosTarget;
  readonly toxic: ToxicConfig;
  /** How long the fault lasts. @default 20 */
  readonly durationSeconds: number;
  /** Flapping: the fault on for `downSeconds`, off for `upSeconds`, repeated for the duration. */
  readonly flap?: { readonly downSeconds: number; readonly upSeconds: number };
  /** The paths users GET during the drill (through Traefik, as the admin); `{article}` is an article with an attachment the drill creates. */
  readonly load: readonly string[];
  /** The outcome the scenario promises; a drill exits 1 when it is not met. */
  readonly expect: {
    /** Breakers that must open, `<service>:<breaker>` (`events:postgres-replica`) or `edge:<api>`. */
    readonly breakers: readonly string[];
    /** `X-Parity-Fallback` values users must see while the fault lasts (empty: plain answers). */
    readonly fallbacks: readonly string[];
    /**
     * Users' p95 while the breakers are open, ms: far below the fault (a 2 s fault must not reach
     * users once a breaker is open), with room for a busy laptop's own latency. @default 250
     */
    readonly p95Ms: number;
  };
}

export interface ChaosConfig {
  /** Toxiproxy in the stack, between the apps and each dependency. @default true with profile full, false with minimal */
  readonly enabled: boolean;
  /** Declared scenarios by name (`make chaos SCENARIO=name`); the built-in ones can be changed or added to. */
  readonly scenarios: Readonly<Record<string, ChaosScenario>>;
}

export interface PostgresConfig {
  /**
   * `patroni`: etcd (3 members) + Patroni nodes behind HAProxy (`postgres-writer` → the leader,
   * `postgres-reader` → replicas, the leader when none is healthy), automatic failover.
   * `streaming`: one primary and one streaming replica, no failover.
   * @default 'patroni' with profile full, 'streaming' with profile minimal
   */
  readonly ha: PostgresHa;
  /** Patroni nodes (`postgres-1` … `postgres-N`). @default 3 */
  readonly nodes: number;
  /**
   * Patroni `synchronous_mode`: a commit returns only once a standby has it, so a failover
   * loses no acknowledged write (RPO 0). Off: asynchronous, loss bounded by
   * `maximumLagOnFailoverBytes` plus the writes of the last moments. @default true
   */
  readonly synchronous: boolean;
  /** Patroni `synchronous_mode_strict`: refuse writes rather than run without a sync standby. @default false */
  readonly synchronousStrict: boolean;
  /**
   * Route Patroni's etcd traffic through Toxiproxy (a `toxiproxy` service; Patroni's `use_proxies`),
   * so drills and `make bench-failover` can put latency, jitter or a cut on the consensus path.
   * This kernel has no netem, and Toxiproxy needs no privileges. @default false
   */
  readonly dcsProxy: boolean;
  /** Patroni's timings, in seconds; Patroni requires loopWait + 2 × retryTimeout ≤ ttl. */
  readonly patroni: {
    /** Leader lease: a dead leader is replaced after at most this long. @default 5 */
    readonly ttl: number;
    /** Seconds between HA loop runs. @default 1 */
    readonly loopWait: number;
    /**
     * How long DCS and Postgres operations are retried before the leader demotes itself. At least 2:
     * Patroni 3.0.2's etcd3 backend gives up taking the leader lock when less than 1 s of it is left
     * after renewing its lease, so with 1 no node could ever be promoted. @default 2
     */
    readonly retryTimeout: number;
    /** A replica further behind than this (bytes) is never promoted (async mode). @default 1048576 */
    readonly maximumLagOnFailoverBytes: number;
  };
}

export const BACKUP_COMPRESSION = ['lz4', 'zst', 'gz', 'none'] as const;
export type BackupCompression = (typeof BACKUP_COMPRESSION)[number];

export interface BackupConfig {
  /**
   * pgBackRest archives WAL from whichever Patroni node leads and takes scheduled backups into
   * the S3 store's `backups` bucket (HTTPS, the stack's CA); the file buckets are copied there too.
   * Needs `postgres.ha: patroni` (and runs the S3 store in any profile).
   * @default true with postgres.ha patroni in profile full, else false
   */
  readonly enabled: boolean;
  /** A full backup when the last full one is older than this. @default 86400 */
  readonly fullIntervalSeconds: number;
  /** A differential backup when the last backup of any type is older than this. @default 3600 */
  readonly diffIntervalSeconds: number;
  /** Full backups kept (pgBackRest `repo1-retention-full`); older ones expire with their WAL. @default 2 */
  readonly retentionFull: number;
  /** Differential backups kept (`repo1-retention-diff`). @default 6 */
  readonly retentionDiff: number;
  /** AES-256-CBC on every file in the repository, with a generated passphrase (secrets/backup_cipher_pass). @default true */
  readonly encryption: boolean;
  /** pgBackRest `compress-type`. @default 'lz4' */
  readonly compression: BackupCompression;
  /** pgBackRest `process-max`: parallel workers for backup and restore. @default 2 */
  readonly processMax: number;
  /** Postgres `archive_timeout`: a WAL segment with writes in it is archived at most this long after its first write. @default 60 */
  readonly archiveTimeoutSeconds: number;
  /** The `images` and `documents` buckets are copied to `backups/files/` this often (the files RPO). @default 60 */
  readonly filesIntervalSeconds: number;
  /** Alert budgets: Prometheus fires when one is passed. */
  readonly alerts: {
    /** Newest backup (any type) older than this. @default 7800 */
    readonly backupAgeSeconds: number;
    /** WAL waiting to be archived for longer than this (or archive_command failing). @default 300 */
    readonly walAgeSeconds: number;
    /** A file bucket not copied for longer than this. @default 600 */
    readonly filesAgeSeconds: number;
  };
}

export interface DrConfig {
  /**
   * `make up` also starts the DR region (`compose/dr/`, project `<project>-dr`: its own network,
   * Traefik, apps, Redis, S3 store and a Patroni standby cluster streaming from the primary's
   * writer, with the WAL archive as fallback) and the link between the regions (`compose/edge/`:
   * Toxiproxy carrying the replication, the backup repository and the users' edge address).
   * The backup repository then lives in the DR region's S3 store (off-site), and the file buckets
   * are copied there. Needs backup.enabled. @default false
   */
  readonly enabled: boolean;
  /** The users' edge address on this host (the stand-in for DNS): it forwards to the serving region's Traefik. @default 8444 */
  readonly edgePort: number;
}

export interface DrillsConfig {
  readonly chaos: {
    /** Requests that failed outright (no fallback) after the expected breakers opened. @default 0 */
    readonly failedAfterOpen: number;
    /** Fault → every expected breaker open. @default 15 */
    readonly openSeconds: number;
    /** Fault removed → every breaker closed again, with no manual step (the reset timeout included). @default 75 */
    readonly recoverSeconds: number;
  };
  readonly failover: {
    /** Fault → first acknowledged write through postgres-writer. @default 10 */
    readonly rtoSeconds: number;
    /** Fault → API writes (POST /api/events through the front) succeed again. @default 15 */
    readonly apiRecoverySeconds: number;
    /**
     * How much longer than the database's RTO users may go without an acknowledged API write (the
     * longest gap between two acknowledged POST /api/events through the front, from many client
     * addresses): what the apps, their pools and breakers, HAProxy and the edge add. @default 1000
     */
    readonly usersGapOverRtoMs: number;
    /** Old leader restarted → it replicates from the new leader. @default 30 */
    readonly rejoinSeconds: number;
    /** Writes the database acknowledged and then lost. @default 0 */
    readonly ackedWritesLost: number;
    /** Leader changes the scenario did not call for. @default 0 */
    readonly falseFailovers: number;
    /**
     * A planned switchover: the switchover request → the first acknowledged write after the last
     * failed one. Measured here 2–3 s with Patroni 3.0.2 (graceful demote and checkpoint, the
     * candidate's next 1 s loop, promotion, HAProxy's next check). @default 3000
     */
    readonly switchoverStallMs: number;
  };
  readonly restore: {
    /** Restore started → the restored cluster answers queries, recovered to the target. @default 60 */
    readonly rtoSeconds: number;
    /** Target time − the last transaction recovered (PITR), in milliseconds. @default 1000 */
    readonly rpoMs: number;
    /** Writes acknowledged at or before the target that the restored cluster lacks. @default 0 */
    readonly lostWrites: number;
  };
  readonly region: {
    /** Primary region lost → users' writes through the edge succeed in the DR region. @default 30 */
    readonly rtoSeconds: number;
    /** Writes acknowledged in the DR region that are missing after failing back. @default 0 */
    readonly failbackLostWrites: number;
    /**
     * The drill refuses to start unless the DR standby streams from the primary and replays the
     * primary's current WAL position within this long: otherwise the switch would lose what the
     * primary acknowledged meanwhile. @default 5000
     */
    readonly standbyLagMs: number;
    /**
     * Every user's writes lost with the primary region, in bytes of WAL the DR region never
     * replayed (cross-region replication is asynchronous: a loss is possible, and this says how
     * much). @default 1048576
     */
    readonly walRpoBytes: number;
  };
  /** `make drill-node` on the cluster (`make cluster-up`): a node lost or drained under users' load. */
  readonly node: {
    /**
     * Users' requests that failed when a node was lost (lose-node, lose-zone), in percent of all of
     * them: those in flight on the node and sent to it before the front noticed. @default 0.1
     */
    readonly lostFailedPercent: number;
    /** Users' requests that failed while a node was drained (planned: none should). @default 0 */
    readonly drainFailed: number;
    /** Fault → every service that may move runs its desired replicas on the nodes left. @default 30 */
    readonly replicasBackSeconds: number;
  };
}

export interface DeployConfig {
  /** How long each canary step (5 %, 25 %) is watched in Prometheus before the next. @default 60 */
  readonly stepSeconds: number;
  /** The new color's error-rate budget during the canary, in percent of its requests. @default 1 */
  readonly errorRatePercent: number;
  /** The new color's p95 latency budget during the canary. @default 500 */
  readonly p95Ms: number;
  /** Fewest requests a step needs before its figures are judged (fewer: judged on what there is, with a warning). @default 20 */
  readonly minRequests: number;
  /** After 100 %, how long to wait for the old color's in-flight requests. @default 30 */
  readonly drainSeconds: number;
  /** Keep the old color running after a deploy, so `make rollback` is instant. @default true */
  readonly keepWarm: boolean;
  /** Cookie-based sticky sessions during the canary, so a user doesn't flip between versions. @default true */
  readonly stickySessions: boolean;
}

/** The scenarios every config has (the list); `chaos.scenarios` in parity.yaml changes or adds to them. */
export const DEFAULT_SCENARIOS: Readonly<Record<string, ChaosScenario>> = {
  'ivor-down': {
    description: 'IVOR unreachable (both colors, from Traefik and the frontend): the home page and /api/resources serve IVOR\'s fallback',
    target: 'ivor',
    toxic: { type: 'down' },
    durationSeconds: 20,
    load: ['/', '/api/resources'],
    expect: { breakers: ['frontend:ivor', 'edge:ivor'], fallbacks: ['ivor', 'edge-ivor'], p95Ms: 250 },
  },
  'events-db-latency': {
    description: '2 s of latency on the Postgres reader: Events\' replica breaker opens and reads go to the writer',
    target: 'postgres-reader',
    toxic: { type: 'latency', latencyMs: 2000 },
    durationSeconds: 20,
    load: ['/api/events'],
    expect: { breakers: ['events:postgres-replica'], fallbacks: [], p95Ms: 250 },
  },
  'newsroom-s3-outage': {
    description: 'the S3 store stops answering (connections hang): attachments get the newsroom\'s fallback',
    target: 's3',
    toxic: { type: 'timeout', timeoutMs: 0 },
    durationSeconds: 20,
    load: ['/api/articles/{article}/attachments/drill.txt'],
    expect: { breakers: ['newsroom:s3'], fallbacks: ['newsroom-attachment'], p95Ms: 250 },
  },
  'redis-down': {
    description: 'Redis unreachable: auth verifies tokens alone for reads (auth-stateless) and refuses writes until it is back',
    target: 'redis',
    toxic: { type: 'down' },
    durationSeconds: 20,
    load: ['/auth/verify'],
    expect: { breakers: ['auth:redis'], fallbacks: ['auth-stateless'], p95Ms: 250 },
  },
  'postgres-reader-partition': {
    description: 'the Postgres reader partitioned away (packets dropped, connections hang): reads go to the writer',
    target: 'postgres-reader',
    toxic: { type: 'timeout', timeoutMs: 0 },
    durationSeconds: 20,
    load: ['/api/events'],
    expect: { breakers: ['events:postgres-replica'], fallbacks: [], p95Ms: 250 },
  },
  'redis-flapping': {
    description: 'Redis down 5 s, up 5 s, repeated for 30 s: the breaker holds the fallback instead of flapping with it',
    target: 'redis',
    toxic: { type: 'down' },
    durationSeconds: 30,
    flap: { downSeconds: 5, upSeconds: 5 },
    load: ['/auth/verify'],
    expect: { breakers: ['auth:redis'], fallbacks: ['auth-stateless'], p95Ms: 250 },
  },
};

export const DEFAULT_CONFIG: ParityConfig = {
  profile: 'full',
  bindAddress: '127.0.0.1',
  expose: [],
  activeColor: 'blue',
  demo: true,
  ports: {
    http: 8080,
    https: 8443,
    dashboard: 8081,
    postgres: 5432,
    postgresReplica: 5433,
    redis: 6379,
    s3: 8333,
    prometheus: 9090,
    alertmanager: 9093,
    grafana: 3000,
  },
  versions: {
    traefik: VERSIONS.traefik,
    postgres: VERSIONS.postgres,
    redis: VERSIONS.redis,
    seaweedfs: VERSIONS.seaweedfs,
    prometheus: VERSIONS.prometheus,
    alertmanager: VERSIONS.alertmanager,
    node: VERSIONS.node,
    grafana: '11.3.0',
    minio: 'RELEASE.2025-04-22T22-12-26Z',
  },
  services: {
    grafana: { enabled: false },
    nodeExporter: { enabled: true },
    s3: { provider: 'seaweedfs' },
  },
  resources: {},
  alerting: { webhookUrl: '' },
  deploy: { stepSeconds: 60, errorRatePercent: 1, p95Ms: 500, minRequests: 20, drainSeconds: 30, keepWarm: true, stickySessions: true },
  postgres: {
    ha: 'patroni',
    nodes: 3,
    synchronous: true,
    synchronousStrict: false,
    dcsProxy: false,
    patroni: { ttl: 5, loopWait: 1, retryTimeout: 2, maximumLagOnFailoverBytes: 1_048_576 },
  },
  backup: {
    enabled: true,
    fullIntervalSeconds: 86_400,
    diffIntervalSeconds: 3600,
    retentionFull: 2,
    retentionDiff: 6,
    encryption: true,
    compression: 'lz4',
    processMax: 2,
    archiveTimeoutSeconds: 60,
    filesIntervalSeconds: 60,
    alerts: { backupAgeSeconds: 7800, walAgeSeconds: 300, filesAgeSeconds: 600 },
  },
  dr: { enabled: false, edgePort: 8444 },
  drills: {
    region: { rtoSeconds: 30, failbackLostWrites: 0, standbyLagMs: 5000, walRpoBytes: 1_048_576 },
    node: { lostFailedPercent: 0.1, drainFailed: 0, replicasBackSeconds: 30 },
    restore: { rtoSeconds: 60, rpoMs: 1000, lostWrites: 0 },
    chaos: { failedAfterOpen: 0, openSeconds: 15, recoverSeconds: 75 },
    failover: { rtoSeconds: 10, apiRecoverySeconds: 15, usersGapOverRtoMs: 1000, rejoinSeconds: 30, ackedWritesLost: 0, falseFailovers: 0, switchoverStallMs: 3000 },
  },
  breakers: {
    app: { resetSeconds: 60, errorPercent: 5, volume: 10, timeoutsMs: { postgresWriter: 5000, postgresReader: 1000, redis: 500, s3: 3000, services: 2000 }, hedgeReadsMs: 100 },
    edge: {
      enabled: true,
      expression: 'NetworkErrorRatio() > 0.30 || ResponseCodeRatio(500, 503, 0, 600) > 0.50 || ResponseCodeRatio(504, 600, 0, 600) > 0.50 || LatencyAtQuantileMS(50.0) > 2500',
      checkPeriodMs: 100,
      fallbackSeconds: 10,
      recoverySeconds: 10,
    },
  },
  chaos: { enabled: true, scenarios: DEFAULT_SCENARIOS },
  edge: {
    rateLimit: {
      enabled: true,
      average: 100,
      periodSeconds: 60,
      burst: 2,
      trustedSources: [],
      routes: { '/auth/login': { average: 10, burst: 1 }, '/auth/register': { average: 10, burst: 1 } },
    },
    bodyLimitBytes: 1_048_576,
    routeBodyLimits: { '/api/articles': 2_097_152, '/api/events': 2_097_152 },
  },
};

/** `postgres.ha` when the config file doesn't say: HA in the full profile, plain streaming in minimal (faster, smaller). */
export const defaultHa = (profile: Profile): PostgresHa => (profile === 'full' ? 'patroni' : 'streaming');

/** `backup.enabled` when the config file doesn't say: with the Patroni cluster of the full profile. */
export const defaultBackup = (profile: Profile, ha: PostgresHa): boolean => profile === 'full' && ha === 'patroni';

/** `chaos.enabled` when the config file doesn't say: on in the full profile, off in minimal (one container fewer, direct connections). */
export const defaultChaos = (profile: Profile): boolean => profile === 'full';

/** What the validator knows about each field. */
export type FieldSchema =
  /** `suggest`: a wrong value gets a "did you mean" (names, where a near miss is a typo). @default false */
  | { readonly kind: 'enum'; readonly values: readonly string[]; readonly suggest?: boolean }
  | { readonly kind: 'port' }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'ipv4' }
  | { readonly kind: 'version'; readonly pattern: RegExp; readonly example: string }
  | { readonly kind: 'memory' }
  | { readonly kind: 'cpus' }
  | { readonly kind: 'url' }
  | { readonly kind: 'number'; readonly min: number; readonly max: number; readonly integer?: boolean; readonly unit?: string }
  | { readonly kind: 'object'; readonly fields: Readonly<Record<string, FieldSchema>> }
  | { readonly kind: 'map'; readonly keys: readonly string[]; readonly value: FieldSchema }
  /** A mapping whose keys the user names (`chaos.scenarios.<name>`). */
  | { readonly kind: 'record'; readonly keyPattern: RegExp; readonly keyRule: string; readonly value: FieldSchema }
  | { readonly kind: 'list'; readonly item: FieldSchema }
  | { readonly kind: 'text'; readonly pattern?: RegExp; readonly rule?: string }
  /** A Traefik circuitBreaker expression, checked like Traefik parses it. */
  | { readonly kind: 'breakerExpression' };

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_NAME = /^[a-z][a-z0-9_]*$/;
const RELATIVE_PATH: FieldSchema = { kind: 'text', pattern: /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\0]+$/, rule: 'a path relative to parity.yaml, inside the project (no leading /, no ..)' };
const HTTP_PATH: FieldSchema = { kind: 'text', pattern: /^\/[\w\-./]*$/, rule: 'an HTTP path such as /health' };

/** One platform service's source (`services.<frontend|ivor|events|newsroom>`). */
const SERVICE_SOURCE_SCHEMA: FieldSchema = {
  kind: 'object',
  fields: {
    source: { kind: 'enum', values: SERVICE_SOURCES, suggest: true },
    image: { kind: 'text', pattern: /^[a-z0-9][a-z0-9._\-/:@]*$/, rule: 'an image reference such as blkout/events:dev' },
    build: {
      kind: 'object',
      fields: {
        context: RELATIVE_PATH,
        dockerfile: RELATIVE_PATH,
        target: { kind: 'text', pattern: /^[A-Za-z0-9][\w.-]*$/, rule: 'a Dockerfile stage name' },
        watch: {
          kind: 'list',
          item: {
            kind: 'object',
            fields: {
              path: RELATIVE_PATH,
              action: { kind: 'enum', values: WATCH_ACTIONS, suggest: true },
              target: { kind: 'text', pattern: /^\/\S*$/, rule: 'an absolute path in the container' },
              ignore: { kind: 'list', item: RELATIVE_PATH },
            },
          },
        },
      },
    },
    host: {
      kind: 'object',
      fields: {
        port: { kind: 'port' },
        routing: { kind: 'enum', values: ['all', 'header'] },
        name: { kind: 'text', pattern: /^[A-Za-z0-9][\w.-]{0,63}$/, rule: 'your name in the X-Parity-Dev header (letters, digits, . _ -)' },
      },
    },
    port: { kind: 'port' },
    health: { kind: 'object', fields: { live: HTTP_PATH, ready: HTTP_PATH } },
    env: { kind: 'record', keyPattern: ENV_NAME, keyRule: 'an environment variable (letters, digits, _)', value: { kind: 'text' } },
    envMap: { kind: 'record', keyPattern: ENV_NAME, keyRule: 'an environment variable (letters, digits, _)', value: { kind: 'text' } },
    secrets: { kind: 'record', keyPattern: SECRET_NAME, keyRule: 'a secret (lower case, digits, _)', value: RELATIVE_PATH },
    contract: { kind: 'enum', values: CONTRACT_MODES },
  },
};

const semver = (prefix: string, example: string): FieldSchema => ({
  kind: 'version',
  pattern: new RegExp(`^${prefix}\\d+\\.\\d+(\\.\\d+)?$`),
  example,
});

const RATE_BUCKET_FIELDS: Readonly<Record<string, FieldSchema>> = {
  average: { kind: 'number', min: 1, max: 1_000_000, integer: true, unit: 'requests per period' },
  burst: { kind: 'number', min: 1, max: 1_000_000, integer: true, unit: 'requests' },
};
const PATH_PREFIX = /^\/[A-Za-z0-9/_.-]*$/;
const PATH_PREFIX_RULE = 'a path prefix starting with / (/auth/login)';
const CIDR: FieldSchema = {
  kind: 'text',
  pattern: /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(\/(3[0-2]|[12]?\d))?$/,
  rule: 'an IPv4 address or CIDR (127.0.0.2, 10.0.0.0/8)',
};

export const CONFIG_SCHEMA: FieldSchema = {
  kind: 'object',
  fields: {
    profile: { kind: 'enum', values: ['minimal', 'full'] },
    bindAddress: { kind: 'ipv4' },
    expose: { kind: 'list', item: { kind: 'enum', values: EXPOSABLE_SERVICES, suggest: true } },
    activeColor: { kind: 'enum', values: ['blue', 'green'] },
    demo: { kind: 'boolean' },
    ports: {
      kind: 'object',
      fields: Object.fromEntries(Object.keys(DEFAULT_CONFIG.ports).map((key) => [key, { kind: 'port' } as const])),
    },
    versions: {
      kind: 'object',
      fields: {
        traefik: semver('v3\\.', 'v3.6.12'),
        postgres: { kind: 'version', pattern: /^15\.\d+$/, example: '15.20' },
        redis: { kind: 'version', pattern: /^7\.\d+\.\d+$/, example: '7.0.15' },
        seaweedfs: { kind: 'version', pattern: /^\d+\.\d+$/, example: '4.53' },
        prometheus: semver('v2\\.', 'v2.42.0'),
        alertmanager: semver('v0\\.', 'v0.25.0'),
        node: { kind: 'version', pattern: /^22\.\d+\.\d+$/, example: '22.23.3' },
        grafana: { kind: 'version', pattern: /^\d+\.\d+\.\d+$/, example: '11.3.0' },
        minio: { kind: 'version', pattern: /^RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/, example: 'RELEASE.2025-04-22T22-12-26Z' },
      },
    },
    services: {
      kind: 'object',
      fields: {
        grafana: { kind: 'object', fields: { enabled: { kind: 'boolean' } } },
        nodeExporter: { kind: 'object', fields: { enabled: { kind: 'boolean' } } },
        s3: { kind: 'object', fields: { provider: { kind: 'enum', values: ['seaweedfs', 'minio'] } } },
        ...Object.fromEntries(APP_SERVICES.map((name) => [name, SERVICE_SOURCE_SCHEMA])),
        // Read only to say why auth stays a stub (services/config/sources.ts).
        auth: SERVICE_SOURCE_SCHEMA,
      },
    },
    resources: {
      kind: 'map',
      keys: SIZABLE_SERVICES,
      value: { kind: 'object', fields: { memory: { kind: 'memory' }, cpus: { kind: 'cpus' } } },
    },
    alerting: { kind: 'object', fields: { webhookUrl: { kind: 'url' } } },
    deploy: {
      kind: 'object',
      fields: {
        stepSeconds: { kind: 'number', min: 5, max: 3600, integer: true, unit: 'seconds' },
        errorRatePercent: { kind: 'number', min: 0, max: 100, unit: 'percent' },
        p95Ms: { kind: 'number', min: 1, max: 60_000, integer: true, unit: 'milliseconds' },
        minRequests: { kind: 'number', min: 0, max: 1_000_000, integer: true },
        drainSeconds: { kind: 'number', min: 0, max: 3600, integer: true, unit: 'seconds' },
        keepWarm: { kind: 'boolean' },
        stickySessions: { kind: 'boolean' },
      },
    },
    postgres: {
      kind: 'object',
      fields: {
        ha: { kind: 'enum', values: ['patroni', 'streaming'] },
        nodes: { kind: 'number', min: 2, max: 5, integer: true, unit: 'Patroni nodes' },
        synchronous: { kind: 'boolean' },
        synchronousStrict: { kind: 'boolean' },
        dcsProxy: { kind: 'boolean' },
        patroni: {
          kind: 'object',
          fields: {
            ttl: { kind: 'number', min: 2, max: 3600, integer: true, unit: 'seconds' },
            loopWait: { kind: 'number', min: 1, max: 3600, integer: true, unit: 'seconds' },
            retryTimeout: { kind: 'number', min: 1, max: 3600, integer: true, unit: 'seconds' },
            maximumLagOnFailoverBytes: { kind: 'number', min: 0, max: 1_099_511_627_776, integer: true, unit: 'bytes' },
          },
        },
      },
    },
    backup: {
      kind: 'object',
      fields: {
        enabled: { kind: 'boolean' },
        fullIntervalSeconds: { kind: 'number', min: 60, max: 31_536_000, integer: true, unit: 'seconds' },
        diffIntervalSeconds: { kind: 'number', min: 60, max: 31_536_000, integer: true, unit: 'seconds' },
        retentionFull: { kind: 'number', min: 1, max: 9_999_999, integer: true, unit: 'full backups' },
        retentionDiff: { kind: 'number', min: 1, max: 9_999_999, integer: true, unit: 'differential backups' },
        encryption: { kind: 'boolean' },
        compression: { kind: 'enum', values: BACKUP_COMPRESSION },
        processMax: { kind: 'number', min: 1, max: 64, integer: true, unit: 'processes' },
        archiveTimeoutSeconds: { kind: 'number', min: 1, max: 3600, integer: true, unit: 'seconds' },
        filesIntervalSeconds: { kind: 'number', min: 10, max: 86_400, integer: true, unit: 'seconds' },
        alerts: {
          kind: 'object',
          fields: {
            backupAgeSeconds: { kind: 'number', min: 60, max: 31_536_000, integer: true, unit: 'seconds' },
            walAgeSeconds: { kind: 'number', min: 10, max: 86_400, integer: true, unit: 'seconds' },
            filesAgeSeconds: { kind: 'number', min: 10, max: 31_536_000, integer: true, unit: 'seconds' },
          },
        },
      },
    },
    dr: { kind: 'object', fields: { enabled: { kind: 'boolean' }, edgePort: { kind: 'port' } } },
    edge: {
      kind: 'object',
      fields: {
        rateLimit: {
          kind: 'object',
          fields: {
            enabled: { kind: 'boolean' },
            ...RATE_BUCKET_FIELDS,
            periodSeconds: { kind: 'number', min: 1, max: 86_400, integer: true, unit: 'seconds' },
            trustedSources: { kind: 'list', item: CIDR },
            routes: { kind: 'record', keyPattern: PATH_PREFIX, keyRule: PATH_PREFIX_RULE, value: { kind: 'object', fields: RATE_BUCKET_FIELDS } },
          },
        },
        bodyLimitBytes: { kind: 'number', min: 1024, max: 1_073_741_824, integer: true, unit: 'bytes' },
        routeBodyLimits: { kind: 'record', keyPattern: PATH_PREFIX, keyRule: PATH_PREFIX_RULE, value: { kind: 'number', min: 1024, max: 1_073_741_824, integer: true, unit: 'bytes' } },
      },
    },
    drills: {
      kind: 'object',
      fields: {
        region: {
          kind: 'object',
          fields: {
            rtoSeconds: { kind: 'number', min: 1, max: 86_400, unit: 'seconds' },
            failbackLostWrites: { kind: 'number', min: 0, max: 1_000_000, integer: true, unit: 'writes' },
            standbyLagMs: { kind: 'number', min: 100, max: 3_600_000, integer: true, unit: 'ms' },
            walRpoBytes: { kind: 'number', min: 0, max: 1_099_511_627_776, integer: true, unit: 'bytes' },
          },
        },
        node: {
          kind: 'object',
          fields: {
            lostFailedPercent: { kind: 'number', min: 0, max: 100, unit: 'percent' },
            drainFailed: { kind: 'number', min: 0, max: 1_000_000, integer: true, unit: 'requests' },
            replicasBackSeconds: { kind: 'number', min: 1, max: 3600, unit: 'seconds' },
          },
        },
        restore: {
          kind: 'object',
          fields: {
            rtoSeconds: { kind: 'number', min: 1, max: 86_400, unit: 'seconds' },
            rpoMs: { kind: 'number', min: 0, max: 86_400_000, integer: true, unit: 'milliseconds' },
            lostWrites: { kind: 'number', min: 0, max: 1_000_000, integer: true, unit: 'writes' },
          },
        },
        chaos: {
          kind: 'object',
          fields: {
            failedAfterOpen: { kind: 'number', min: 0, max: 1_000_000, integer: true, unit: 'requests' },
            openSeconds: { kind: 'number', min: 0.1, max: 3600, unit: 'seconds' },
            recoverSeconds: { kind: 'number', min: 0.1, max: 3600, unit: 'seconds' },
          },
        },
        failover: {
          kind: 'object',
          fields: {
            rtoSeconds: { kind: 'number', min: 0.1, max: 3600, unit: 'seconds' },
            apiRecoverySeconds: { kind: 'number', min: 0.1, max: 3600, unit: 'seconds' },
            usersGapOverRtoMs: { kind: 'number', min: 0, max: 3_600_000, unit: 'ms' },
            rejoinSeconds: { kind: 'number', min: 1, max: 3600, unit: 'seconds' },
            ackedWritesLost: { kind: 'number', min: 0, max: 1_000_000, integer: true, unit: 'writes' },
            falseFailovers: { kind: 'number', min: 0, max: 100, integer: true },
            switchoverStallMs: { kind: 'number', min: 1, max: 600_000, integer: true, unit: 'milliseconds' },
          },
        },
      },
    },
    breakers: {
      kind: 'object',
      fields: {
        app: {
          kind: 'object',
          fields: {
            resetSeconds: { kind: 'number', min: 0.1, max: 3600, unit: 'seconds' },
            errorPercent: { kind: 'number', min: 1, max: 100, integer: true, unit: 'percent' },
            volume: { kind: 'number', min: 1, max: 1000, integer: true, unit: 'calls' },
            timeoutsMs: {
              kind: 'object',
              fields: Object.fromEntries(BREAKER_TIMEOUT_KEYS.map((key) => [key, { kind: 'number', min: 50, max: 60_000, integer: true, unit: 'milliseconds' } as const])),
            },
            hedgeReadsMs: { kind: 'number', min: 0, max: 60_000, integer: true, unit: 'milliseconds' },
          },
        },
        edge: {
          kind: 'object',
          fields: {
            enabled: { kind: 'boolean' },
            expression: { kind: 'breakerExpression' },
            checkPeriodMs: { kind: 'number', min: 10, max: 60_000, integer: true, unit: 'milliseconds' },
            fallbackSeconds: { kind: 'number', min: 1, max: 3600, integer: true, unit: 'seconds' },
            recoverySeconds: { kind: 'number', min: 1, max: 3600, integer: true, unit: 'seconds' },
          },
        },
      },
    },
    chaos: {
      kind: 'object',
      fields: {
        enabled: { kind: 'boolean' },
        scenarios: {
          kind: 'record',
          keyPattern: /^[a-z][a-z0-9-]{0,40}$/,
          keyRule: 'lower-case letters, digits and dashes, starting with a letter',
          value: {
            kind: 'object',
            fields: {
              description: { kind: 'text' },
              target: { kind: 'enum', values: CHAOS_TARGETS },
              toxic: {
                kind: 'object',
                fields: {
                  type: { kind: 'enum', values: TOXIC_TYPES },
                  latencyMs: { kind: 'number', min: 0, max: 600_000, integer: true, unit: 'milliseconds' },
                  jitterMs: { kind: 'number', min: 0, max: 600_000, integer: true, unit: 'milliseconds' },
                  timeoutMs: { kind: 'number', min: 0, max: 600_000, integer: true, unit: 'milliseconds' },
                  rateKbps: { kind: 'number', min: 1, max: 10_000_000, integer: true, unit: 'KB/s' },
                  sliceBytes: { kind: 'number', min: 1, max: 1_048_576, integer: true, unit: 'bytes' },
                  sliceDelayUs: { kind: 'number', min: 0, max: 10_000_000, integer: true, unit: 'microseconds' },
                },
              },
              durationSeconds: { kind: 'number', min: 1, max: 3600, integer: true, unit: 'seconds' },
              flap: {
                kind: 'object',
                fields: {
                  downSeconds: { kind: 'number', min: 1, max: 3600, integer: true, unit: 'seconds' },
                  upSeconds: { kind: 'number', min: 1, max: 3600, integer: true, unit: 'seconds' },
                },
              },
              load: { kind: 'list', item: { kind: 'text', pattern: /^\/[A-Za-z0-9/_.{}?=&-]*$/, rule: 'a path starting with /' } },
              expect: {
                kind: 'object',
                fields: {
                  breakers: { kind: 'list', item: { kind: 'text', pattern: /^[a-z][a-z-]*:[a-z][a-z0-9-]*$/, rule: '<service>:<breaker> (events:postgres-replica) or edge:<api>' } },
                  fallbacks: { kind: 'list', item: { kind: 'text', pattern: /^[a-z][a-z0-9-]*$/, rule: 'an X-Parity-Fallback value (ivor, auth-stateless, …)' } },
                  p95Ms: { kind: 'number', min: 1, max: 600_000, integer: true, unit: 'milliseconds' },
                },
              },
            },
          },
        },
      },
    },
  },
};
