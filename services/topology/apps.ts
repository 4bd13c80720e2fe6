/**
 * The platform's application services, each in a blue and a green environment, the auth
 * service and the alert receiver. All run the stubs runtime image (`stubs/`, built through
 * the image catalog); `SERVICE` picks which one.
 */
import type { Color, ParityConfig } from '../config/schema.js';
import { DB_INIT, needsOf, type AppService } from '../config/profiles.js';
import { appEndpoint, dataEndpoint, devEndpoint } from './chaos.js';
import { STUB_PORT, stubEnvironment, type StubEnvironment } from '../contracts/index.js';
import { DATABASE, STATE, hostFor } from './common.js';
import { dbPasswordSecret, dbRole, type DbService } from './database-roles.js';
import { DEV_HEADER, appPort, fromConfigDir, ownBuild, ownContainer, ownEnvironment, ownHost, probeName } from './own-services.js';
import { nodeHealth, type ServiceSpec } from './types.js';

/** The admin account auth creates at start; its password is the generated `admin_password` secret. */
export const ADMIN_EMAIL = 'admin@parity.localhost';


function dependsOn(logical: string, config: ParityConfig, running: ReadonlySet<string>): Record<string, 'service_healthy' | 'service_completed_successfully'> {
  return Object.fromEntries(needsOf(logical, config).filter((need) => running.has(need)).map((need) => [need, need === DB_INIT ? 'service_completed_successfully' : 'service_healthy']));
}

/** The breakers' settings from `breakers.app`, for every stub. */
function breakerEnvironment(config: ParityConfig): Partial<StubEnvironment> {
  const app = config.breakers.app;
  return {
    BREAKER_RESET_MS: String(Math.round(app.resetSeconds * 1000)),
    BREAKER_ERROR_PERCENT: String(app.errorPercent),
    BREAKER_VOLUME: String(app.volume),
    TIMEOUT_DB_WRITE_MS: String(app.timeoutsMs.postgresWriter),
    TIMEOUT_DB_READ_MS: String(app.timeoutsMs.postgresReader),
    DB_READ_HEDGE_MS: String(app.hedgeReadsMs),
    TIMEOUT_REDIS_MS: String(app.timeoutsMs.redis),
    TIMEOUT_S3_MS: String(app.timeoutsMs.s3),
    TIMEOUT_UPSTREAM_MS: String(app.timeoutsMs.services),
  };
}

/** Settings every stub that uses the data tier gets: writer, reader, Redis, S3 (when running), through Toxiproxy with chaos on. */
function dataEnvironment(service: DbService, config: ParityConfig, running: ReadonlySet<string>): Omit<StubEnvironment, 'SERVICE'> {
  const writer = dataEndpoint(config, 'postgres-writer');
  const reader = dataEndpoint(config, 'postgres-reader');
  const redis = dataEndpoint(config, 'redis');
  const s3 = dataEndpoint(config, 's3');
  return {
    DATABASE_HOST: writer.host,
    ...(writer.port !== 5432 ? { DATABASE_PORT: String(writer.port) } : {}),
    DATABASE_REPLICA_HOST: reader.host,
    ...(reader.port !== writer.port ? { DATABASE_REPLICA_PORT: String(reader.port) } : {}),
    DATABASE_NAME: DATABASE.name,
    // The service's own role (owner of its schema, no superuser): services/topology/database-roles.ts.
    DATABASE_USER: dbRole(service),
    DATABASE_PASSWORD_FILE: `/run/secrets/${dbPasswordSecret(service)}`,
    // The ACL user in the URL, its password from the secret file (the stub puts them together).
    REDIS_URL: `redis://app@${redis.host}:${redis.port}`,
    REDIS_PASSWORD_FILE: '/run/secrets/redis_app_password',
    // Public keys only: the APIs verify tokens, only auth can sign them.
    JWT_PUBLIC_KEYS_FILE: '/run/secrets/jwt_public_keys',
    ...breakerEnvironment(config),
    ...(running.has('s3')
      ? { S3_ENDPOINT: `http://${s3.host}:${s3.port}`, S3_ACCESS_KEY_FILE: '/run/secrets/s3_access_key', S3_SECRET_KEY_FILE: '/run/secrets/s3_secret_key' }
      : {}),
  };
}

/** The frontend of a color reaches the APIs of the same color; through their proxies with chaos on. */
function upstreamEnvironment(config: ParityConfig, color: Color): Partial<StubEnvironment> {
  // A developer's process on the host with routing: all serves the frontend's calls too.
  const url = (app: 'ivor' | 'events' | 'newsroom') => {
    const endpoint = (ownHost(config, app)?.routing === 'all' ? devEndpoint(config, app) : undefined) ?? appEndpoint(config, app, color);
    return `http://${endpoint.host}:${endpoint.port}`;
  };
  // Without chaos the stub's default (`http://<app>-<color>:3000`) is right, unless the service listens elsewhere.
  const named = (['ivor', 'events', 'newsroom'] as const).filter((app) => config.chaos.enabled || appPort(config, app) !== STUB_PORT || ownHost(config, app)?.routing === 'all');
  const variables = { ivor: 'IVOR_URL', events: 'EVENTS_URL', newsroom: 'NEWSROOM_URL' } as const;
  return Object.fromEntries(named.map((app) => [variables[app], url(app)]));
}

const dataSecrets = (service: DbService, running: ReadonlySet<string>) =>
  [dbPasswordSecret(service), 'jwt_public_keys', 'redis_app_password', ...(running.has('s3') ? (['s3_access_key', 's3_secret_key'] as const) : [])] as const;

/** A color's deploy settings file (VERSION, FAULT), written by `make up` (defaults) and `make deploy`. */
export const colorEnvFile = (color: Color): string => `${STATE}/deploy/${color}.env`;

