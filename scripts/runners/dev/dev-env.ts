/**
 * `make dev-env`: write the environment a platform service's container has, rewritten for a
 * process on the developer's host (services/dev/host-env.ts), into the state directory (0600).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { APP_SERVICES, type AppService, type ParityConfig } from '../../../services/config/schema.js';
import { StackNotUpError, suggest, UsageError } from '../../../services/errors.js';
import { DEV_ENV_FORMATS, formatEnvironment, hostEnvironment, type DevEnvFormat, type HostEndpoints } from '../../../services/dev/host-env.js';
import { buildTopology } from '../../../services/topology/index.js';
import { hostDataProxyPorts } from '../../../services/topology/chaos.js';
import { profileServices } from '../../../services/config/profiles.js';
import type { ComposeTarget } from '../clients/engine.js';
import { engineOf } from '../clients/engine-of.js';

export interface DevEnvResult {
  readonly path: string;
  readonly variables: number;
  readonly notes: readonly string[];
}

/** Which service and format, checked before anything is asked of the engine (exit 2). */
export function parseDevEnvRequest(service: string | undefined, format: string | undefined): { readonly service: AppService; readonly format: DevEnvFormat } {
  if (!service) throw new UsageError(`SERVICE is required: one of ${APP_SERVICES.join(', ')} (auth stays a stub)`);
  if (!(APP_SERVICES as readonly string[]).includes(service)) {
    const hint = suggest(service, APP_SERVICES);
    throw new UsageError(`SERVICE=${service}: not a platform service${hint ? ` (did you mean ${hint}?)` : ''}; expected one of ${APP_SERVICES.join(', ')} (auth stays a stub)`);
  }
  const chosen = format || 'dotenv';
  if (!(DEV_ENV_FORMATS as readonly string[]).includes(chosen)) throw new UsageError(`FORMAT=${chosen}: expected one of ${DEV_ENV_FORMATS.join(', ')}`);
  return { service: service as AppService, format: chosen as DevEnvFormat };
}

/**
 * The data stores' published loopback ports on this host; StackNotUpError when the writer publishes
 * none. With chaos on and a host process configured, Toxiproxy's data proxies (the containers' own
 * path, so make chaos reaches the host process's calls); else the stores' own ports.
 */
async function hostEndpoints(target: ComposeTarget, config: ParityConfig): Promise<HostEndpoints & { readonly viaToxiproxy: boolean }> {
  const engine = engineOf(target);
  const proxies = hostDataProxyPorts(config, profileServices(config));
  if (proxies['postgres-writer'] !== undefined) {
    const published = async (port: number | undefined) => (port === undefined ? undefined : engine.publishedPort('toxiproxy', port));
    const writer = await published(proxies['postgres-writer']);
    if (writer === undefined) throw new StackNotUpError(`Toxiproxy publishes no port for the database's writer in project ${target.project}: is the stack up? (make up)`);
    const [reader, redis, s3] = await Promise.all([published(proxies['postgres-reader']), published(proxies.redis), published(proxies.s3)]);
    return { writer, ...(reader !== undefined ? { reader } : {}), ...(redis !== undefined ? { redis } : {}), ...(s3 !== undefined ? { s3 } : {}), viaToxiproxy: true };
  }
  const ha = config.postgres.ha === 'patroni';
  const writer = await engine.publishedPort(ha ? 'postgres-writer' : 'postgres-primary', 5432);
  if (writer === undefined) throw new StackNotUpError(`the database's writer endpoint publishes no port in project ${target.project}: is the stack up? (make up)`);
  const reader = await engine.publishedPort(ha ? 'postgres-reader' : 'postgres-replica', 5432);
  const redis = await engine.publishedPort('redis', 6379);
  const s3 = await engine.publishedPort('s3', 8333);
  return { writer, ...(reader !== undefined ? { reader } : {}), ...(redis !== undefined ? { redis } : {}), ...(s3 !== undefined ? { s3 } : {}), viaToxiproxy: false };
}

/** The service's environment for a host process, from the running stack (StackNotUpError when it isn't up). */
export async function devEnvironment(target: ComposeTarget, config: ParityConfig, service: AppService): Promise<{ readonly env: Record<string, string>; readonly notes: string[] }> {
  const container = buildTopology(config).services.find((spec) => spec.name === `${service}-blue`)?.environment;
  if (!container) throw new UsageError(`${service} is not in the stack of this config (profile ${config.profile})`);
  const endpoints = await hostEndpoints(target, config);
  const { env, notes } = hostEnvironment(service, container, config, join(target.stateDir, 'secrets'), endpoints);
  return {
    env,
    notes: [
      ...notes,
      endpoints.viaToxiproxy
        ? 'data stores through Toxiproxy\'s published proxies: make chaos faults on them reach this process too'
        : 'data stores through their own published ports (with chaos on and a source: host service, through Toxiproxy instead)',
    ],
  };
}

export async function writeDevEnv(target: ComposeTarget, config: ParityConfig, service: AppService, format: DevEnvFormat): Promise<DevEnvResult> {
  const { env, notes } = await devEnvironment(target, config, service);
  const dir = join(target.stateDir, 'dev');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${service}.${format === 'dotenv' ? 'env' : format}`);
  // Written 0600 from the start: the file names secret paths and the service's role.
  await writeFile(path, formatEnvironment(env, format), { mode: 0o600 });
  await chmod(path, 0o600);
  return { path, variables: Object.keys(env).length, notes };
}
