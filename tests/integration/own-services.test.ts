/**
 * A developer's own image in a stub's place (issue #22, image mode): the example Events API in
 * Python (examples/events-python, built from Debian's packages; no Parity code in it) runs as both
 * Events colors of a generated stack and serves users through the edge, judged healthy from
 * outside by its probe. A config naming an image the engine doesn't have is refused before
 * anything is written or started.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_HEADER, COLOR_HEADER, headerKey } from '../../services/contracts/index.js';
import { createClient, userAddresses, type HttpClient } from '../../scripts/runners/core/http.js';
import { adminLogin } from '../../scripts/runners/clients/platform.js';
import { engineOf } from '../../scripts/runners/clients/engine-of.js';
import { EXAMPLES, buildExample } from '../../scripts/runners/dev/example.js';
import { eventually, figureOf, startGeneratedStack, recordingProgress, runCli, type GeneratedStack } from './helpers.js';
import { runChaosDrill, toxiproxyApi } from '../../scripts/runners/drill/chaos/chaos.js';
import { faultyProxies, listProxies } from '../../scripts/runners/clients/toxiproxy.js';
import { parseConfig } from '../../services/config/validate.js';
import { DrillBudgetError } from '../../services/errors.js';
import type { DrillReport } from '../../services/drills/model.js';

const root = join(import.meta.dirname, '..', '..');
const example = EXAMPLES['events-python'];
/** A process on this host standing in for a developer's (source: host): says who answered. */
function hostProcess(service: string, address = '0.0.0.0'): Promise<{ readonly port: number; readonly server: Server }> {
  const server = createServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.setHeader('x-parity-service', service);
    response.end(JSON.stringify({ answeredBy: `host-process-${service}`, path: request.url }));
  });
  return new Promise((resolve) => server.listen(0, address, () => resolve({ port: (server.address() as AddressInfo).port, server })));
}

let ivorHost: { readonly port: number; readonly server: Server };
let newsroomHost: { readonly port: number; readonly server: Server };

// Users come through the front (no test overlay: it binds its own host ports), apart from a dev stack's and the security suite's.
const PORTS = { http: 38080, https: 38443, dashboard: 38081, postgres: 38432, postgresReplica: 38433, redis: 38379 } as const;

const ownEvents = (image: string, hosts = true) => [
  'profile: minimal',
  // Toxiproxy on the way, as in the full profile: Traefik → host processes and their data go through it.
  // events-db-latency held 8 s instead of 20: against the example it shows the same (no breaker opens) sooner.
  ...(hosts ? ['chaos:', '  enabled: true', '  scenarios:', '    events-db-latency: { durationSeconds: 8 }'] : []),
  'ports:',
  ...Object.entries(PORTS).map(([key, port]) => `  ${key}: ${port}`),
  'services:',
  ...(hosts
    ? [
        '  ivor:',
        '    source: host',
        `    host: { port: ${ivorHost.port} }`,
        '  newsroom:',
        '    source: host',
        `    host: { port: ${newsroomHost.port}, routing: header, name: tester }`,
      ]
    : []),
  '  events:',
  '    source: image',
  `    image: ${image}`,
  `    port: ${example.port}`,
  '    envMap:',
  '      DATABASE_URL: "postgresql://{postgres.user}@{postgres.host}:{postgres.port}/{postgres.database}"',
  '      READER_URL: "postgresql://{postgres.user}@{postgres.readerHost}:{postgres.readerPort}/{postgres.database}"',
  '      DB_PASSWORD_FILE: "{postgres.passwordFile}"',
  '',
].join('\n');

let stack: GeneratedStack;
/** Users: through the front, each request from another loopback address (each with its own rate-limit bucket). */
let http: HttpClient;
const https = `https://localhost:${PORTS.https}`;
/** Operators: Traefik's websecure entrypoint on its loopback port. */
let operators: string;
const log: string[] = [];

