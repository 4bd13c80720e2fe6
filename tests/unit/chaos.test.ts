/**
 * The chaos drill's pure parts: scenarios in parity.yaml (validated like the rest of the config),
 * toxics from a scenario, the order of breaker transitions seen between two polls, the edge
 * breaker read from what users got, the figures, and the `/metrics` reading of the watcher.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCENARIOS } from '../../services/config/schema.js';
import { ConfigError, parseConfig } from '../../services/config/validate.js';
import { allClosedAt, allOpenAt, breakerBands, chaosFigures, edgeTransitions, orderTransitions, toxicsFor, transitionPath, type Transition } from '../../services/drills/chaos.js';
import type { Sample } from '../../services/drills/model.js';
import { renderDrillTimelineSvg } from '../../services/render/drill-report.js';
import { readBreakers } from '../../scripts/runners/drill/chaos/breaker-watch.js';
import { classify } from '../../scripts/runners/drill/api-load.js';

const problems = (text: string): string => {
  try {
    parseConfig(text);
    return 'no problem';
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
};

describe('chaos config', () => {
  it('has the issue\'s six scenarios by default, chaos on in full and off in minimal', () => {
    expect(Object.keys(parseConfig('').chaos.scenarios)).toEqual(['ivor-down', 'events-db-latency', 'newsroom-s3-outage', 'redis-down', 'postgres-reader-partition', 'redis-flapping']);
    expect(parseConfig('').chaos.enabled).toBe(true);
    expect(parseConfig('profile: minimal\n').chaos.enabled).toBe(false);
    expect(parseConfig('profile: minimal\nchaos:\n  enabled: true\n').chaos.enabled).toBe(true);
  });

  it('changes a built-in scenario field by field and adds new ones with defaults', () => {
    const config = parseConfig('chaos:\n  scenarios:\n    redis-down:\n      durationSeconds: 5\n    slow-s3:\n      target: s3\n      toxic: { type: latency, latencyMs: 500 }\n      load: [/api/articles]\n');
    expect(config.chaos.scenarios['redis-down']).toEqual({ ...DEFAULT_SCENARIOS['redis-down'], durationSeconds: 5 });
    expect(config.chaos.scenarios['slow-s3']).toEqual({ description: '', target: 's3', toxic: { type: 'latency', latencyMs: 500 }, load: ['/api/articles'], durationSeconds: 20, expect: { breakers: [], fallbacks: [], p95Ms: 250 } });
  });

  it('reports every problem of a declared scenario at once, with its line', () => {
    const text = [
      'chaos:',
      '  scenarios:',
      '    Bad_Name: {}',
      '    slow:',
      '      target: postgres-writr',
      '      toxic: { type: latency, rateKbps: 5 }',
      '      load: [api/events]',
      '      expect:',
      '        breakers: ["events:redis", "cdn:x"]',
      '    flappy:',
      '      target: redis',
      '      toxic: { type: down }',
      '      durationSeconds: 4',
      '      flap: { downSeconds: 3, upSeconds: 3 }',
      '      load: [/auth/verify]',
      '',
    ].join('\n');
    expect(problems(text)).toBe(
      [
        'parity.yaml: 8 problems; nothing was written',
        '  parity.yaml:3:5 chaos.scenarios.Bad_Name: expected a name of lower-case letters, digits and dashes, starting with a letter, got "Bad_Name"',
        '  parity.yaml:5:15 chaos.scenarios.slow.target: expected one of "postgres-writer", "postgres-reader", "redis", "s3", "ivor", "events", "newsroom", got "postgres-writr"',
        '  parity.yaml:6:7 chaos.scenarios.slow.toxic.latencyMs: required by a latency toxic',
        '  parity.yaml:6:31 chaos.scenarios.slow.toxic.rateKbps: a latency toxic doesn\'t take rateKbps; it takes latencyMs, jitterMs',
        '  parity.yaml:7:14 chaos.scenarios.slow.load[0]: expected a path starting with /, got "api/events"',
        '  parity.yaml:9:20 chaos.scenarios.slow.expect.breakers[0]: events has no breaker "redis"; its breakers: postgres-primary, postgres-replica, s3',
        '  parity.yaml:9:36 chaos.scenarios.slow.expect.breakers[1]: no service "cdn" has breakers; expected one of frontend, ivor, events, newsroom, auth, edge',
        '  parity.yaml:14:7 chaos.scenarios.flappy.flap: one cycle (down 3 s + up 3 s) is longer than durationSeconds 4',
      ].join('\n'),
    );
  });

  it('asks a scenario of your own for its target, toxic and load', () => {
    expect(problems('chaos:\n  scenarios:\n    mine:\n      durationSeconds: 5\n')).toBe(
      [
        'parity.yaml: 3 problems; nothing was written',
        ...['target', 'toxic', 'load'].map((field) => `  parity.yaml:3:5 chaos.scenarios.mine.${field}: required for a scenario of your own (see the built-in ones in docs/chaos.md)`),
      ].join('\n'),
    );
  });

  it('checks the edge breaker\'s expression like Traefik, pointing at the column', () => {
    expect(problems('breakers:\n  edge:\n    expression: "NetworkErrorRate() > 0.5"\n')).toBe(
      'parity.yaml: 1 problem; nothing was written\n  parity.yaml:3:18 breakers.edge.expression: invalid circuitBreaker expression: unknown function "NetworkErrorRate" at column 1; expected one of NetworkErrorRatio(), ResponseCodeRatio(from, to, dividedFrom, dividedTo), LatencyAtQuantileMS(quantile) (did you mean NetworkErrorRatio?)',
    );
  });

  it('refuses an S3 scenario where no S3 store runs', () => {
    expect(problems('profile: minimal\nchaos:\n  scenarios:\n    newsroom-s3-outage: { durationSeconds: 5 }\n')).toMatch(/chaos.scenarios.newsroom-s3-outage.target: the S3 store doesn't run with profile "minimal" \(use profile: full\)/);
  });
});

describe('chaos drill, pure', () => {
  it('turns each toxic into Toxiproxy\'s form; a partition stops data both ways; down is no toxic (the proxy is disabled)', () => {
    expect(toxicsFor({ type: 'latency', latencyMs: 2000 }, 'x')).toEqual([{ name: 'x-latency-downstream', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 2000, jitter: 0 } }]);
    expect(toxicsFor({ type: 'timeout', timeoutMs: 0 }, 'x').map((t) => `${t.type}/${t.stream}`)).toEqual(['timeout/upstream', 'timeout/downstream']);
    expect(toxicsFor({ type: 'down' }, 'x')).toEqual([]);
  });

  it('puts the events counted between two polls in the only order a breaker can take them', () => {
    expect(orderTransitions('closed', { open: 1, halfOpen: 1, close: 1 })).toEqual(['open', 'half-open', 'closed']);
    expect(orderTransitions('open', { open: 1, halfOpen: 2, close: 1 })).toEqual(['half-open', 'open', 'half-open', 'closed']);
    expect(orderTransitions('open', { open: 0, halfOpen: 0, close: 1 })).toEqual(['closed']);
    expect(orderTransitions('closed', { open: 0, halfOpen: 0, close: 0 })).toEqual([]);
  });

  const sample = (atMs: number, status: number, detail?: string, route = '/api/resources', latencyMs = 5): Sample => ({
    atMs,
    lane: 'api',
    outcome: detail ? 'fallback' : status < 300 ? 'ok' : 'failed',
    latencyMs,
    status,
    route,
    ...(detail ? { detail } : {}),
  });

  it('reads the edge breaker from what users got: open at the first edge 503, closed at the first other answer after the last', () => {
    const samples = [sample(0, 200), sample(1000, 502, 'edge-ivor'), sample(1500, 503, 'edge-ivor'), sample(2000, 503, 'edge-ivor'), sample(2500, 200), sample(3000, 200), sample(2600, 200, undefined, '/api/events')];
    expect(edgeTransitions(samples, { ivor: ['/api/chat', '/api/resources'], events: ['/api/events'] })).toEqual([
      { breaker: 'edge:ivor', to: 'open', atMs: 1505 },
      { breaker: 'edge:ivor', to: 'closed', atMs: 2505 },
    ]);
  });

  it('judges a scenario: open time, p95 while open, failures after open, fallbacks seen, recovery', () => {
    const transitions: Transition[] = [
      { breaker: 'auth:redis', to: 'open', atMs: 1200 },
      { breaker: 'auth:redis', to: 'half-open', atMs: 3000 },
      { breaker: 'auth:redis', to: 'open', atMs: 3000 },
      { breaker: 'auth:redis', to: 'half-open', atMs: 6200 },
      { breaker: 'auth:redis', to: 'closed', atMs: 6300 },
    ];
    const samples = [sample(500, 200, undefined, '/auth/verify'), sample(1100, 500, undefined, '/auth/verify'), ...[1300, 2000, 3000, 4000, 5000].map((at) => sample(at, 200, 'auth-stateless', '/auth/verify', 10)), sample(7000, 200, undefined, '/auth/verify')];
    const observed = { scenario: DEFAULT_SCENARIOS['redis-down']!, samples, transitions, faultAtMs: 1000, removedAtMs: 6000, endMs: 8000 };
    expect(allOpenAt(observed)).toBe(1200);
    expect(allClosedAt(observed)).toBe(6300);
    expect(transitionPath(transitions, 'auth:redis')).toBe('closed → open → half-open → open → half-open → closed');
    const figures = Object.fromEntries(chaosFigures(observed, { failedAfterOpen: 0, openSeconds: 15, recoverSeconds: 75 }).map((f) => [f.name, f.value]));
    expect(figures).toEqual({
      "users' p95 before the fault": 5,
      'fault → breakers OPEN': 200,
      "users' p95 while OPEN": 10,
      'failed (no fallback) after OPEN': 0,
      'failed before OPEN': 1,
      'expected fallbacks not seen': 0,
      'fault removed → all CLOSED': 300,
      'not ok after recovery': 0,
    });
  });

  it('draws each breaker as a row of states under the requests', () => {
    const bands = breakerBands([{ breaker: 'events:postgres-replica', to: 'open', atMs: 2000 }, { breaker: 'events:postgres-replica', to: 'closed', atMs: 5000 }], 8000);
    expect(bands).toEqual([{ lane: 'strip:events:postgres-replica', label: 'OPEN', fromMs: 2000, toMs: 5000, tone: 'bad' }]);
    const svg = renderDrillTimelineSvg({
      kind: 'drill', drill: 'chaos', scenario: 's', description: '', startedAt: '2026-11-28T00:00:00Z', durationMs: 8000, markers: [], bands, figures: [],
      timeline: { api: [{ second: 0, ok: 1, fallback: 0, failed: 0 }], write: [] }, restored: [], result: 'pass', notes: [],
    });
    expect(svg).toContain('>events:postgres-replica</text>');
    expect(svg).toContain('<title>events:postgres-replica: OPEN +2.00s → +5.00s</title>');
  });

  it('counts a fallback page as degraded even with a 5xx status, and a bare 5xx as failed', () => {
    expect(classify(503, { 'x-parity-fallback': 'edge-ivor' })).toBe('fallback');
    expect(classify(200, {})).toBe('ok');
    expect(classify(502, {})).toBe('failed');
  });
});

describe('breaker watch', () => {
  it('reads each breaker\'s state and event counts from a stub\'s /metrics', () => {
    const text = [
      '# TYPE circuit_breaker_state gauge',
      'circuit_breaker_state{breaker="redis",service="auth",color="none",version="dev"} 2',
      'circuit_breaker_events_total{breaker="redis",event="open",service="auth",color="none",version="dev"} 3',
      'circuit_breaker_events_total{breaker="redis",event="half-open",service="auth",color="none",version="dev"} 2',
      'circuit_breaker_events_total{breaker="redis",event="close",service="auth",color="none",version="dev"} 1',
      'circuit_breaker_events_total{breaker="redis",event="probe-close",service="auth",color="none",version="dev"} 1',
      'circuit_breaker_events_total{breaker="redis",event="reject",service="auth",color="none",version="dev"} 40',
    ].join('\n');
    expect(readBreakers(text)).toEqual(new Map([['auth:redis', { state: 'open', open: 3, halfOpen: 2, close: 2 }]]));
  });
});
