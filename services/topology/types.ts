/**
 * The typed topology: what each service is, before it becomes compose YAML.
 * Every service module (one per service) returns `ServiceSpec`s; nothing here does I/O.
 */
import type { Color } from '../config/schema.js';

export interface PortSpec {
  /** Host address the port binds to. @default config.bindAddress (127.0.0.1) */
  readonly bind: string;
  /** Host port; absent = an ephemeral one (`docker compose port` tells which). */
  readonly host?: number;
  readonly container: number;
}

export interface HealthSpec {
  /** Exec-form test (`CMD ...`) or shell form (`CMD-SHELL ...`). */
  readonly test: readonly string[];
  /** @default '5s' */
  readonly interval?: string;
  /** @default '3s' */
  readonly timeout?: string;
  /** @default 30 */
  readonly retries?: number;
  /** Grace period before failures count. @default '5s' */
  readonly startPeriod?: string;
}

export type Tier = 'edge' | 'app' | 'data' | 'monitoring';

/**
 * The project's networks (compose names them `<project>_<network>`, so several projects run side
 * by side). Each is a trust zone: a container reaches only what shares a network with it. `front`
 * holds Traefik alone, at a fixed address: the front (on the host network) reaches it there, and
 * Traefik believes PROXY headers from that network's gateway only (services/topology/front.ts).
 */
export const NETWORKS = ['front', 'edge', 'apps', 'data', 'monitoring'] as const;
export type NetworkName = (typeof NETWORKS)[number];

/**
 * Where a tier sits by default: the edge reaches the apps (never the data), the apps reach the
 * data, the data services only each other. Monitoring gets, per service, what it must scrape
 * (`ServiceSpec.networks`): Prometheus the apps and the data, an exporter what it exports.
 */
export const TIER_NETWORKS: Readonly<Record<Tier, readonly NetworkName[]>> = {
  edge: ['edge', 'apps'],
  app: ['apps', 'data'],
  data: ['data'],
  monitoring: ['monitoring'],
};

