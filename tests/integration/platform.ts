/**
 * The platform in testcontainers: a Postgres primary with a streaming replica (set up by the
 * generated replication scripts), Redis, SeaweedFS (S3) and the stubs runtime image running
 * each service, all on one network. Dependencies can be stopped and started again to watch
 * the stubs' breakers open, serve fallbacks and close.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { PostgreSqlContainer, type StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { RedisContainer, type StartedRedisContainer } from '@testcontainers/redis';
import { GenericContainer, Network, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { STUB_PORT, stubEnvironment, type StubEnvironment } from '../../services/contracts/index.js';
import { DATABASE } from '../../services/topology/common.js';
import { postgresFiles } from '../../services/topology/postgres.js';
import { DB_ROLE_SECRETS, DB_SERVICES, dbPasswordSecret, dbRole, rolesSql, type DbService } from '../../services/topology/database-roles.js';
import { renderFileContent } from '../../services/render/files.js';
import { imageRef } from './helpers.js';
import { generateSigningKey, publicKeys } from '../../scripts/runners/stack/signing-keys.js';

export const STUB_SERVICES = ['auth', 'ivor', 'events', 'newsroom', 'frontend'] as const;
export type StubName = (typeof STUB_SERVICES)[number];

export interface Platform {
  readonly network: StartedNetwork;
  readonly primary: StartedPostgreSqlContainer;
  readonly replica: StartedTestContainer;
  readonly redis: StartedRedisContainer;
  readonly s3: StartedTestContainer;
  readonly stubs: Record<StubName, StartedTestContainer>;
  readonly secrets: { readonly postgres: string; readonly signingKeys: string; readonly publicKeys: string; readonly admin: string; readonly s3Access: string; readonly s3Secret: string };
  /** Each database role's password, by its secret's name (`pg_events_password`). */
  readonly rolePasswords: Readonly<Record<string, string>>;
  readonly adminEmail: string;
  /** Base URL of a stub's mapped port. */
  url(service: StubName): string;
  /** `docker stop` (not remove): the container, its data and its network alias come back with `start`. */
  stop(container: StartedTestContainer): void;
  start(container: StartedTestContainer): void;
  /** Replication settings for a host-side pg client. */
  primaryClientConfig(): { host: string; port: number; user: string; password: string; database: string };
  replicaClientConfig(): { host: string; port: number; user: string; password: string; database: string };
  stopAll(): Promise<void>;
}

export interface PlatformOptions {
  /** Breakers wait this long before a trial call (the architecture's 60 s is too long for tests). */
  readonly breakerResetMs?: number;
  /** Extra environment per stub (e.g. FAULT). */
  readonly environment?: Partial<Record<StubName, Partial<StubEnvironment>>>;
}

const docker = (...args: string[]) => {
  const result = spawnSync('docker', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`docker ${args.join(' ')} failed: ${result.stderr.trim()}`);
};

