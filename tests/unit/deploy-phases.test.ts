/**
 * The deploy's phases against fake clients (no Docker, no real time): what a failed L4, a
 * failed canary step and an abort mid-step do to the routes, the state and the error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Color } from '../../services/config/schema.js';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import type { ColorCounters, DeployState } from '../../services/deploy/policy.js';
import type { DeployEntry } from '../../services/audit/deploy.js';
import { ContractFailedError, DeployRolledBackError, formatDuration } from '../../services/errors.js';
import { catalogRef } from '../../services/images/catalog.js';
import { GateFailure } from '../../scripts/runners/deploy/gate.js';
import { EDGE_BACK_MS, edgeClient } from '../../scripts/runners/deploy/clients.js';
import { deploy, type DeployClients, type DeployReport } from '../../scripts/runners/deploy/index.js';
import type { Progress } from '../../scripts/runners/core/progress.js';

const quiet: Progress = { info: () => {}, step: () => {}, done: () => {} };
let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'parity-phases-'));
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(stateDir, { recursive: true, force: true });
});

interface World {
  readonly clients: DeployClients;
  readonly routes: { weights: Record<Color, number>; sticky: boolean }[];
  readonly states: DeployState[];
  readonly reports: Record<string, unknown>[];
  readonly containers: string[];
  /** The audit entries the deploy appended. */
  readonly audit: DeployEntry[];
}

/**
 * A stack in memory: Traefik loads routes at once; each Prometheus read adds 200 requests split
 * by the loaded weights, `greenErrorShare` of green's answering 500.
 */
function fakeWorld(options: { greenErrorShare?: number; smokeFails?: boolean; onCounters?: (weights: Record<Color, number>, call: number) => void } = {}): World {
  let now = Date.parse('2026-11-28T08:00:00Z');
  let loaded: Record<Color, number> = { blue: 100, green: 0 };
  const totals = { blue: { ok: 0, errors: 0 }, green: { ok: 0, errors: 0 } };
  const world: World = { routes: [], states: [], reports: [], containers: [], audit: [], clients: undefined as unknown as DeployClients };
  let calls = 0;
  const series = (color: Color): ColorCounters => ({
    requests: [
      { labels: { service: `events-${color}@file`, code: '200' }, value: totals[color].ok },
      { labels: { service: `events-${color}@file`, code: '500' }, value: totals[color].errors },
    ],
    buckets: [
      { labels: { service: `events-${color}@file`, le: '0.1' }, value: totals[color].ok + totals[color].errors },
      { labels: { service: `events-${color}@file`, le: '+Inf' }, value: totals[color].ok + totals[color].errors },
    ],
  });
  (world as { clients: DeployClients }).clients = {
    clock: {
      now: () => now,
      sleep: async (ms, signal) => {
        if (!signal?.aborted) now += ms;
      },
    },
    store: {
      writeRoutes: async (weights, sticky) => {
        world.routes.push({ weights: { ...weights }, sticky });
        loaded = { ...weights };
      },
      writeState: async (state) => void world.states.push(state),
      writeColorEnv: async () => {},
      saveReport: async (name, report) => {
        world.reports.push(report as Record<string, unknown>);
        return `/reports/${name}.json`;
      },
    },
    traefik: { loadedWeights: async () => loaded, downServices: async () => [] },
    prometheus: {
      counters: async () => {
        calls += 1;
        for (const color of ['blue', 'green'] as const) {
          const requests = (200 * loaded[color]) / 100;
          const errors = color === 'green' ? Math.round(requests * (options.greenErrorShare ?? 0)) : 0;
          totals[color].ok += requests - errors;
          totals[color].errors += errors;
        }
        options.onCounters?.(loaded, calls);
        return { blue: series('blue'), green: series('green') };
      },
    },
    containers: {
      start: async (color) => void world.containers.push(`start ${color}`),
      stop: async (color) => void world.containers.push(`stop ${color}`),
      unhealthy: async () => [],
      health: async () => ({ status: 'pass' }),
      inFlight: async () => 0,
      imageExists: async () => true,
    },
    smoke: async () => {
      if (options.smokeFails) throw new GateFailure('L4', ['post a chat: HTTP 502, color green, version 2.0.0: Bad Gateway']);
      return { register: { status: 201, attempts: 1 } };
    },
    answeringColor: async () => 'blue',
    audit: { record: async (entry) => void world.audit.push(entry) },
  };
  return world;
}

const run = (world: World, version: string, signal?: AbortSignal) =>
  deploy({ version }, { target: { project: 'fake', composeDir: '/nonexistent', stateDir }, config: DEFAULT_CONFIG, progress: quiet, clients: world.clients, ...(signal ? { signal } : {}) });

const off = { weights: { blue: 100, green: 0 }, sticky: false };

