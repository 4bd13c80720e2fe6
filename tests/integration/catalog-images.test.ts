/**
 * Every catalog image starts and is really ready: each answers its own protocol.
 * Images come from `make images` (local, pulled or built here); nothing is mocked.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PostgreSqlContainer, type StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { RedisContainer, type StartedRedisContainer } from '@testcontainers/redis';
import { Redis } from 'ioredis';
import pg from 'pg';
import { GenericContainer, Network, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, imageRef } from './helpers.js';

let network: StartedNetwork;
let postgres: StartedPostgreSqlContainer;
let redis: StartedRedisContainer;
const others: StartedTestContainer[] = [];

async function start(container: GenericContainer): Promise<StartedTestContainer> {
  const started = await container.start();
  others.push(started);
  return started;
}

function url(container: StartedTestContainer, port: number, path: string): string {
  return `http://${container.getHost()}:${container.getMappedPort(port)}${path}`;
}

beforeAll(async () => {
  network = await new Network().start();
  [postgres, redis] = await Promise.all([
    new PostgreSqlContainer(imageRef('postgres')).withNetwork(network).withNetworkAliases('postgres').start(),
    new RedisContainer(imageRef('redis')).withNetwork(network).withNetworkAliases('redis').start(),
  ]);
});

afterAll(async () => {
  await Promise.allSettled(others.map((container) => container.stop()));
  await Promise.allSettled([postgres?.stop(), redis?.stop()]);
  await network?.stop();
});

describe('data services', () => {
  it('postgres answers a query (official image contract: user, password, database)', async () => {
    const client = new pg.Client({ connectionString: postgres.getConnectionUri() });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: string; db: string; usr: string }>(
        'select version() as version, current_database() as db, current_user as usr',
      );
      expect(rows[0]!.version).toMatch(/^PostgreSQL 15\./);
      expect(rows[0]!.db).toBe(postgres.getDatabase());
      expect(rows[0]!.usr).toBe(postgres.getUsername());
    } finally {
      await client.end();
    }
  });

  it('redis answers PING from another container (protected mode off, like the official image)', async () => {
    const client = new Redis(redis.getConnectionUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    try {
      expect(await client.ping()).toBe('PONG');
      expect((await client.info('server')).match(/redis_version:(\S+)/)?.[1]).toMatch(/^7\./);
    } finally {
      client.disconnect();
    }
  });

  it('seaweedfs stores and returns an object over S3', async () => {
    const seaweed = await start(
      new GenericContainer(imageRef('seaweedfs'))
        .withExposedPorts(8333)
        .withWaitStrategy(Wait.forListeningPorts())
        .withStartupTimeout(120_000),
    );
    const s3 = new S3Client({
      endpoint: url(seaweed, 8333, ''),
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'parity', secretAccessKey: 'parity-secret' },
    });
    try {
      await eventually(() => s3.send(new CreateBucketCommand({ Bucket: 'images' })), 60_000, 1000);
      const body = `parity object ${Date.now()}`;
      await eventually(() => s3.send(new PutObjectCommand({ Bucket: 'images', Key: 'hello.txt', Body: body })), 30_000, 1000);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'images', Key: 'hello.txt' }));
      expect(await got.Body!.transformToString()).toBe(body);
    } finally {
      s3.destroy();
    }
  });
});

describe('edge and fault injection', () => {
  it('traefik answers /ping and serves its dashboard (web UI built offline)', async () => {
    const traefik = await start(
      new GenericContainer(imageRef('traefik'))
        .withCommand(['--ping=true', '--api.dashboard=true', '--api.insecure=true', '--entrypoints.traefik.address=:8080', '--log.level=INFO'])
        .withExposedPorts(8080)
        .withWaitStrategy(Wait.forHttp('/ping', 8080).forStatusCode(200)),
    );
    const response = await fetch(url(traefik, 8080, '/ping'));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('OK');
    const dashboard = await fetch(url(traefik, 8080, '/dashboard/'));
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain('<title>Traefik Proxy</title>');
    const version = (await (await fetch(url(traefik, 8080, '/api/version'))).json()) as { Version: string };
    expect(version.Version).toBe('v3.6.12');
  });

  it("toxiproxy's API answers and proxies redis through a real proxy", async () => {
    const toxiproxy = await start(
      new GenericContainer(imageRef('toxiproxy'))
        .withNetwork(network)
        .withExposedPorts(8474, 26379)
        .withWaitStrategy(Wait.forHttp('/version', 8474).forStatusCode(200)),
    );
    const version = await (await fetch(url(toxiproxy, 8474, '/version'))).text();
    expect(version).toContain('2.5.0');
    const created = await fetch(url(toxiproxy, 8474, '/proxies'), {
      method: 'POST',
      body: JSON.stringify({ name: 'redis', listen: '0.0.0.0:26379', upstream: 'redis:6379' }),
    });
    expect(created.status).toBe(201);
    const client = new Redis({ host: toxiproxy.getHost(), port: toxiproxy.getMappedPort(26379), lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    try {
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });
});

describe('monitoring', () => {
  it('prometheus answers /-/ready', async () => {
    const prometheus = await start(
      new GenericContainer(imageRef('prometheus')).withExposedPorts(9090).withWaitStrategy(Wait.forHttp('/-/ready', 9090).forStatusCode(200)),
    );
    expect((await fetch(url(prometheus, 9090, '/-/ready'))).status).toBe(200);
  });

  it('alertmanager answers /-/ready', async () => {
    const alertmanager = await start(
      new GenericContainer(imageRef('alertmanager')).withExposedPorts(9093).withWaitStrategy(Wait.forHttp('/-/ready', 9093).forStatusCode(200)),
    );
    expect((await fetch(url(alertmanager, 9093, '/-/ready'))).status).toBe(200);
  });

  it('the postgres exporter serves /metrics and reaches postgres', async () => {
    const exporter = await start(
      new GenericContainer(imageRef('postgres-exporter'))
        .withNetwork(network)
        .withEnvironment({
          DATA_SOURCE_NAME: `postgresql://${postgres.getUsername()}:${postgres.getPassword()}@postgres:5432/${postgres.getDatabase()}?sslmode=disable`,
        })
        .withExposedPorts(9187)
        .withWaitStrategy(Wait.forHttp('/metrics', 9187).forStatusCode(200)),
    );
    const metrics = await (await fetch(url(exporter, 9187, '/metrics'))).text();
    expect(metrics).toMatch(/^pg_up 1$/m);
  });

  it('the redis exporter serves /metrics and reaches redis', async () => {
    const exporter = await start(
      new GenericContainer(imageRef('redis-exporter'))
        .withNetwork(network)
        .withEnvironment({ REDIS_ADDR: 'redis://redis:6379' })
        .withExposedPorts(9121)
        .withWaitStrategy(Wait.forHttp('/metrics', 9121).forStatusCode(200)),
    );
    const metrics = await (await fetch(url(exporter, 9121, '/metrics'))).text();
    expect(metrics).toMatch(/^redis_up 1$/m);
  });

  it('the node exporter serves /metrics', async () => {
    const exporter = await start(
      new GenericContainer(imageRef('node-exporter')).withExposedPorts(9100).withWaitStrategy(Wait.forHttp('/metrics', 9100).forStatusCode(200)),
    );
    const metrics = await (await fetch(url(exporter, 9100, '/metrics'))).text();
    expect(metrics).toMatch(/^node_cpu_seconds_total\{/m);
  });
});

/** Run a one-shot command in an image and return what it printed. */
async function oneShot(image: string, command: string[]): Promise<string> {
  const container = await new GenericContainer(image).withCommand(command).withWaitStrategy(Wait.forOneShotStartup()).start();
  try {
    let output = '';
    const stream = await container.logs();
    await new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer | string) => (output += chunk.toString()));
      stream.on('end', () => resolve());
    });
    return output;
  } finally {
    await container.stop({ remove: true });
  }
}

describe('base images', () => {
  it('debian is bookworm with the updates and security suites configured', async () => {
    const output = await oneShot(imageRef('debian'), ['sh', '-c', 'cat /etc/debian_version; cat /etc/apt/sources.list']);
    expect(output).toMatch(/^12\.\d+/);
    expect(output).toMatch(/ bookworm-updates main/);
    expect(output).toMatch(/-security bookworm-security main/);
  });

  it('golang carries the pinned Go toolchain', async () => {
    expect(await oneShot(imageRef('golang'), ['go', 'version'])).toContain('go version go1.26.8 linux/');
  });
});

describe('runtimes', () => {
  it('the Node 22 runtime serves HTTP as the stubs will', async () => {
    const node = await start(
      new GenericContainer(imageRef('node'))
        .withCommand(['node', '-e', "require('node:http').createServer((q, r) => r.end(process.version)).listen(3000)"])
        .withExposedPorts(3000)
        .withWaitStrategy(Wait.forHttp('/', 3000).forStatusCode(200)),
    );
    expect(await (await fetch(url(node, 3000, '/'))).text()).toMatch(/^v22\./);
  });
});
