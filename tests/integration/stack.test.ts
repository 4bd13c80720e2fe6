/**
 * The generated stack, started with testcontainers on compose/ (plus the generated test
 * overlay, which makes every host port ephemeral). Real Traefik, Postgres replication,
 * Redis, SeaweedFS, Prometheus and Alertmanager.
 */
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import type { StartedDockerComposeEnvironment } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLOR_HEADER, SERVICE_HEADER, STUB_PORT, headerKey } from '../../services/contracts/index.js';
import { prepareState } from '../../scripts/runners/stack/stack-state.js';
import { engineOf } from '../../scripts/runners/clients/engine-of.js';
import { buildTopology } from '../../services/topology/index.js';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import { DATABASE } from '../../services/topology/common.js';
import { ADMIN_EMAIL } from '../../services/topology/apps.js';
import { downComposeStack, eventually, probeFrom, startComposeStack } from './helpers.js';
import { runCliSync } from '../cli.js';

const root = join(import.meta.dirname, '..', '..');
let stateDir: string;
let stack: StartedDockerComposeEnvironment;
let ca: string;
const project = `parity-test-${process.pid}`;

function port(service: string, containerPort: number): number {
  return stack.getContainer(`${service}-1`).getMappedPort(containerPort);
}

interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request through Traefik's websecure entrypoint, trusting only the stack's local CA. */
function https(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: port('traefik', 443), path, method, headers: { host: 'localhost', ...headers }, ca, servername: 'localhost' }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function readSecret(name: string): Promise<string> {
  return readFileSync(join(stateDir, 'secrets', name), 'utf8').trim();
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(root, '.parity', 'test-state-'));
  const prepared = await prepareState(stateDir);
  ca = readFileSync(prepared.caFile, 'utf8');
  stack = await startComposeStack(project, stateDir);
}, 600_000);

afterAll(async () => {
  await downComposeStack(stack, project);
  rmSync(stateDir, { recursive: true, force: true });
}, 120_000);