/** The last state written, and the report of the deploy. */
const outcome = (world: World) => ({ state: world.states.at(-1)!, report: world.reports.at(-1) as unknown as DeployReport });

describe('deploy phases against fake clients', () => {
  it('GIVEN a per-service deploy of an own image THEN the contract gate is asked first, for that image only; a refusal changes nothing (exit 1)', async () => {
    const world = fakeWorld();
    const asked: unknown[] = [];
    const error = await deploy(
      { version: '2.0.0', images: { events: 'team/events:2', ivor: catalogRef('stubs') } },
      {
        target: { project: 'fake', composeDir: '/nonexistent', stateDir },
        config: DEFAULT_CONFIG,
        progress: quiet,
        clients: world.clients,
        contractGate: async (candidates) => {
          asked.push(candidates);
          throw new ContractFailedError('contract gate: events (team/events:2, image abc): failed the platform contract');
        },
      },
    ).catch((e: unknown) => e);
    expect(asked).toEqual([[{ service: 'events', image: 'team/events:2' }]]);
    expect(error).toBeInstanceOf(ContractFailedError);
    expect((error as ContractFailedError).exitCode).toBe(1);
    expect(world.states).toEqual([]);
    expect(world.routes).toEqual([]);
    expect(world.containers).toEqual([]);
    expect(world.audit).toEqual([]);
  });

  it('promotes a good version: 5 % → 25 % → 100 %, drained, green active', async () => {
    const world = fakeWorld();
    const report = await run(world, '2.0.0');
    expect(report.result).toBe('promoted');
    expect(world.routes).toEqual([off, { weights: { blue: 95, green: 5 }, sticky: true }, { weights: { blue: 75, green: 25 }, sticky: true }, { weights: { blue: 0, green: 100 }, sticky: false }]);
    expect(report.phases.map((phase) => phase.name)).toEqual(['start green with 2.0.0', 'gate L1–L3 (/health of every service)', 'gate L4 (smoke journeys through Traefik)', 'canary 5 %', 'canary 25 %', 'switch to 100 %', 'drain blue']);
    expect(outcome(world).state).toMatchObject({ active: 'green', weights: { blue: 0, green: 100 }, lastDeploy: { version: '2.0.0', result: 'promoted', report: '/reports/deploy-2.0.0.json' } });
    expect(outcome(world).state.inProgress).toBeUndefined();
    const sides = { services: ['frontend-green', 'ivor-green', 'events-green', 'newsroom-green'], from: { color: 'blue', version: '0.0.0-blue' }, to: { color: 'green', version: '2.0.0' }, color: 'green' };
    expect(world.audit).toEqual([
      { action: 'deploy.start', subject: '2.0.0', outcome: 'ok', detail: sides },
      { action: 'deploy.finish', subject: '2.0.0', outcome: 'ok', detail: { ...sides, result: 'promoted', canary: 'passed', durationMs: report.totalMs, duration: formatDuration(report.totalMs) } },
    ]);
  });

  it('L4 fails: all traffic back on blue, green stopped, the report says why, exit 1', async () => {
    const world = fakeWorld({ smokeFails: true });
    const error = await run(world, '2.0.0').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployRolledBackError);
    expect((error as DeployRolledBackError).exitCode).toBe(1);
    expect((error as Error).message).toBe('deploy rolled back at gate "L4":\n  - post a chat: HTTP 502, color green, version 2.0.0: Bad Gateway\nreport: /reports/deploy-2.0.0.json');
    expect(world.routes).toEqual([off, off]);
    expect(world.containers).toEqual(['start green', 'stop green']);
    const { state, report } = outcome(world);
    expect(state).toMatchObject({ active: 'blue', weights: { blue: 100, green: 0 }, sticky: false, colors: { green: { version: '2.0.0' } }, lastDeploy: { version: '2.0.0', result: 'rolled-back' } });
    expect(state.inProgress).toBeUndefined();
    expect(report).toMatchObject({ result: 'rolled-back', failedGate: 'L4', reasons: ['post a chat: HTTP 502, color green, version 2.0.0: Bad Gateway'] });
    expect(report.phases.map((phase) => [phase.name, phase.ok])).toEqual([
      ['start green with 2.0.0', true],
      ['gate L1–L3 (/health of every service)', true],
      ['gate L4 (smoke journeys through Traefik)', false],
    ]);
    expect(report.traffic.map((entry) => [entry.weights.green, entry.why])).toEqual([[0, 'rollback: L4 failed']]);
  });

  it('a canary step fails on the error rate: rolled back at canary 5 % with the figures', async () => {
    const world = fakeWorld({ greenErrorShare: 0.2 });
    const error = (await run(world, '2.1.0-bad').catch((e: unknown) => e)) as DeployRolledBackError;
    expect(error).toBeInstanceOf(DeployRolledBackError);
    expect(error.gate).toBe('canary 5 %');
    // 10 requests per read reach green at 5 %, 2 of them 500s; it fails fast at 20 requests.
    expect(error.reasons).toEqual(['error rate 20.00 % > budget 1 % (4 of 20 requests; active color 0.00 %)']);
    expect(world.routes).toEqual([off, { weights: { blue: 95, green: 5 }, sticky: true }, off]);
    expect(world.containers).toEqual(['start green', 'stop green']);
    expect(outcome(world).state).toMatchObject({ active: 'blue', weights: { blue: 100, green: 0 }, lastDeploy: { result: 'rolled-back' } });
    expect(outcome(world).report.perColor.green.errors).toBeGreaterThan(0);
    expect(world.audit.map((entry) => [entry.action, entry.outcome, entry.subject])).toEqual([
      ['deploy.start', 'ok', '2.1.0-bad'],
      ['deploy.rollback', 'ok', '0.0.0-blue'],
      ['deploy.finish', 'failed', '2.1.0-bad'],
    ]);
    expect(world.audit[1]!.detail).toMatchObject({ automatic: true, failedGate: 'canary 5 %', from: { color: 'green', version: '2.1.0-bad' }, to: { color: 'blue', version: '0.0.0-blue' } });
    expect(world.audit[2]!.detail).toMatchObject({ canary: `failed at canary 5 %: ${error.reasons[0]}`, failedGate: 'canary 5 %' });
  });

  it('an abort (Ctrl-C) mid-step rolls back at that step', async () => {
    const aborter = new AbortController();
    let readsAt5 = 0;
    const world = fakeWorld({
      onCounters: (weights) => {
        if (weights.green === 5 && ++readsAt5 === 3) aborter.abort(); // the step's baseline, then two reads
      },
    });
    const error = (await run(world, '2.2.0', aborter.signal).catch((e: unknown) => e)) as DeployRolledBackError;
    expect(error).toBeInstanceOf(DeployRolledBackError);
    expect(error.message).toBe('deploy rolled back at gate "canary 5 %":\n  - interrupted (SIGINT/SIGTERM): rolling back\nreport: /reports/deploy-2.2.0.json');
    expect(world.routes).toEqual([off, { weights: { blue: 95, green: 5 }, sticky: true }, off]);
    expect(outcome(world).state).toMatchObject({ active: 'blue', weights: { blue: 100, green: 0 }, sticky: false, lastDeploy: { version: '2.2.0', result: 'rolled-back' } });
    expect(outcome(world).state.inProgress).toBeUndefined();
  });
});

