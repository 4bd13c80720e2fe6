/**
 * The platform's application services, each in a blue and a green environment, the auth
 * service and the alert receiver. All run the stubs runtime image (`stubs/`, built through
 * the image catalog); `SERVICE` picks which one.
 */
import type { Color, ParityConfig } from '../config/schema.js';
import { databaseEndpoints, needsOf, type AppService } from '../config/profiles.js';
import { STUB_PORT, stubEnvironment, type StubEnvironment } from '../contracts/index.js';
import { DATABASE, STATE, hostFor } from './common.js';
import { nodeHealth, type ServiceSpec } from './types.js';

/** The admin account auth creates at start; its password is the generated `admin_password` secret. */
export const ADMIN_EMAIL = 'admin@parity.localhost';

/** Breakers wait this long before a trial call; the architecture's open-state timeout. */
export const BREAKER_RESET_MS = 60_000;

function dependsOn(logical: string, config: ParityConfig, running: ReadonlySet<string>): Record<string, 'service_healthy'> {
  return Object.fromEntries(needsOf(logical, config).filter((need) => running.has(need)).map((need) => [need, 'service_healthy']));
}

/** Settings every stub that uses the data tier gets: primary, replica, Redis, S3 (when running). */
function dataEnvironment(config: ParityConfig, running: ReadonlySet<string>): Omit<StubEnvironment, 'SERVICE'> {
  const database = databaseEndpoints(config);
  return {
    DATABASE_HOST: database.writer,
    DATABASE_REPLICA_HOST: database.reader,
    DATABASE_NAME: DATABASE.name,
    DATABASE_USER: DATABASE.user,
    DATABASE_PASSWORD_FILE: '/run/secrets/postgres_password',
    REDIS_URL: 'redis://redis:6379',
    JWT_KEY_FILE: '/run/secrets/jwt_key',
    BREAKER_RESET_MS: String(BREAKER_RESET_MS),
    ...(running.has('s3')
      ? { S3_ENDPOINT: 'http://s3:8333', S3_ACCESS_KEY_FILE: '/run/secrets/s3_access_key', S3_SECRET_KEY_FILE: '/run/secrets/s3_secret_key' }
      : {}),
  };
}

const dataSecrets = (running: ReadonlySet<string>) =>
  ['postgres_password', 'jwt_key', ...(running.has('s3') ? (['s3_access_key', 's3_secret_key'] as const) : [])] as const;

/** A color's deploy settings file (VERSION, FAULT), written by `make up` (defaults) and `make deploy`. */
export const colorEnvFile = (color: Color): string => `${STATE}/deploy/${color}.env`;

/** The variable `make deploy` sets to run a color on another image than the catalog's. */
export const colorImageVariable = (color: Color): string => `PARITY_IMAGE_${color.toUpperCase()}`;

export function appService(app: AppService, color: Color, config: ParityConfig, image: string, running: ReadonlySet<string>): ServiceSpec {
  const frontendOnly = app === 'frontend';
  return {
    name: `${app}-${color}`,
    logical: app,
    tier: 'app',
    color,
    image,
    imageVariable: colorImageVariable(color),
    envFile: [colorEnvFile(color)],
    environment: stubEnvironment({
      SERVICE: app,
      COLOR: color,
      PORT: String(STUB_PORT),
      ...(frontendOnly ? { BREAKER_RESET_MS: String(BREAKER_RESET_MS) } : dataEnvironment(config, running)),
    }),
    ...(frontendOnly ? {} : { secrets: [...dataSecrets(running)] }),
    dependsOn: dependsOn(app, config, running),
    healthcheck: nodeHealth(STUB_PORT, '/health'),
    url: `https://${hostFor(config)}:${config.ports.https}${app === 'frontend' ? '/' : `/api/${app === 'ivor' ? 'resources' : app === 'events' ? 'events' : 'articles'}`}`,
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
      ...dataEnvironment(config, running),
      ADMIN_EMAIL,
      ADMIN_PASSWORD_FILE: '/run/secrets/admin_password',
      ACCESS_TOKEN_TTL_SECONDS: '900',
    }),
    secrets: [...dataSecrets(running), 'admin_password'],
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