/**
 * `make up` of a stack of its own (parity.yaml, state and compose/ in a folder under .parity/,
 * removed after; `prepare` may put files there first): what it printed and its exit code, and
 * whether it generated compose/, wrote secrets or started a container.
 */
async function upAlone(name: string, yaml: string, prepare?: (stateDir: string) => void) {
  const stateDir = mkdtempSync(join(root, '.parity', `test-own-${name}-`));
  const project = `parity-own-${name}-${process.pid}`;
  const configFile = join(stateDir, 'parity.yaml');
  writeFileSync(configFile, yaml);
  prepare?.(stateDir);
  try {
    const result = await runCli('stack.ts', ['up'], { ...process.env, PARITY_STATE_DIR: stateDir, PARITY_PROJECT: project, PARITY_CONFIG: configFile, PARITY_COMPOSE_DIR: join(stateDir, 'compose'), CI: '1' });
    return {
      ...result,
      generated: existsSync(join(stateDir, 'compose')),
      secrets: existsSync(join(stateDir, 'secrets')),
      containers: spawnSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' }).stdout.trim(),
    };
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  ivorHost = await hostProcess('ivor');
  newsroomHost = await hostProcess('newsroom');
  await buildExample('events-python', recordingProgress(log));
  stack = await startGeneratedStack('own', `parity-own-${process.pid}`, ownEvents(example.ref), { overlay: false });
  http = createClient(join(stack.stateDir, 'ca', 'parity-ca.pem'), { sources: userAddresses(200, 40) });
  operators = `https://localhost:${await engineOf(stack.target).publishedPort('traefik', 443)}`;
}, 600_000);

afterAll(async () => {
  process.stdout.write(`\nown services:\n${log.filter((line) => line.startsWith('FIGURES')).join('\n')}\n`);
  ivorHost?.server.close();
  newsroomHost?.server.close();
  await stack?.down();
}, 120_000);

describe('image mode: the example Events API (Python, not a stub) in the stub\'s place', () => {
  it('GIVEN the stack WHEN a user reads /api/events through the edge THEN the example answers, with the stack\'s headers, from the replica', async () => {
    const answer = await http(`${https}/api/events?limit=5`);
    expect(answer.status, answer.body).toBe(200);
    expect(answer.headers.server).toMatch(/^events-python/);
    expect(answer.headers[headerKey(SERVICE_HEADER)]).toBe('events');
    expect(answer.headers[headerKey(COLOR_HEADER)]).toBe('blue');
    expect(answer.headers['x-parity-read-from']).toBe('replica');
    expect(Array.isArray((JSON.parse(answer.body) as { events: unknown[] }).events)).toBe(true);
  });

  it('WHEN an editor writes through the edge THEN the example checks the token itself, stores the event as its own role, and the stub frontend shows it on the home page', async () => {
    const { token } = await adminLogin(http, https, stack.stateDir);
    expect(token).toBeTruthy();
    const title = `Python meetup ${Date.now()}`;
    // Tomorrow: the home page lists the next few events.
    const startsAt = new Date(Date.now() + 86_400_000).toISOString();
    const anonymous = await http(`${https}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title, startsAt }) });
    expect(anonymous.status).toBe(401);
    const created = await http(`${https}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ title, startsAt, location: 'Peckham' }),
    });
    expect(created.status, created.body).toBe(201);
    expect(created.headers.server).toMatch(/^events-python/);
    // Reads go to the streaming replica: the write shows there within its lag.
    await eventually(async () => {
      const listed = await http(`${https}/api/events?limit=200`);
      expect((JSON.parse(listed.body) as { events: { title: string }[] }).events.map((event) => event.title)).toContain(title);
    }, 10_000, 200, 'the new event listed');
    await eventually(async () => {
      const home = await http(`${https}/`);
      expect(home.status).toBe(200);
      expect(home.body).toContain(title);
    }, 15_000, 500, 'the new event on the home page');
  });

  it('THEN its containers have no health check of their own; each probe is healthy and make status shows the service as probed', async () => {
    const containers = await engineOf(stack.target).listContainers();
    for (const color of ['blue', 'green']) {
      expect(containers.find((c) => c.service === `events-${color}`)).toMatchObject({ state: 'running', health: '' });
      expect(containers.find((c) => c.service === `events-${color}-probe`)?.health).toBe('healthy');
    }
    const status = await runCli('stack.ts', ['status'], stack.cliEnv());
    expect(status.code, status.output).toBe(0);
    expect(status.output).toMatch(/events-blue\s+running\s+healthy \(probed\)/);
  });

  it('THEN its metrics answer on its own port (8080) from its network, as Prometheus scrapes them', async () => {
    const metrics = await engineOf(stack.target).tryExec('events-blue-probe', ['bash', '-c', `exec 3<>/dev/tcp/events-blue/${example.port} && printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3`]);
    expect(metrics.stdout).toContain('http_requests_in_flight');
  });
});