export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const keySet = { keys: [await generateSigningKey()] };
  const secrets = {
    postgres: randomBytes(12).toString('hex'),
    replication: randomBytes(12).toString('hex'),
    signingKeys: JSON.stringify(keySet),
    publicKeys: JSON.stringify(publicKeys(keySet)),
    admin: randomBytes(12).toString('hex'),
    s3Access: `parity${randomBytes(6).toString('hex')}`,
    s3Secret: randomBytes(16).toString('hex'),
  };
  const adminEmail = 'admin@parity.localhost';
  const network = await new Network().start();
  const started: StartedTestContainer[] = [];
  try {
    // The model's replication scripts, as `make up` renders them for streaming replication: what is tested is what runs.
    const script = (name: string) => renderFileContent(postgresFiles().find((file) => file.path === `postgres/${name}`)!);
    const primary = await new PostgreSqlContainer(imageRef('postgres'))
      .withNetwork(network)
      .withNetworkAliases('postgres-primary')
      .withDatabase(DATABASE.name)
      .withUsername(DATABASE.user)
      .withPassword(secrets.postgres)
      .withEnvironment({ REPLICATION_PASSWORD_FILE: '/run/secrets/replication_password' })
      .withCopyContentToContainer([
        { content: script('init-primary.sh'), target: '/docker-entrypoint-initdb.d/10-replication.sh', mode: 0o755 },
        { content: secrets.replication, target: '/run/secrets/replication_password', mode: 0o644 },
      ])
      .withCommand(['postgres', '-c', 'wal_level=replica', '-c', 'max_wal_senders=10', '-c', 'max_replication_slots=10', '-c', 'hot_standby=on', '-c', 'wal_keep_size=64MB'])
      .start();
    started.push(primary);
    // The stack's db-init step, as generated: each service then connects as its own role, not the superuser.
    const rolePasswords = Object.fromEntries(DB_ROLE_SECRETS.map((secret) => [secret, randomBytes(12).toString('hex')]));
    await primary.copyContentToContainer([
      { content: rolesSql(), target: '/parity/roles.sql', mode: 0o644 },
      ...DB_ROLE_SECRETS.map((secret) => ({ content: rolePasswords[secret]!, target: `/run/secrets/${secret}`, mode: 0o644 })),
    ]);
    const init = await primary.exec(['psql', '-X', '-q', '-U', DATABASE.user, '-d', DATABASE.name, '-f', '/parity/roles.sql']);
    if (init.exitCode !== 0) throw new Error(`roles.sql failed (exit ${init.exitCode}): ${init.output}`);
    const [replica, redis, s3] = await Promise.all([
      new GenericContainer(imageRef('postgres'))
        .withNetwork(network)
        .withNetworkAliases('postgres-replica')
        .withEnvironment({ PRIMARY_HOST: 'postgres-primary', REPLICATION_USER: DATABASE.replicationUser, REPLICATION_SLOT: DATABASE.slot, REPLICATION_PASSWORD_FILE: '/run/secrets/replication_password' })
        .withCopyContentToContainer([
          { content: script('replica-entrypoint.sh'), target: '/parity/replica-entrypoint.sh', mode: 0o755 },
          { content: secrets.replication, target: '/run/secrets/replication_password', mode: 0o644 },
        ])
        .withEntrypoint(['bash', '/parity/replica-entrypoint.sh'])
        .withCommand(['postgres', '-c', 'hot_standby=on', '-c', 'hot_standby_feedback=on'])
        .withExposedPorts(5432)
        .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept read.only connections/))
        .start(),
      new RedisContainer(imageRef('redis')).withNetwork(network).withNetworkAliases('redis').start(),
      new GenericContainer(imageRef('seaweedfs'))
        .withNetwork(network)
        .withNetworkAliases('s3')
        .withCopyContentToContainer([
          {
            content: JSON.stringify({ identities: [{ name: 'parity', credentials: [{ accessKey: secrets.s3Access, secretKey: secrets.s3Secret }], actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'] }] }),
            target: '/etc/parity/s3.json',
            mode: 0o644,
          },
        ])
        .withCommand(['mini', '-dir=/data', '-s3.config=/etc/parity/s3.json', '-bucket=images,documents', '-master.telemetry=false', '-admin.ui=false'])
        .withExposedPorts(8333)
        .withWaitStrategy(Wait.forHttp('/healthz', 8333).forStatusCode(200))
        .withStartupTimeout(120_000)
        .start(),
    ]);
    started.push(replica, redis, s3);

    const common: Omit<StubEnvironment, 'SERVICE'> = {
      PORT: String(STUB_PORT),
      COLOR: 'test',
      VERSION: 'it-1',
      DATABASE_HOST: 'postgres-primary',
      DATABASE_REPLICA_HOST: 'postgres-replica',
      DATABASE_NAME: DATABASE.name,
      DATABASE_USER: DATABASE.user,
      DATABASE_PASSWORD: secrets.postgres,
      REDIS_URL: 'redis://redis:6379',
      JWT_PUBLIC_KEYS: secrets.publicKeys,
      S3_ENDPOINT: 'http://s3:8333',
      S3_ACCESS_KEY: secrets.s3Access,
      S3_SECRET_KEY: secrets.s3Secret,
      BREAKER_RESET_MS: String(options.breakerResetMs ?? 3000),
      LOG_LEVEL: 'warn',
    };
    const stubFor = (service: StubName) =>
      new GenericContainer(imageRef('stubs'))
        .withNetwork(network)
        .withNetworkAliases(`${service}-test`)
        .withEnvironment(
          stubEnvironment({
            ...common,
            SERVICE: service,
            ...((DB_SERVICES as readonly string[]).includes(service) ? { DATABASE_USER: dbRole(service as DbService), DATABASE_PASSWORD: rolePasswords[dbPasswordSecret(service as DbService)]! } : {}),
            ...(service === 'auth' ? { JWT_SIGNING_KEYS: secrets.signingKeys, ADMIN_EMAIL: adminEmail, ADMIN_PASSWORD: secrets.admin } : {}),
            ...(options.environment?.[service] ?? {}),
          }),
        )
        .withExposedPorts(STUB_PORT)
        .withWaitStrategy(Wait.forHttp('/health', STUB_PORT).forStatusCode(200))
        .withStartupTimeout(60_000)
        .start();
    // Auth first: the APIs' migrations then don't all queue on the lock at once with it.
    const stubs = {} as Record<StubName, StartedTestContainer>;
    stubs.auth = await stubFor('auth');
    started.push(stubs.auth);
    const rest = await Promise.all((['ivor', 'events', 'newsroom', 'frontend'] as const).map(async (name) => [name, await stubFor(name)] as const));
    for (const [name, container] of rest) {
      stubs[name] = container;
      started.push(container);
    }

    const pgConfig = (container: StartedTestContainer) => ({
      host: container.getHost(),
      port: container.getMappedPort(5432),
      user: DATABASE.user,
      password: secrets.postgres,
      database: DATABASE.name,
    });
    return {
      network,
      primary,
      replica,
      redis,
      s3,
      stubs,
      secrets,
      rolePasswords,
      adminEmail,
      url: (service) => `http://${stubs[service].getHost()}:${stubs[service].getMappedPort(STUB_PORT)}`,
      stop: (container) => docker('stop', '-t', '2', container.getId()),
      start: (container) => docker('start', container.getId()),
      primaryClientConfig: () => pgConfig(primary),
      replicaClientConfig: () => pgConfig(replica),
      stopAll: async () => {
        await Promise.allSettled([...started].reverse().map((container) => container.stop({ remove: true, removeVolumes: true })));
        await network.stop();
      },
    };
  } catch (error) {
    await Promise.allSettled(started.map((container) => container.stop({ remove: true, removeVolumes: true })));
    await network.stop().catch(() => {});
    throw error;
  }
}

/** JSON over fetch, with the status and headers kept (tests assert on both). */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: Buffer; contentType?: string } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined;
  if (options.raw) {
    body = options.raw;
    headers['content-type'] = options.contentType ?? 'application/octet-stream';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}
