#!/usr/bin/env -S npx tsx
/**
 * Benchmark of the platform stubs through Traefik on the running stack (`make up`):
 * requests/s and latency percentiles of `GET /api/events` and `POST /api/chat`, then the
 * memory of every stub container. Prints measured figures; asserts nothing.
 */
import { UnexpectedResponseError, UsageError, formatDuration } from '../services/errors.js';
import { ADMIN_EMAIL } from '../services/topology/apps.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { containerRss, mib } from './runners/clients/container-stats.js';
import { adminLogin } from './runners/clients/platform.js';
import { createClient } from './runners/core/http.js';
import { runLoad, type LoadResult } from './runners/bench/load.js';
import { createProgress } from './runners/core/progress.js';
import { defaultTarget } from './runners/stack/stack.js';
import { engineOf } from './runners/clients/engine-of.js';
import { statePath, writeFileAtomic } from './runners/core/state.js';

const HELP = `
Usage: npx tsx scripts/bench-stubs.ts [--duration SECONDS] [--connections N]   (make bench-stubs)

Needs the stack running (make up). Through Traefik (https, the operators' entrypoint), for
--duration seconds each (default 30) with --connections concurrent connections (default 10):
  GET  /api/events   anonymous listing (read from the replica)
  POST /api/chat     a member asking IVOR (answer from the Redis cache, turns written to the primary)
then the RSS of each stub container. Seeds 20 events and a bench user first (idempotent).
Figures are printed and written to .parity/bench/stubs.json.
`;

const QUESTIONS = ['Where can I get housing advice?', 'I would like a mentor for my career', 'Are there community events this month?', 'Where can I get sexual health testing?'];

await runMain(async () => {
  const { values } = parseCli(process.argv.slice(2), { duration: { type: 'string' }, connections: { type: 'string' } }, HELP);
  const duration = Number(values.duration ?? 30);
  const connections = Number(values.connections ?? 10);
  if (!Number.isInteger(duration) || duration < 1) throw new UsageError(`--duration: expected whole seconds ≥ 1, got "${values.duration}"`);
  if (!Number.isInteger(connections) || connections < 1) throw new UsageError(`--connections: expected a whole number ≥ 1, got "${values.connections}"`);
  const progress = createProgress('[bench]');
  const target = defaultTarget();
  const containers = await engineOf(target).listContainers();
  const unhealthy = ['traefik', 'auth', 'events-blue', 'ivor-blue'].filter((name) => containers.find((c) => c.service === name)?.health !== 'healthy');
  if (unhealthy.length) throw new UsageError(`the stack isn't running (${unhealthy.join(', ')} not healthy): start it with \`make up\` first`);

  // The operators' entrypoint: a throughput benchmark from one address would otherwise measure the users' rate limit.
  const base = await engineOf(target).httpsEndpoint();
  // Seeding trusts the stack's own CA; autocannon (loopback only) doesn't verify certificates.
  const http = createClient(statePath('ca', 'parity-ca.pem'));
  const request = async (method: string, path: string, body?: unknown, token?: string) => {
    const response = await http(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the APIs' JSON, read field by field below
    return { status: response.status, body: (response.body ? JSON.parse(response.body) : undefined) as any };
  };

  progress.step('seeding: bench user and 20 events');
  const admin = await adminLogin(http, base, target.stateDir);
  if (!admin.token) throw new UnexpectedResponseError(`seeding: admin login (${ADMIN_EMAIL})`, 200, admin.answer.status, admin.answer.body);
  const member = { email: 'bench@parity.localhost', password: 'benchmark-password' };
  await request('POST', '/auth/register', member);
  const login = await request('POST', '/auth/login', member);
  if (login.status !== 200) throw new UnexpectedResponseError(`seeding: bench user login (${member.email})`, 200, login.status, JSON.stringify(login.body));
  const existing = (await request('GET', '/api/events?limit=200')).body?.events?.length ?? 0;
  for (let index = existing; index < 20; index += 1) {
    await request('POST', '/api/events', { title: `Bench event ${index + 1}`, startsAt: new Date(Date.UTC(2027, 0, 1 + index, 18)).toISOString(), location: 'Community hall' }, admin.token);
  }

  const results: Record<string, LoadResult> = {};
  const scenarios = [
    { name: 'GET /api/events', options: { url: `${base}/api/events`, method: 'GET' as const } },
    {
      name: 'POST /api/chat',
      options: {
        url: `${base}/api/chat`,
        method: 'POST' as const,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${login.body.accessToken}` },
        bodies: QUESTIONS.map((message) => JSON.stringify({ message })),
      },
    },
  ];
  for (const scenario of scenarios) {
    const started = Date.now();
    results[scenario.name] = await runLoad({
      ...scenario.options,
      durationSeconds: duration,
      connections,
      onTick: (done) => progress.step(`${scenario.name}: ${duration}s of load`, `${done} requests, ${formatDuration(Date.now() - started)}`),
    });
    const r = results[scenario.name]!;
    progress.info(`${scenario.name}: ${r.requestsPerSecond.toFixed(0)} req/s, p95 ${r.latencyMs.p95.toFixed(1)} ms, ${r.non2xx} non-2xx, ${r.errors} errors`);
  }

  const running = (await engineOf(target).listContainers()).filter((c) => c.state === 'running');
  const memory = Object.fromEntries(
    running.map((c) => [c.service, containerRss(c.id)] as const).filter(([name]) => /^(auth|alert-receiver|(frontend|ivor|events|newsroom)-(blue|green))$/.test(name)),
  );

  const lines = [
    `stubs benchmark through Traefik (${duration} s each, ${connections} connections, this machine)`,
    ...Object.entries(results).map(
      ([name, r]) =>
        `  ${name.padEnd(16)} ${r.requestsPerSecond.toFixed(0).padStart(5)} req/s  p50 ${r.latencyMs.p50.toFixed(1)} ms  p95 ${r.latencyMs.p95.toFixed(1)} ms  p99 ${r.latencyMs.p99.toFixed(1)} ms  (${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} errors)`,
    ),
    '  memory (RSS) per stub container after the load:',
    ...Object.entries(memory).map(([name, bytes]) => `    ${name.padEnd(16)} ${mib(bytes)}`),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  await writeFileAtomic(statePath('bench', 'stubs.json'), `${JSON.stringify({ at: new Date().toISOString(), duration, connections, results, memoryBytes: memory }, null, 2)}\n`);
});