describe('make dev-run: a command on this host with the service\'s environment', () => {
  it('GIVEN the running stack THEN the command sees envMap composed from the published ports, reaches the writer as the service\'s role, and its exit status comes back', async () => {
    const script = [
      "const pg = require('pg');",
      // pg lets the URL's (absent) password win over a `password` option; PGPASSWORD is its fallback.
      "process.env.PGPASSWORD = require('fs').readFileSync(process.env.DB_PASSWORD_FILE, 'utf8').trim();",
      "const c = new pg.Client({ connectionString: process.env.DATABASE_URL });",
      "c.connect().then(() => c.query('SELECT current_user AS who')).then((r) => { console.log('as ' + r.rows[0].who + ' via ' + process.env.DATABASE_URL); return c.end(); }).then(() => process.exit(3));",
    ].join(' ');
    const result = await runCli('dev-run.ts', ['--service', 'events', '--', process.execPath, '-e', script], stack.cliEnv());
    expect(result.code, result.output).toBe(3);
    expect(result.output).toMatch(/as app_events via postgresql:\/\/app_events@127\.0\.0\.1:\d+\/platform/);
    // With chaos on and host processes configured, through Toxiproxy's proxy: the port is Toxiproxy's.
    const proxied = await engineOf(stack.target).publishedPort('toxiproxy', 15432);
    expect(result.output).toContain(`@127.0.0.1:${proxied}/platform`);
    expect(result.output).toContain('data stores through Toxiproxy');
  });
});

describe('host mode: users\' requests to a process on this host', () => {
  it('GIVEN ivor with routing all THEN every user\'s request to /api/resources reaches the host process; an operator\'s request pinned to a color still reaches the stack', async () => {
    await eventually(async () => {
      const answer = await http(`${https}/api/resources`);
      expect(answer.body).toContain('host-process-ivor');
    }, 15_000, 500, 'the host process answering through the edge');
    const pinned = await http(`${operators}/api/resources`, { headers: { 'X-Parity-Color': 'blue' } });
    expect(pinned.status).toBe(200);
    expect(pinned.body).not.toContain('host-process-ivor');
  });

  it('GIVEN newsroom with routing header THEN only requests carrying X-Parity-Dev: tester reach the host process; the rest, and another name, get the stack\'s color', async () => {
    await eventually(async () => {
      const mine = await http(`${https}/api/articles?limit=1`, { headers: { 'X-Parity-Dev': 'tester' } });
      expect(mine.body).toContain('host-process-newsroom');
    }, 15_000, 500, 'the header-routed request reaching the host process');
    for (const headers of [{}, { 'X-Parity-Dev': 'someone-else' }] as Record<string, string>[]) {
      const other = await http(`${https}/api/articles?limit=1`, { headers });
      expect(other.status).toBe(200);
      expect(other.body).not.toContain('host-process-newsroom');
      expect(other.headers[headerKey(COLOR_HEADER)]).toBe('blue');
    }
  });
});