describe('deploy: the edge restarting is the tool\'s time, not a failed gate', () => {
  it('GIVEN the operators\' port moved after Traefik restarted WHEN a gate request is refused THEN the port is looked up again and the request retried there, with a warning', async () => {
    let now = 0;
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
    const asked: string[] = [];
    let up = false;
    const http = async (url: string) => {
      asked.push(url);
      if (url.startsWith('https://localhost:1111')) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1111'), { code: 'ECONNREFUSED' });
      if (!up) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2222'), { code: 'ECONNREFUSED' });
      return { status: 200, headers: {}, body: url };
    };
    const warnings: string[] = [];
    let lookups = 0;
    const edge = edgeClient(http, 'https://localhost:1111', async () => {
      lookups += 1;
      if (lookups === 2) up = true;
      return 'https://localhost:2222';
    }, clock, (message) => warnings.push(message));
    const answer = await edge.http('https://localhost:1111/auth/register', { method: 'POST' });
    expect(answer.body).toBe('https://localhost:2222/auth/register');
    expect(edge.base()).toBe('https://localhost:2222');
    // A URL built on the old address later still reaches the new one.
    expect((await edge.http('https://localhost:1111/api/events')).body).toBe('https://localhost:2222/api/events');
    expect(warnings[0]).toBe('the edge did not answer at https://localhost:1111 (connect ECONNREFUSED 127.0.0.1:1111); now at https://localhost:2222: retried (the tool\'s time, not the new version\'s)');
  });

  it(`GIVEN the edge never comes back THEN the refusal is thrown after ${EDGE_BACK_MS / 1000} s, and other errors at once`, async () => {
    let now = 0;
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
    const refused = edgeClient(async () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), 'https://localhost:1111', async () => 'https://localhost:1111', clock, () => {});
    await expect(refused.http('https://localhost:1111/')).rejects.toThrow('ECONNREFUSED');
    expect(now).toBeGreaterThan(EDGE_BACK_MS);
    now = 0;
    const timedOut = edgeClient(async () => Promise.reject(new Error('expected an answer within 10 s; none came')), 'https://localhost:1111', async () => 'x', clock, () => {});
    await expect(timedOut.http('https://localhost:1111/')).rejects.toThrow('none came');
    expect(now).toBe(0);
  });
});