export interface ServiceSpec {
  /** Compose service name (also its DNS name on the network). */
  readonly name: string;
  /** Logical service (`ivor` for `ivor-blue`); profiles and resources are keyed by it. */
  readonly logical: string;
  readonly tier: Tier;
  readonly image: string;
  readonly entrypoint?: readonly string[];
  readonly command?: readonly string[];
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Files of `KEY=value` lines loaded into the environment (compose `env_file`). A blue/green
   * color's VERSION and FAULT live there, in the state directory, so deploys change them and
   * `make up` keeps what was deployed.
   */
  readonly envFile?: readonly string[];
  /**
   * Variables that, when set in compose's environment, replace `image`, the first set one winning
   * (a deploy's image for this service and color, then for the whole color). @default []
   */
  readonly imageVariables?: readonly string[];
  readonly ports?: readonly PortSpec[];
  /** Compose short syntax (`source:target[:ro]`); relative sources are relative to compose/. */
  readonly volumes?: readonly string[];
  /** Names of compose secrets mounted at /run/secrets/<name>. */
  readonly secrets?: readonly string[];
  /**
   * A developer's own secrets (`services.<name>.secrets`): mounted at /run/secrets/<name> from their
   * file as it is (relative to parity.yaml: `${PARITY_CONFIG_DIR:-..}/…`), not copied into the state.
   */
  readonly extraSecrets?: readonly { readonly name: string; readonly source: string; readonly file: string }[];
  readonly dependsOn?: Readonly<Record<string, 'service_healthy' | 'service_started' | 'service_completed_successfully'>>;
  /** Every long-running service has one: `make up` waits on it. A job's is `['NONE']` (rendered disabled). */
  readonly healthcheck: HealthSpec;
  /**
   * The check on a target where a task's name resolves only once the task is healthy (Swarm's
   * DNS): a member of a group that must find its peers by name before it can be healthy (an etcd
   * member before quorum) would never be found. It asks only that the process serves its peers.
   * @default healthcheck
   */
  readonly peerHealthcheck?: HealthSpec;
  /**
   * The group of copies of one database or consensus group this service is one of (Patroni's nodes,
   * a primary and its replica, etcd's members): on a multi-node target the copies go one zone each,
   * so losing a zone keeps the others. @default none: a single copy
   */
  readonly copyOf?: string;
  /**
   * The service whose health check judges this one from outside (a user's image, which may have
   * no shell to run a check in): this container's own check is disabled, `make up` counts it ready
   * when it runs and its probe is healthy, and a deploy reads the probe's health as its own.
   */
  readonly probedBy?: string;
  /** The port it serves HTTP on, labelled for the runners that ask it for /health and /metrics. @default none */
  readonly httpPort?: number;
  /**
   * A one-shot (`db-init`): it runs to completion at every start, never restarts, and the services
   * that need it wait for it with `service_completed_successfully`. `make up` counts it done when it
   * exited 0. @default false
   */
  readonly job?: boolean;
  /** `uid:gid` (or a name) the container runs as. @default the image's (services/topology/hardening.ts may set one) */
  readonly user?: string;
  /**
   * Capabilities added back: every container starts with all of them dropped and
   * `no-new-privileges`. @default [] (none)
   */
  readonly capAdd?: readonly string[];
  /** A read-only root filesystem: the image writes only to its volumes and `tmpfs`. @default false */
  readonly readOnly?: boolean;
  /** Scratch directories in memory (compose `tmpfs`), for a read-only root filesystem. @default [] */
  readonly tmpfs?: readonly string[];
  /** Memory limit (docker syntax, `256m`) when `resources.<service>.memory` doesn't set one. @default none */
  readonly memory?: string;
  /**
   * A Go program: its runtime gets `GOMEMLIMIT` at GO_MEMLIMIT_SHARE of the container's memory
   * limit. Go doesn't read the cgroup's limit; with GOGC's default it lets the heap grow to twice
   * the live data, and under load Traefik crossed its 256 MiB limit and was OOM-killed. With the
   * soft limit below the hard one it collects harder instead. @default false
   */
  readonly goRuntime?: boolean;
  /**
   * resolv.conf options (compose `dns_opt`). A Patroni node cut off the network must fail its etcd
   * calls fast to demote itself in time; Docker's default DNS timeouts (5 s × 2 tries per lookup)
   * kept a partitioned leader writable for 20–30 s in a prototype, long after another was promoted.
   */
  readonly dnsOptions?: readonly string[];
  /**
   * `host`: the container shares the host's network stack (the front, which must see clients' real
   * addresses). It joins no project network and publishes nothing: it binds host ports itself.
   */
  readonly networkMode?: 'host';
  /** Built from a developer's source (`source: build`): compose builds `image` from it. */
  readonly build?: { readonly context: string; readonly dockerfile?: string; readonly target?: string };
  /** Live sync (`docker compose watch`): compose `develop.watch` rules, paths already resolved for compose. */
  readonly watch?: readonly { readonly path: string; readonly action: 'sync' | 'sync+restart' | 'rebuild'; readonly target?: string; readonly ignore?: readonly string[] }[];
  /** Host names it resolves to addresses (`name:address`; `host-gateway` is the engine's gateway to this host). @default [] */
  readonly extraHosts?: readonly string[];
  /** More names on each of its networks (a region's `primary-postgres`, reached from the link between regions). */
  readonly aliases?: readonly string[];
  /**
   * The networks it joins, when its tier's (`TIER_NETWORKS`) are not enough: a proxy or a scraper
   * that must reach another zone. @default TIER_NETWORKS[tier]
   */
  readonly networks?: readonly NetworkName[];
  /** A fixed address on a network (Traefik on `front`, where the front finds it and Traefik trusts the gateway). */
  readonly addresses?: Readonly<Partial<Record<NetworkName, string>>>;
  readonly color?: Color;
  /** What a person opens or connects to, for the status table. */
  readonly url?: string;
}