describe('image mode: bad input', () => {
  it('GIVEN an image the engine doesn\'t have WHEN make up THEN exit 2 naming the config key and how to get the image; nothing generated, nothing started', async () => {
    const result = await upAlone('absent', ownEvents('parity-example/absent:none', false));
    expect(result.code, result.output).toBe(2);
    expect(result.output).toContain('services.events.image: image parity-example/absent:none is not on the engine; build or load it first');
    expect(result.generated).toBe(false);
    expect(result.secrets).toBe(false);
    expect(result.containers).toBe('');
  }, 120_000);
});

describe('host mode: the preflight at make up (exit 2, nothing generated or started)', () => {
  const upWith = (yaml: string) => upAlone('preflight', yaml);

  it('GIVEN nothing listening on the port THEN it says so, and how to start the process', async () => {
    const { port, server } = await hostProcess('gone');
    server.close();
    const result = await upWith(`profile: minimal\nservices:\n  ivor:\n    source: host\n    host: { port: ${port} }\n`);
    expect(result.code, result.output).toBe(2);
    expect(result.output).toMatch(new RegExp(`services\\.ivor\\.host\\.port ${port}: nothing listens there .*make dev-run SERVICE=ivor`));
    expect(result.generated).toBe(false);
  }, 120_000);

  it('GIVEN a process listening on 127.0.0.1 only THEN it names the trap and the bind to use', async () => {
    const loopback = await hostProcess('loopback', '127.0.0.1');
    try {
      const result = await upWith(`profile: minimal\nservices:\n  ivor:\n    source: host\n    host: { port: ${loopback.port} }\n`);
      expect(result.code, result.output).toBe(2);
      expect(result.output).toContain(`services.ivor.host.port ${loopback.port}: your process listens on 127.0.0.1 only`);
      expect(result.output).toContain('listen on 0.0.0.0');
      expect(result.generated).toBe(false);
    } finally {
      loopback.server.close();
    }
  }, 120_000);
});

describe('a drill against the example: make chaos on its data path', () => {
  it('GIVEN events-db-latency (2 s on the reader) WHEN it runs against the example, which has no replica breaker THEN the drill judges the example, not a stub: no breaker opens, the budgets are exceeded (exit 1), and Toxiproxy is left clean', async () => {
    const config = parseConfig(readFileSync(stack.configFile, 'utf8'));
    const failure = await runChaosDrill({ target: stack.target, config, scenario: 'events-db-latency', progress: recordingProgress(log) }).then(
      () => undefined,
      (error: unknown) => error,
    );
    // The drill ran to the end and says which promises the example can't keep (exit 1 from make chaos).
    expect(failure).toBeInstanceOf(DrillBudgetError);
    const { reasons, reportDir } = failure as DrillBudgetError;
    expect(reasons).toContain('fault → breakers OPEN: never measured (events:postgres-replica)');
    const report = JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8')) as DrillReport;
    log.push(`FIGURES chaos events-db-latency vs the example: ${report.result}; ${report.notes.filter((note) => note.startsWith('answers')).join('; ')}`);
    expect(report.result).toBe('fail');
    expect(figureOf(report, 'fault → breakers OPEN').value).toBeNull();
    expect(faultyProxies(await listProxies(await toxiproxyApi(stack.target, config)))).toEqual([]);
    expect(report.restored.at(-1)).toMatch(/Toxiproxy clean/);
    await eventually(async () => expect((await http(`${https}/api/events?limit=1`)).status).toBe(200));
  }, 180_000);
});

