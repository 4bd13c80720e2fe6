/**
 * A developer's own service in a stub's place (`services.<name>.source: image`, issue #22): the
 * port it listens on, its health paths, its environment (the stub's, plus `env` and the `envMap`
 * templates filled from the stack's values), and the probe that judges its health from outside.
 *
 * A user's image may be distroless or alpine: the stack can't assume bash, curl or Node inside
 * it, so its container has no health check of its own. A small probe container beside it (the
 * stubs' image, whose bash has /dev/tcp) asks its readiness path over the network; `make up`
 * waits for the probe, and a deploy reads the probe's health as the service's.
 */
import type { ParityConfig, ServiceSourceConfig } from '../config/schema.js';
import type { AppService } from '../config/profiles.js';
import { STUB_PORT } from '../contracts/http.js';
import { httpProbe, type ServiceSpec } from './types.js';

/** The default health paths (the stubs'): liveness without dependencies, readiness L1–L3. */
export const DEFAULT_HEALTH = { live: '/health/live', ready: '/health' } as const;

/** Memory of a probe: bash and a sleep (~2 MiB seen); the limit leaves room for the checks' shells. */
const PROBE_MEMORY = '32m';

/** The service's own settings when its source is an image. */
export function ownImage(config: ParityConfig, app: AppService): (ServiceSourceConfig & { readonly image: string }) | undefined {
  const own = config.services[app];
  return own?.source === 'image' && own.image ? (own as ServiceSourceConfig & { readonly image: string }) : undefined;
}

/** The service's own settings when its source is a build of the developer's source (live sync). */
export function ownBuild(config: ParityConfig, app: AppService): (ServiceSourceConfig & { readonly build: NonNullable<ServiceSourceConfig['build']> }) | undefined {
  const own = config.services[app];
  return own?.source === 'build' && own.build ? (own as ServiceSourceConfig & { readonly build: NonNullable<ServiceSourceConfig['build']> }) : undefined;
}

/** The tag a build-mode service's image gets on the engine (`parity-dev/events:dev`). */
export const buildTag = (app: AppService): string => `parity-dev/${app}:dev`;

/** A developer's container in a stub's place (image or build mode): its settings, and the image it runs. */
export function ownContainer(config: ParityConfig, app: AppService): { readonly own: ServiceSourceConfig; readonly image: string } | undefined {
  const image = ownImage(config, app);
  if (image) return { own: image, image: image.image };
  const build = ownBuild(config, app);
  return build ? { own: build, image: buildTag(app) } : undefined;
}

/**
 * Where compose finds a build context: relative to parity.yaml's folder, which the runners pass
 * as PARITY_CONFIG_DIR (the model stays free of absolute paths); the repository root by default,
 * compose/'s parent.
 */
export const CONFIG_DIR = '${PARITY_CONFIG_DIR:-..}';
export const fromConfigDir = (path: string): string => `${CONFIG_DIR}/${path.replace(/^\.\/+/, '').replace(/\/$/, '')}`;

/** The port the service listens on in its container: its own `port` in image or build mode, else the stubs'. */
export function appPort(config: ParityConfig, app: string): number {
  return (APP_NAMES.has(app) ? ownContainer(config, app as AppService)?.own.port : undefined) ?? STUB_PORT;
}
const APP_NAMES: ReadonlySet<string> = new Set(['frontend', 'ivor', 'events', 'newsroom']);

/** Its liveness and readiness paths. */
export function healthPaths(config: ParityConfig, app: AppService): { readonly live: string; readonly ready: string } {
  const own = ownContainer(config, app)?.own ?? config.services[app];
  return { live: own?.health?.live ?? DEFAULT_HEALTH.live, ready: own?.health?.ready ?? DEFAULT_HEALTH.ready };
}

/** The probe's service name for a color of an app (`events-blue-probe`). */
export const probeName = (service: string): string => `${service}-probe`;

/**
 * The values an `envMap` template may name, from the environment the stub would have had. Keys are
 * those of ENV_TEMPLATE_VALUES (services/config/schema.ts); a value the stack doesn't run (S3 in the
 * minimal profile) is the empty string.
 */