/** The networks a service joins: its own list, else its tier's; none on the host network. */
export const networksOf = (service: ServiceSpec): readonly NetworkName[] => (service.networkMode === 'host' ? [] : (service.networks ?? TIER_NETWORKS[service.tier]));

/** A project's network as the engine names it (`parity_data`): compose's `<project>_<network>`. */
export const projectNetwork = (project: string, network: NetworkName): string => `${project}_${network}`;

interface FileSpecBase {
  /** Path relative to compose/. */
  readonly path: string;
  /** The model module the file comes from (`services/topology/traefik.ts`), named in its GENERATED header. */
  readonly source: string;
  /** Make it executable. @default false */
  readonly executable?: boolean;
}

/**
 * A file the generator writes beside compose.yaml (configs, scripts, dashboards), described
 * rather than written out: services/render/ turns it into text, so headers, key order and the
 * config hash of the services that mount it are decided in one place.
 */
export type FileSpec =
  | (FileSpecBase & {
      readonly format: 'yaml';
      /** Identifying keys first, the rest sorted, after a GENERATED comment. */
      readonly value: object;
    })
  | (FileSpecBase & {
      readonly format: 'json';
      /** Sorted keys. JSON has no comments, so no header: say "generated" in a field the format has (Grafana: `description`). */
      readonly value: object;
    })
  | (FileSpecBase & {
      readonly format: 'script';
      /** Bash lines; the shebang and the GENERATED comment go before them. */
      readonly value: readonly string[];
    })
  | (FileSpecBase & {
      readonly format: 'config';
      /** Lines of a config format whose comments start with `#` (HAProxy): the GENERATED comment goes first. */
      readonly value: readonly string[];
    })
  | (FileSpecBase & {
      readonly format: 'text';
      /** Written as is: the renderer can't know the format's comment syntax to add a header. */
      readonly value: string;
    });

/**
 * A health check for images that have bash but no curl/wget: an HTTP GET over /dev/tcp.
 * Passes on a 2xx status line.
 */
export function httpHealth(port: number, path: string, options: Partial<HealthSpec> = {}): HealthSpec {
  return {
    test: [
      'CMD',
      'bash',
      '-c',
      `exec 3<>/dev/tcp/127.0.0.1/${port} && printf 'GET ${path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 2[0-9][0-9] '`,
    ],
    ...options,
  };
}

/** A health check that passes once something listens on a local TCP port (bash's /dev/tcp). */
export function tcpHealth(port: number, options: Partial<HealthSpec> = {}): HealthSpec {
  return { test: ['CMD', 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], ...options };
}

/**
 * A 2xx from `host:port` `path`, asked with bash's /dev/tcp from the probing container (a probe beside
 * a user's image, which may have no shell: services/topology/own-services.ts).
 */
export function httpProbe(host: string, port: number, path: string): HealthSpec {
  const request = `GET ${path} HTTP/1.0\\r\\nHost: ${host}\\r\\n\\r\\n`;
  return {
    test: ['CMD', 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port} && printf '${request}' >&3 && head -n 1 <&3 | grep -q '^HTTP/1\\.[01] 2'`],
  };
}

/** A health check for Node images: fetch a local path, pass on a 2xx. */
export function nodeHealth(port: number, path: string): HealthSpec {
  // bash's /dev/tcp, not `node -e fetch(…)`: a Node process per check cost ~105 ms of CPU,
  // every 5 s in each of a dozen containers (a quarter of a core on a 2-core machine, and
  // spikes when checks line up during a deploy); bash costs ~3 ms. The image is Debian's, so
  // bash is there; a 2xx status line passes, anything else (or no answer) fails.
  const request = `GET ${path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n`;
  return {
    test: ['CMD', 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port} && printf '${request}' >&3 && head -n 1 <&3 | grep -q '^HTTP/1\\.[01] 2'`],
  };
}