describe('make contract and its gate: the platform contract on an isolated stack of its own', () => {
  it('GIVEN the example THEN every clause holds, routes and tokens included (exit 0); GIVEN its broken variant THEN exactly its four broken clauses fail (exit 1); THEN make up refuses the broken image from that record before anything starts, and users keep the example', async () => {
    const broken = await buildExample('events-python-broken', recordingProgress(log));
    // The runs are recorded in the suite stack's state, where the gate of `make deploy` looks.
    const env = { ...stack.cliEnv(), CI: '1' };
    const records = join(stack.stateDir, 'contracts');
    const good = await runCli('contract.ts', ['--service', 'events', '--image', example.ref, '--format', 'json'], env);
    expect(good.code, good.output).toBe(0);
    const passed = JSON.parse(good.output.slice(good.output.indexOf('{'), good.output.lastIndexOf('}') + 1)) as { clauses: { id: string; verdict: string; evidence: string }[]; durationMs: number };
    expect(passed.clauses.filter((clause) => clause.verdict !== 'pass')).toEqual([]); // Events uses the database: every clause applies
    expect(passed.clauses.find((clause) => clause.id === 'rbac')!.evidence).toBe('9 routes × 4 identities as the table says');
    expect(passed.clauses.find((clause) => clause.id === 'tokens-verified')!.evidence).toBe(
      'POST /api/events: identity headers without a token, another key under the real kid, a kid nobody has, expired, under the real key: all refused',
    );
    log.push(`FIGURES contract of the example: ${(passed.durationMs / 1000).toFixed(1)} s`);

    const bad = await runCli('contract.ts', ['--service', 'events', '--image', broken.ref], env);
    expect(bad.code, bad.output).toBe(1);
    expect(bad.output).toMatch(/FAIL liveness-without-data-stores/);
    expect(bad.output).toMatch(/FAIL metrics +no http_requests_total/);
    expect(bad.output).toMatch(/FAIL sigterm-drains/);
    expect(bad.output).toMatch(/FAIL tokens-verified +POST \/api\/events: identity headers without a token → 400/);
    expect(bad.output.match(/FAIL /g)).toHaveLength(4);
    expect(bad.output).toContain('deploy drain cannot wait for in-flight requests');
    expect(bad.output).toContain('ContractFailedError');
    expect(spawnSync('docker', ['ps', '-aq', '--filter', 'label=com.docker.compose.project=parity-contract'], { encoding: 'utf8' }).stdout.trim()).toBe('');
    expect(readdirSync(records)).toHaveLength(2);

    // Users keep the example the suite started with: the contract runs touched only their own stack.
    const users = await http(`${https}/api/events?limit=1`);
    expect(users.status).toBe(200);
    expect(users.headers.server).toMatch(/^events-python\b/);
    expect(users.headers[headerKey(COLOR_HEADER)]).toBe('blue');

    // The gate at make up: a stack of its own naming the broken image, with that run on record in its
    // state, is refused from the record (no new run) before anything is generated or started. (A
    // per-service make deploy asks the same gate first: tests/unit/deploy-phases.test.ts; the
    // deploy itself needs the full profile.)
    const brokenRun = readdirSync(records).find((entry) => JSON.parse(readFileSync(join(records, entry, 'report.json'), 'utf8')).image === broken.ref)!;
    const up = await upAlone('gate', ownEvents(broken.ref, false), (stateDir) => cpSync(join(records, brokenRun), join(stateDir, 'contracts', brokenRun), { recursive: true }));
    expect(up.code, up.output).toBe(1);
    expect(up.output).toContain('ContractFailedError');
    expect(up.output).toMatch(/contract gate: events \(parity-example\/events-python-broken:dev, image [0-9a-f]{12}\): failed the platform contract at .*liveness-without-data-stores, metrics, tokens-verified, sigterm-drains.*Nothing was routed to it/s);
    expect(up.output).toContain('or set services.events.contract: warn to route it anyway');
    expect(up.output).not.toContain('checking it now');
    expect(up.generated).toBe(false);
    expect(up.secrets).toBe(false);
    expect(up.containers).toBe('');
  }, 420_000);
});