/** A port nothing listens on now, on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

describe('the generated stack', () => {
  it("make dev-env: the events service's own code, run as a process on this host with the environment it writes, passes L1–L3 through the published ports", async () => {
    const written = runCliSync('dev-env.ts', ['--service', 'events', '--format', 'json'], { ...process.env, PARITY_PROJECT: project, PARITY_STATE_DIR: stateDir });
    expect(written.status, written.stderr).toBe(0);
    const file = join(stateDir, 'dev', 'events.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const variables = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(variables).toMatchObject({ DATABASE_HOST: '127.0.0.1', DATABASE_PORT: String(port('postgres-writer', 5432)), REDIS_URL: `redis://app@127.0.0.1:${port('redis', 6379)}` });
    const listen = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'stubs', 'src', 'entries', 'events.ts')], { cwd: root, env: { ...process.env, ...variables, PORT: String(listen) }, stdio: 'ignore' });
    try {
      // Its own role on the writer and the reader, Redis as its ACL user, S3 with its keys: all reached from the host
      // (the optional ones may answer a moment after the first 200).
      const health = await eventually(async () => {
        const response = await fetch(`http://127.0.0.1:${listen}/health`);
        const body = (await response.json()) as { checks: { l1: Record<string, { ok: boolean }>; l2: { ok: boolean }; l3: { ok: boolean } } };
        const l1 = Object.fromEntries(Object.entries(body.checks.l1).map(([name, check]) => [name, check.ok]));
        expect({ status: response.status, l1 }).toEqual({ status: 200, l1: { 'postgres-primary': true, 'postgres-replica': true, redis: true, s3: true } });
        return body;
      }, 60_000);
      expect([health.checks.l2.ok, health.checks.l3.ok]).toEqual([true, true]);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('every service becomes healthy', async () => {
    const containers = await engineOf({ project, composeDir: join(root, 'compose'), stateDir }).listContainers();
    const health = Object.fromEntries(containers.map((c) => [c.service, `${c.state}/${c.health}`]));
    // The front is left out by the test overlay (it binds fixed host ports on the host network; the attack suite runs it).
    const services = buildTopology(DEFAULT_CONFIG).services.filter((service) => service.networkMode !== 'host');
    // 21 before the HA cluster; the Patroni cluster replaces primary + replica with 3 etcd, 3 nodes and 2 HAProxy endpoints;
    // chaos (on in the full profile) adds Toxiproxy; db-init (the database roles) runs once and exits.
    expect(services.length).toBe(29);
    expect(health).toEqual(Object.fromEntries(services.map((service) => [service.name, service.job ? 'exited/' : 'running/healthy'])));
    // The engine seam lists each container with the model's role, tier and color.
    const listed = Object.fromEntries(containers.map((c) => [c.service, `${c.role}/${c.tier}/${c.color ?? '-'}`]));
    expect(listed).toEqual(Object.fromEntries(services.map((service) => [service.name, `${service.logical}/${service.tier}/${service.color ?? '-'}`])));
    expect(containers.every((c) => /^[0-9a-f]{64}$/.test(c.id))).toBe(true);
  });

  it('from a container on the edge network (the full profile), the data tier and monitoring are unreachable; Traefik answers', () => {
    // A name that doesn't resolve there: the service shares no network with the edge.
    const probe = (host: string, port: number) => probeFrom(`${project}_edge`, host, port);
    const targets: [string, number][] = [['postgres-writer', 5432], ['postgres-1', 5432], ['redis', 6379], ['s3', 8333], ['etcd-1', 2379], ['prometheus', 9090], ['auth', STUB_PORT], ['traefik', 443]];
    const seen = Object.fromEntries(targets.map(([host, port]) => [host, probe(host, port)]));
    expect(seen).toEqual({ 'postgres-writer': 'ENOTFOUND', 'postgres-1': 'ENOTFOUND', redis: 'ENOTFOUND', s3: 'ENOTFOUND', 'etcd-1': 'ENOTFOUND', prometheus: 'ENOTFOUND', auth: 'ENOTFOUND', traefik: 'open' });
  }, 120_000);

  it('a request through Traefik (TLS, local CA) reaches the blue frontend', async () => {
    const response = await eventually(async () => {
      const r = await https('/');
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      return r;
    }, 30_000);
    expect(response.headers[headerKey(COLOR_HEADER)]).toBe('blue');
    expect(response.headers[headerKey(SERVICE_HEADER)]).toBe('frontend');
    expect(response.body).toContain('<h1>Community platform</h1>');
    const api = await https('/api/events');
    expect(api.headers).toMatchObject({ [headerKey(SERVICE_HEADER)]: 'events', [headerKey(COLOR_HEADER)]: 'blue' });
    expect(JSON.parse(api.body)).toEqual({ events: [] });
    const pinned = await https('/api/resources', { [COLOR_HEADER]: 'green' });
    expect(pinned.headers).toMatchObject({ [headerKey(SERVICE_HEADER)]: 'ivor', [headerKey(COLOR_HEADER)]: 'green' });
    expect(JSON.parse(pinned.body).resources.length).toBeGreaterThan(0);
  });

  it('plain HTTP redirects to HTTPS on the published port', async () => {
    const response = await new Promise<{ status: number; location?: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: port('traefik', 80), path: '/api/events', headers: { host: 'localhost' } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, location: res.headers.location });
      });
      req.on('error', reject);
      req.end();
    });
    expect([301, 302, 307, 308]).toContain(response.status);
    expect(response.location).toBe('https://localhost:8443/api/events');
  });

  it('admin routes need an admin token (Traefik forwardAuth → auth service)', async () => {
    expect((await https('/admin')).status).toBe(401);
    const login = async (email: string, password: string) => {
      const response = await https('/auth/login', { 'content-type': 'application/json' }, 'POST', JSON.stringify({ email, password }));
      expect(response.status).toBe(200);
      return (JSON.parse(response.body) as { accessToken: string }).accessToken;
    };
    const member = { email: `ada-${Date.now()}@example.org`, password: 'correct horse battery' };
    expect((await https('/auth/register', { 'content-type': 'application/json' }, 'POST', JSON.stringify(member))).status).toBe(201);
    expect((await https('/admin', { authorization: `Bearer ${await login(member.email, member.password)}` })).status).toBe(403);
    const admin = await https('/admin', { authorization: `Bearer ${await login(ADMIN_EMAIL, await readSecret('admin_password'))}` });
    expect(admin.status).toBe(200);
    expect(admin.body).toContain(`Signed in as ${ADMIN_EMAIL}`);
  });

  it('a write through postgres-writer (the Patroni leader) can be read through postgres-reader (a replica)', async () => {
    const password = await readSecret('postgres_password');
    const primary = new pg.Client({ host: '127.0.0.1', port: port('postgres-writer', 5432), user: DATABASE.user, password, database: DATABASE.name });
    const replica = new pg.Client({ host: '127.0.0.1', port: port('postgres-reader', 5432), user: DATABASE.user, password, database: DATABASE.name });
    await primary.connect();
    await replica.connect();
    try {
      const marker = `parity-${Date.now()}`;
      await primary.query('CREATE TABLE IF NOT EXISTS replication_check (marker text primary key, at timestamptz default now())');
      await primary.query('INSERT INTO replication_check (marker) VALUES ($1)', [marker]);
      const row = await eventually(async () => {
        const { rows } = await replica.query<{ marker: string }>('SELECT marker FROM replication_check WHERE marker = $1', [marker]);
        if (rows.length !== 1) throw new Error('not replicated yet');
        return rows[0]!;
      }, 15_000, 100);
      expect(row.marker).toBe(marker);
      const { rows } = await replica.query<{ recovering: boolean }>('SELECT pg_is_in_recovery() AS recovering');
      expect(rows[0]!.recovering).toBe(true);
      // Patroni keeps one physical slot per replica, named after it.
      const slots = await primary.query<{ slot_name: string; active: boolean }>('SELECT slot_name, active FROM pg_replication_slots ORDER BY slot_name');
      expect(slots.rows.filter((slot) => slot.active).length).toBe(2);
      expect(slots.rows.every((slot) => /^postgres_\d$/.test(slot.slot_name))).toBe(true);
    } finally {
      await primary.end();
      await replica.end();
    }
  });

  it('every Prometheus target is up', async () => {
    const targets = await eventually(async () => {
      const response = await fetch(`http://127.0.0.1:${port('prometheus', 9090)}/api/v1/targets?state=active`);
      const body = (await response.json()) as { data: { activeTargets: Array<{ labels: { job: string; instance: string }; health: string; lastError: string }> } };
      const down = body.data.activeTargets.filter((t) => t.health !== 'up');
      if (down.length > 0) throw new Error(`not up: ${down.map((t) => `${t.labels.job}/${t.labels.instance} (${t.health} ${t.lastError})`).join(', ')}`);
      return body.data.activeTargets;
    }, 60_000, 1000);
    const jobs = new Set(targets.map((t) => t.labels.job));
    for (const job of ['prometheus', 'traefik', 'auth', 'frontend', 'ivor', 'events', 'newsroom', 'postgres-primary', 'postgres-replica', 'redis', 'node', 's3', 'alertmanager', 'patroni', 'haproxy', 'etcd']) {
      expect(jobs, job).toContain(job);
    }
  });

  it("Prometheus has the series the alert rules read (replication lag, Redis memory, host, HTTP)", async () => {
    // Traffic from the tests above has reached IVOR and Events by now.
    const inputs = [
      'pg_replication_lag{role="replica"}',
      'redis_memory_used_bytes',
      'redis_memory_max_bytes',
      'node_cpu_seconds_total{mode="idle"}',
      'node_filesystem_avail_bytes',
      'node_memory_MemAvailable_bytes',
      'http_requests_total{job="events"}',
      'http_request_duration_seconds_bucket{job="ivor"}',
      // The HA cluster's alerts read these.
      'patroni_primary',
      'patroni_postgres_timeline',
      'patroni_xlog_received_location',
    ];
    for (const query of inputs) {
      const result = await eventually(async () => {
        const response = await fetch(`http://127.0.0.1:${port('prometheus', 9090)}/api/v1/query?query=${encodeURIComponent(query)}`);
        const body = (await response.json()) as { data: { result: unknown[] } };
        if (body.data.result.length === 0) throw new Error(`no series for ${query}`);
        return body.data.result;
      }, 30_000, 1000);
      expect(result.length, query).toBeGreaterThan(0);
    }
  });

  it('an alert rule fires and reaches the webhook receiver (node exporter stopped → ServiceDown, critical)', async () => {
    await stack.getContainer('node-exporter-1').stop();
    const receiver = stack.getContainer('alert-receiver-1');
    const alerts = await eventually(async () => {
      const result = await receiver.exec(['node', '-e', `fetch('http://127.0.0.1:${STUB_PORT}/alerts').then(r => r.text()).then(t => process.stdout.write(t))`]);
      const list = JSON.parse(result.output) as Array<{ route: string; status: string; labels: Record<string, string> }>;
      const hit = list.filter((a) => a.labels.alertname === 'ServiceDown' && a.labels.job === 'node' && a.status === 'firing');
      if (hit.length === 0) throw new Error(`no ServiceDown alert yet (${list.length} received)`);
      return hit;
    }, 120_000, 2000);
    expect(alerts[0]!.route).toBe('critical');
    expect(alerts[0]!.labels.severity).toBe('critical');
  });
});