/** The variable `make deploy` sets to run a color on another image than the catalog's. */
export const colorImageVariable = (color: Color): string => `PARITY_IMAGE_${color.toUpperCase()}`;
/** The variable `make deploy SERVICES=events IMAGE=…` sets to run one service of a color on its own image (wins over the color's). */
export const serviceImageVariable = (app: AppService, color: Color): string => `PARITY_IMAGE_${app.toUpperCase()}_${color.toUpperCase()}`;

export function appService(app: AppService, color: Color, config: ParityConfig, image: string, running: ReadonlySet<string>): ServiceSpec {
  const frontendOnly = app === 'frontend';
  const stub: ServiceSpec = {
    name: `${app}-${color}`,
    logical: app,
    tier: 'app',
    color,
    image,
    imageVariables: [serviceImageVariable(app, color), colorImageVariable(color)],
    envFile: [colorEnvFile(color)],
    environment: stubEnvironment({
      SERVICE: app,
      COLOR: color,
      PORT: String(STUB_PORT),
      ...(frontendOnly ? { ...breakerEnvironment(config), ...upstreamEnvironment(config, color), JWT_PUBLIC_KEYS_FILE: '/run/secrets/jwt_public_keys' } : dataEnvironment(app, config, running)),
    }),
    // The frontend talks to the APIs only: it stays off the data network. It verifies the admin page's token itself.
    ...(frontendOnly ? { networks: ['apps'] as const, secrets: ['jwt_public_keys'] as const } : { secrets: [...dataSecrets(app, running)] }),
    dependsOn: dependsOn(app, config, running),
    healthcheck: nodeHealth(STUB_PORT, '/health'),
    httpPort: STUB_PORT,
    url: `https://${hostFor(config)}:${config.ports.https}${app === 'frontend' ? '/' : `/api/${app === 'ivor' ? 'resources' : app === 'events' ? 'events' : 'articles'}`}`,
  };
  const host = ownHost(config, app);
  if (host) {
    const who = host.routing === 'all' ? 'all users\' requests' : `requests with ${DEV_HEADER}: ${host.name}`;
    return { ...stub, url: `${stub.url} (${who} → your process on this host's port ${host.port})` };
  }
  const mine = ownContainer(config, app);
  if (!mine) return stub;
  const { own, image: ownImageRef } = mine;
  // The developer's image (or a build of their source) in the stub's place, with everything the stub
  // had (networks, role and password file, Redis ACL user, S3 keys, public keys, Toxiproxy paths,
  // both colors) and its own port, environment and health paths. A deploy of the stubs' image leaves
  // it alone; a deploy naming it replaces it.
  const build = ownBuild(config, app)?.build;
  return {
    ...stub,
    image: ownImageRef,
    imageVariables: [serviceImageVariable(app, color)],
    environment: ownEnvironment(own, stub.environment ?? {}),
    ...(own.secrets ? { extraSecrets: Object.entries(own.secrets).map(([name, file]) => ({ name, source: `${app}_own_${name}`, file: fromConfigDir(file) })) } : {}),
    healthcheck: { test: ['NONE'] },
    probedBy: probeName(stub.name),
    httpPort: appPort(config, app),
    // The uid it reads its secrets as (their copies are 0600): the stubs' (services/topology/hardening.ts).
    // Live sync copies files as this user, and the engine looks it up in the image's passwd: a
    // build's user is the uid alone (the image needs a user with uid 1000), an image's uid:gid.
    user: build ? '1000' : '1000:1000',
    // Its root filesystem is its own business (the stubs' is read-only: hardening.ts); live sync writes to it.
    readOnly: false,
    ...(build
      ? {
          build: { context: fromConfigDir(build.context), ...(build.dockerfile ? { dockerfile: build.dockerfile } : {}), ...(build.target ? { target: build.target } : {}) },
          ...(build.watch?.length
            ? {
                watch: build.watch.map((rule) => ({
                  path: fromConfigDir(`${build.context.replace(/\/$/, '')}/${rule.path}`),
                  action: rule.action,
                  ...(rule.target ? { target: rule.target } : {}),
                  ...(rule.ignore?.length ? { ignore: rule.ignore } : {}),
                })),
              }
            : {}),
        }
      : {}),
  };
}

export function authService(config: ParityConfig, image: string, running: ReadonlySet<string>): ServiceSpec {
  return {
    name: 'auth',
    logical: 'auth',
    tier: 'app',
    image,
    environment: stubEnvironment({
      SERVICE: 'auth',
      PORT: String(STUB_PORT),
      ...dataEnvironment('auth', config, running),
      JWT_SIGNING_KEYS_FILE: '/run/secrets/jwt_signing_keys',
      ADMIN_EMAIL,
      ADMIN_PASSWORD_FILE: '/run/secrets/admin_password',
      ACCESS_TOKEN_TTL_SECONDS: '900',
    }),
    secrets: [...dataSecrets('auth', running), 'jwt_signing_keys', 'admin_password'],
    dependsOn: dependsOn('auth', config, running),
    healthcheck: nodeHealth(STUB_PORT, '/health'),
    url: `https://${hostFor(config)}:${config.ports.https}/auth/login (admin: ${ADMIN_EMAIL}, password in .parity/secrets/admin_password)`,
  };
}

export function alertReceiverService(image: string): ServiceSpec {
  return {
    name: 'alert-receiver',
    logical: 'alert-receiver',
    tier: 'monitoring',
    image,
    environment: stubEnvironment({ SERVICE: 'alert-receiver', PORT: String(STUB_PORT) }),
    healthcheck: nodeHealth(STUB_PORT, '/health'),
  };
}
