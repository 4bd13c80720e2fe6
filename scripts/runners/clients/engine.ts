/**
 * The engine seam: what a runner may ask of the thing that runs a stack (services created,
 * started, stopped, removed; containers listed with their role and color; exec, published ports,
 * logs). Runners get one with `engineOf(target)` (clients/engine-of.ts) and reach containers, ports and exec only through
 * it or through a named client (postgres, patroni, etcd, toxiproxy, the stubs' HTTP) built on it.
 * Compose implements it (clients/compose.ts); a Swarm or Kubernetes target implements the same
 * interface (ARCHITECTURE.md, "The engine seam", says which parts such a target must provide).
 */
import type { Color } from '../../../services/config/schema.js';
import type { RunResult } from '../core/exec.js';
import type { NetworkName } from '../../../services/topology/types.js';

export interface ComposeTarget {
  /** Compose project name. @default 'parity' */
  project: string;
  composeDir: string;
  stateDir: string;
  /** More variables for compose's interpolation (the link's network names). */
  environment?: Readonly<Record<string, string>>;
  /** Variables read at each compose call, for what changes while a runner works (the deployed colors' images). */
  variables?: () => Readonly<Record<string, string>>;
}

export interface ContainerState {
  /** The engine's container ID. */
  readonly id: string;
  /** The service (`events-blue`). */
  readonly service: string;
  /** The logical service the model made it for (`events`); the service's name when it has none. */
  readonly role: string;
  /** edge, app, data or monitoring ('' for what the model didn't label). */
  readonly tier: string;
  /** The deploy color of an app container. */
  readonly color?: Color;
  /** created, running, exited, … */
  readonly state: string;
  /** healthy, unhealthy, starting, or '' without a health check. */
  readonly health: string;
  /** The exit code once it exited (a job's 0 is its success). */
  readonly exitCode?: number;
  /** How often the engine restarted it (its restart policy). */
  readonly restartCount: number;
  /** Whether the kernel's OOM killer ended its last run. */
  readonly oomKilled: boolean;
}

export interface UpOptions {
  /** false: create the containers without starting them. @default true */
  readonly start?: boolean;
  /** Return once every started service is healthy (or running, without a health check). */
  readonly wait?: boolean;
  /** Replace the containers even when their configuration did not change. */
  readonly recreate?: boolean;
  /** Leave the services' dependencies as they are. */
  readonly noDeps?: boolean;
  /** Remove containers of services the definition no longer has. */
  readonly removeOrphans?: boolean;
  /** Seconds a replaced container gets to stop. */
  readonly stopTimeoutSeconds?: number;
  /** Build the services that have a build (a developer's source) before starting them. */
  readonly build?: boolean;
}

export interface Engine {
  readonly target: ComposeTarget;
  /** Which implementation this is. */
  readonly kind: 'compose';
  /** Create and start services (all when none are named); `start: false` only creates them. */
  up(services?: readonly string[], options?: UpOptions): Promise<void>;
  /** Build the named services' images from their build sections (a developer's source), without starting anything. */
  build(services: readonly string[], onLine?: (line: string) => void): Promise<void>;
  start(services: readonly string[]): Promise<void>;
  stop(services: readonly string[]): Promise<void>;
  restart(services: readonly string[]): Promise<void>;
  /** Stop and remove services' containers (and their anonymous volumes, when asked). */
  remove(services: readonly string[], options?: { readonly volumes?: boolean }): Promise<void>;
  /** Remove the whole stack: containers, networks (and volumes, when asked). */
  down(options?: { readonly volumes?: boolean }): Promise<void>;
  /** `down` as argv and environment, for a runner that starts it its own way (make clean's fake exec in tests). */
  downCommand(options?: { readonly volumes?: boolean }): { readonly argv: string[]; readonly env: NodeJS.ProcessEnv };
  /** The project's containers with role, color, state and health. */
  listContainers(): Promise<ContainerState[]>;
  /** IDs of the project's containers (of one service; running ones only, when asked). */
  containerIds(service?: string, options?: { readonly running?: boolean }): Promise<string[]>;
  /** The container of a service (its first replica); StackNotUpError when it doesn't run. */
  containerOf(service: string): Promise<string>;
  /** A command in a service's running container; its output (CommandError when it fails). */
  exec(service: string, argv: readonly string[], options?: { readonly onLine?: (line: string) => void; readonly timeoutMs?: number }): Promise<string>;
  /** A command in a service's running container whose failure is an answer (exit code and output). */
  tryExec(service: string, argv: readonly string[]): Promise<RunResult>;
  /** The host port published for a service's container port (undefined: not running or not published). */
  publishedPort(service: string, containerPort: number): Promise<number | undefined>;
  /** The edge's HTTPS entrypoint on this host (the operators' entrypoint); StackNotUpError when it isn't up. */
  httpsEndpoint(): Promise<string>;
  /** Copy a file from this host into a service's container (created or running). */
  copyInto(service: string, hostPath: string, containerPath: string): Promise<void>;
  /** The CPU weight of services' containers relative to others (1024: the engine's default). */
  setCpuWeight(services: readonly string[], shares: number): Promise<void>;
  /** Cut a service's container off one of the project's networks (a partition fault); CommandError when the engine refuses. */
  disconnect(service: string, network: NetworkName): Promise<void>;
  /** Put it back on the network under its service's name (already there is fine). */
  reconnect(service: string, network: NetworkName): Promise<void>;
  /** Remove named volumes of the project (gone already is fine). */
  removeVolumes(names: readonly string[]): Promise<void>;
  /** A service's last log lines (stdout and stderr), never throwing. */
  logs(service: string, tail: number): Promise<string>;
  /** Follow services' logs (all, when none are named) in this terminal; the exit code. */
  followLogs(services: readonly string[]): number;
  /**
   * Follow the services' live-sync rules (a developer's source: sync, sync and restart, rebuild)
   * until `signal` aborts, each line of the engine's output to `onLine`; the exit code.
   * `overrideFile`: a compose file layered over the stack's for the watch (make dev's, which hands
   * the rebuild rules to Parity: services/render/compose.ts, renderWatchOverride).
   */
  watch(services: readonly string[], onLine: (line: string) => void, signal?: AbortSignal, options?: { readonly overrideFile?: string }): Promise<number>;
}
