/**
 * The platform's application services, each in a blue and a green environment, and the
 * auth service. They run the stubs (`stubs/`) on the Node runtime image.
 */
import type { Color, ParityConfig } from '../config/schema.js';
import { SERVICE_NEEDS, type AppService } from '../config/profiles.js';
import { DATABASE, STUB_PORT, hostFor } from './common.js';
import { nodeHealth, type ServiceSpec } from './types.js';

/** Stubs are mounted, not baked: the runtime image stays the catalog's Node image. */
const STUBS_MOUNT = '../stubs:/stubs:ro';

/** Where each dependency listens, for the stubs' L1 reachability checks. */
const DEPENDENCY_PORTS: Readonly<Record<string, number>> = { 'postgres-primary': 5432, 'postgres-replica': 5432, redis: 6379, s3: 8333 };

function dependencyList(logical: string, running: ReadonlySet<string>): string {
  return (SERVICE_NEEDS[logical] ?? [])
    .filter((need) => running.has(need) && DEPENDENCY_PORTS[need])
    .map((need) => `${need}:${DEPENDENCY_PORTS[need]}`)
    .join(',');
}

function dependsOn(logical: string, running: ReadonlySet<string>): Record<string, 'service_healthy'> {
  return Object.fromEntries((SERVICE_NEEDS[logical] ?? []).filter((need) => running.has(need)).map((need) => [need, 'service_healthy']));
}

export function appService(app: AppService, color: Color, config: ParityConfig, image: string, running: ReadonlySet<string>): ServiceSpec {
  const environment: Record<string, string> = {
    SERVICE: app,
    COLOR: color,
    VERSION: `0.0.0-${color}`,
    PORT: String(STUB_PORT),
    DATABASE_HOST: 'postgres-primary',
    DATABASE_REPLICA_HOST: 'postgres-replica',
    DATABASE_NAME: DATABASE.name,
    DATABASE_USER: DATABASE.user,
    DATABASE_PASSWORD_FILE: '/run/secrets/postgres_password',
    REDIS_URL: 'redis://redis:6379',
    DEPENDENCIES: dependencyList(app, running),
  };
  if (running.has('s3')) {
    Object.assign(environment, {
      S3_ENDPOINT: 'http://s3:8333',
      S3_ACCESS_KEY_FILE: '/run/secrets/s3_access_key',
      S3_SECRET_KEY_FILE: '/run/secrets/s3_secret_key',
    });
  }
  return {
    name: `${app}-${color}`,
    logical: app,
    tier: 'app',
    color,
    image,
    command: ['node', '/stubs/app/server.mjs'],
    environment,
    volumes: [STUBS_MOUNT],
    secrets: ['postgres_password', ...(running.has('s3') ? (['s3_access_key', 's3_secret_key'] as const) : [])],
    dependsOn: dependsOn(app, running),
    healthcheck: nodeHealth(STUB_PORT, '/health'),
    url: `https://${hostFor(config)}:${config.ports.https}${app === 'frontend' ? '/' : `/api/${app === 'ivor' ? 'chat' : app === 'events' ? 'events' : 'articles'}`}`,
  };
}

export function authService(config: ParityConfig, image: string, running: ReadonlySet<string>): ServiceSpec {
  return {
    name: 'auth',
    logical: 'auth',
    tier: 'app',
    image,
    command: ['node', '/stubs/auth/server.mjs'],
    environment: { PORT: String(STUB_PORT), JWT_KEY_FILE: '/run/secrets/jwt_key', REDIS_URL: 'redis://redis:6379', TOKEN_TTL_SECONDS: '900' },
    volumes: [STUBS_MOUNT],
    secrets: ['jwt_key'],
    dependsOn: dependsOn('auth', running),
    healthcheck: nodeHealth(STUB_PORT, '/health'),
    url: `https://${hostFor(config)}:${config.ports.https}/auth/token`,
  };
}

export function alertReceiverService(image: string): ServiceSpec {
  return {
    name: 'alert-receiver',
    logical: 'alert-receiver',
    tier: 'monitoring',
    image,
    command: ['node', '/stubs/alert-receiver/server.mjs'],
    environment: { PORT: String(STUB_PORT) },
    volumes: [STUBS_MOUNT],
    healthcheck: nodeHealth(STUB_PORT, '/health'),
  };
}