export function templateValues(environment: Readonly<Record<string, string>>, port: number): Readonly<Record<string, string>> {
  const redis = environment.REDIS_URL ? new URL(environment.REDIS_URL) : undefined;
  return {
    'postgres.host': environment.DATABASE_HOST ?? '',
    'postgres.port': environment.DATABASE_PORT ?? '5432',
    'postgres.readerHost': environment.DATABASE_REPLICA_HOST ?? '',
    'postgres.readerPort': environment.DATABASE_REPLICA_PORT ?? environment.DATABASE_PORT ?? '5432',
    'postgres.database': environment.DATABASE_NAME ?? '',
    'postgres.user': environment.DATABASE_USER ?? '',
    'postgres.passwordFile': environment.DATABASE_PASSWORD_FILE ?? '',
    'redis.host': redis?.hostname ?? '',
    'redis.port': redis?.port ?? '',
    'redis.user': redis?.username ?? '',
    'redis.passwordFile': environment.REDIS_PASSWORD_FILE ?? '',
    's3.endpoint': environment.S3_ENDPOINT ?? '',
    's3.accessKeyFile': environment.S3_ACCESS_KEY_FILE ?? '',
    's3.secretKeyFile': environment.S3_SECRET_KEY_FILE ?? '',
    'jwt.publicKeysDir': environment.JWT_PUBLIC_KEYS_FILE ?? '',
    'service.port': String(port),
  };
}

/** `{name}` replaced by its value (the validator has refused unknown names). */
export const fillTemplate = (template: string, values: Readonly<Record<string, string>>): string =>
  template.replace(/\{([^{}]*)\}/g, (_, name: string) => values[name] ?? '');

/** The stub's environment with the service's port, its `env`, and its `envMap` filled in. */
export function ownEnvironment(own: ServiceSourceConfig, stubEnvironment: Readonly<Record<string, string>>): Record<string, string> {
  const port = own.port ?? STUB_PORT;
  const base = { ...stubEnvironment, PORT: String(port) };
  const values = templateValues(base, port);
  return {
    ...base,
    ...own.env,
    ...Object.fromEntries(Object.entries(own.envMap ?? {}).map(([name, template]) => [name, fillTemplate(template, values)])),
  };
}

/** The container that judges a user's service's readiness from outside it. */
export function probeService(service: ServiceSpec, config: ParityConfig, app: AppService, stubsImage: string): ServiceSpec {
  return {
    name: probeName(service.name),
    logical: 'probe',
    tier: 'app',
    // No color label: it serves nothing, and a deploy's per-color work (CPU weights, in-flight
    // counts) must not count it. Its name says which color it watches.
    image: stubsImage,
    // Nothing to serve: it sleeps, and its health check is the work.
    entrypoint: ['sleep', 'infinity'],
    networks: ['apps'],
    dependsOn: { [service.name]: 'service_started' },
    healthcheck: httpProbe(service.name, appPort(config, app), healthPaths(config, app).ready),
    user: '1000:1000',
    readOnly: true,
    memory: PROBE_MEMORY,
  };
}

/**
 * A process on the developer's host (`source: host`): containers reach it through the engine's
 * gateway, by this name (`extra_hosts: host.docker.internal:host-gateway`, Docker 20.10+).
 */
export const HOST_GATEWAY = 'host.docker.internal';
/** The header that sends a user's requests to a host process with `routing: header`. */
export const DEV_HEADER = 'X-Parity-Dev';
/** The default value of that header (`services.<name>.host.name`). */
export const DEFAULT_DEV_NAME = 'dev';

/** The service's host process settings, when its source is `host`. */
export function ownHost(config: ParityConfig, app: AppService): { readonly port: number; readonly routing: 'all' | 'header'; readonly name: string } | undefined {
  const own = config.services[app];
  if (own?.source !== 'host' || !own.host) return undefined;
  return { port: own.host.port, routing: own.host.routing ?? 'all', name: own.host.name ?? DEFAULT_DEV_NAME };
}

/** The apps whose source is a host process. */
export const hostApps = (config: ParityConfig): AppService[] => (['frontend', 'ivor', 'events', 'newsroom'] as const).filter((app) => ownHost(config, app));

/** Traefik's service for the host process (`events-dev`), and the one users' routers name: the process while it answers, else the stack's colors. */
export const devService = (app: string): string => `${app}-dev`;
export const devOrStackService = (app: string): string => `${app}-dev-or-stack`;
