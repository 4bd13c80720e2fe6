import { describe, expect, it } from 'vitest';
import { parseEndpointStatus } from '../../scripts/runners/clients/etcd.js';
import { pickVictim } from '../../scripts/runners/drill/faults.js';
import type { ClusterView } from '../../scripts/runners/clients/patroni.js';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import { failoverFigures, longestAckGapMs, recoveryMs, type FailoverObservations } from '../../services/drills/failover.js';
import { bucketize, buildDrillReport, drillResult, groupFailures, judgeFigures, type DrillRecord, type DrillReport, type Sample } from '../../services/drills/model.js';
import { renderDrillJunit, renderDrillSummary, renderDrillTimelineSvg } from '../../services/render/drill-report.js';

const write = (atMs: number, outcome: Sample['outcome'], latencyMs = 5, seq?: number): Sample => ({ atMs, lane: 'write', outcome, latencyMs, ...(seq ? { seq } : {}) });
const budgets = DEFAULT_CONFIG.drills.failover;

describe('drills: what users saw, second by second', () => {
  it('GIVEN samples THEN each lane is counted per second, from 0 to the last second', () => {
    const samples: Sample[] = [write(100, 'ok'), write(900, 'failed'), write(1500, 'ok'), { atMs: 2100, lane: 'api', outcome: 'fallback', latencyMs: 3 }];
    expect(bucketize(samples, 'write', 2500)).toEqual([
      { second: 0, ok: 1, fallback: 0, failed: 1 },
      { second: 1, ok: 1, fallback: 0, failed: 0 },
      { second: 2, ok: 0, fallback: 0, failed: 0 },
    ]);
    expect(bucketize(samples, 'api', 2500)[2]).toEqual({ second: 2, ok: 0, fallback: 1, failed: 0 });
  });
});

describe('drills: recovery time', () => {
  it('GIVEN failures after the fault THEN RTO ends at the ack of the first success after the last failure', () => {
    const samples = [write(900, 'ok'), write(1000, 'failed', 300), write(1400, 'failed', 1000), write(2600, 'ok', 40), write(2650, 'ok')];
    expect(recoveryMs(samples, 1000)).toEqual({ ms: 1640, failures: 2 });
  });

  it('GIVEN no failure THEN RTO is the longest gap between acknowledgements (a stall)', () => {
    const samples = [write(950, 'ok', 10), write(1010, 'ok', 400), write(1450, 'ok', 10)];
    expect(recoveryMs(samples, 1000)).toEqual({ ms: 410, failures: 0 });
  });

  it('GIVEN failures and no success after them THEN RTO is unknown', () => {
    expect(Number.isNaN(recoveryMs([write(1000, 'failed')], 900).ms)).toBe(true);
  });
});

describe('drills: failover figures and budgets', () => {
  const observed = (over: Partial<FailoverObservations> = {}): FailoverObservations => ({
    scenario: 'kill-primary',
    faultAtMs: 1000,
    samples: [write(500, 'ok'), write(1000, 'failed'), write(3000, 'ok', 20)],
    apiWriteTimes: new Set(),
    leaderChanges: [{ atMs: 2500, from: 'postgres-1', to: 'postgres-2' }],
    ackedWritesLost: 0,
    rejoinMs: 4200,
    ...over,
  });

  it('GIVEN a clean kill THEN every figure passes', () => {
    const verdicts = judgeFigures(failoverFigures(observed(), budgets));
    expect(verdicts.filter((v) => !v.pass)).toEqual([]);
    expect(verdicts.find((v) => v.name.startsWith('RTO'))?.value).toBe(2020);
    expect(drillResult(verdicts)).toBe('pass');
  });

  it('GIVEN a lost write, a second election and a slow rejoin THEN each fails with its reason', () => {
    const verdicts = judgeFigures(
      failoverFigures(observed({ ackedWritesLost: 2, rejoinMs: 61_000, leaderChanges: [{ atMs: 2500, to: 'postgres-2' }, { atMs: 9000, to: 'postgres-3' }] }), budgets),
    );
    expect(verdicts.filter((v) => !v.pass).map((v) => v.reason)).toEqual([
      'acked writes lost 2 > budget 0 (acknowledged sequence numbers missing afterwards)',
      'false failovers 1 > budget 0 (leader changes seen: 2, expected 1)',
      'rejoin as replica 61000 ms > budget 30000 ms (restart → replicating from the leader)',
    ]);
    expect(drillResult(verdicts)).toBe('fail');
  });

  it('GIVEN a kill where no new leader ever came THEN the drill fails saying so', () => {
    const verdicts = judgeFigures(failoverFigures(observed({ leaderChanges: [], samples: [write(1000, 'failed')] }), budgets));
    expect(verdicts.filter((v) => !v.pass).map((v) => v.reason)).toEqual([
      'RTO (fault → first acked write): never measured (sequence-numbered INSERTs through postgres-writer)',
      'new leader elected: never measured (no leader change was seen)',
    ]);
  });

  it('GIVEN a lost replica THEN a single write error fails the drill (the scenario allows none)', () => {
    const verdicts = judgeFigures(failoverFigures(observed({ scenario: 'kill-replica', leaderChanges: [] }), budgets));
    expect(verdicts.find((v) => v.name === 'write errors seen by clients')).toMatchObject({ pass: false, value: 1, reason: 'write errors seen by clients 1 > budget 0 (failed INSERTs through postgres-writer)' });
  });

  it('GIVEN a partition where the old leader stayed writable after the election THEN "two writable nodes" fails', () => {
    const verdicts = judgeFigures(failoverFigures(observed({ scenario: 'partition-primary', overlapMs: 350 }), budgets));
    expect(verdicts.find((v) => v.name === 'two writable nodes at once')).toMatchObject({ pass: false, value: 350 });
  });
});

describe("drills: the users' longest gap without an acknowledged API write", () => {
  const api = (atMs: number, outcome: Sample['outcome'], latencyMs = 20): Sample => ({ atMs, lane: 'api', outcome, latencyMs });

  it('GIVEN acknowledged writes around a failed stretch THEN the gap runs from the last ack before to the first ack after', () => {
    const samples = [api(900, 'ok'), api(1000, 'failed', 3000), api(1050, 'ok', 6000), api(4000, 'failed'), api(6900, 'ok', 100), api(6950, 'ok')];
    // Acks at 920, 6970 (the 1050 write answered late), 7000, 6970: the gap is 920 → 6970.
    expect(longestAckGapMs(samples, 7100)).toBe(6050);
  });

  it('GIVEN no acknowledged write after the last one THEN the gap runs to the end of the load', () => {
    expect(longestAckGapMs([api(100, 'ok'), api(200, 'failed')], 5000)).toBe(4880);
    expect(Number.isNaN(longestAckGapMs([api(100, 'failed')], 5000))).toBe(true);
  });

  it("GIVEN users' writes stalled 12 s after a 2 s RTO (the edge breaker kept the API shut) THEN the figure fails against RTO + 1 s", () => {
    const writes = [api(500, 'ok'), api(1100, 'failed'), api(14_000, 'ok', 20)];
    const verdicts = judgeFigures(
      failoverFigures(
        { scenario: 'kill-primary', faultAtMs: 1000, samples: [write(500, 'ok'), write(1000, 'failed'), write(3000, 'ok', 20), ...writes], apiWriteTimes: new Set(writes.map((s) => s.atMs)), leaderChanges: [{ atMs: 2500, to: 'postgres-2' }], ackedWritesLost: 0, rejoinMs: 4000, loadEndMs: 14_100 },
        budgets,
      ),
    );
    expect(verdicts.find((v) => v.name.startsWith("users' longest gap"))).toMatchObject({
      value: 13_500,
      budget: 3020,
      pass: false,
      reason: "users' longest gap without an acked API write 13500 ms > budget 3020 ms (consecutive acknowledged POST /api/events through the front; budget RTO + 1000 ms)",
    });
  });
});

describe('drills: the report as text, JUnit XML and a picture', () => {
  const verdicts = judgeFigures(failoverFigures({ scenario: 'switchover', faultAtMs: 1000, samples: [write(900, 'ok'), write(1200, 'ok', 3500)], apiWriteTimes: new Set(), leaderChanges: [{ atMs: 1300, to: 'b' }], ackedWritesLost: 0 }, budgets));
  const report: DrillReport = {
    kind: 'drill',
    drill: 'failover',
    scenario: 'switchover',
    description: 'a planned switchover',
    startedAt: '2026-11-28T08:00:00.000Z',
    durationMs: 3000,
    markers: [{ name: 'fault injected', atMs: 1000 }, { name: 'new leader elected', atMs: 1300, detail: 'b' }, { name: 'never came' }],
    bands: [{ lane: 'write', label: 'no leader', fromMs: 1000, toMs: 1300, tone: 'bad' }],
    figures: verdicts,
    timeline: { api: [], write: bucketize([write(900, 'ok'), write(1200, 'ok', 3500)], 'write', 3000) },
    restored: [],
    result: drillResult(verdicts),
    notes: ['a <note> & more'],
  };

  it('GIVEN a stall over budget THEN the summary, the JUnit failure and the picture all say so', () => {
    const summary = renderDrillSummary(report, { dir: '/tmp/x' });
    expect(summary.split('\n')[0]).toBe('drill failover/switchover: FAILED (budget exceeded) (3.0s) — a planned switchover');
    expect(summary).toContain('  why: switchover write stall 3700 ms > budget 3000 ms (sequence-numbered INSERTs through postgres-writer)');
    expect(summary).toContain('     never  never came');
    expect(summary).toContain('  users: API 0 ok, 0 fallback, 0 failed; writes 2 acked, 0 failed');
    // A drill without the writer's lane (chaos, node) says nothing of it.
    expect(renderDrillSummary({ ...report, timeline: { api: report.timeline.write, write: [] } }, { dir: '/tmp/x' })).toMatch(/ {2}users: API 2 ok, 0 fallback, 0 failed\n/);
    const junit = renderDrillJunit(report);
    expect(junit).toContain('<testsuite name="drill.failover.switchover"');
    expect(junit).toContain('failures="1"');
    expect(junit).toContain('<failure message="switchover write stall 3700 ms &gt; budget 3000 ms (sequence-numbered INSERTs through postgres-writer)" type="BudgetExceeded"/>');
    const svg = renderDrillTimelineSvg(report);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('+1.30 s new leader elected');
    expect(svg).toContain('>no leader</text>');
    expect(svg).not.toContain('never came');
  });
});

describe("drills: every report's envelope", () => {
  const api = (atMs: number, outcome: Sample['outcome']): Sample => ({ atMs, lane: 'api', outcome, latencyMs: 10 });
  const record: DrillRecord = {
    startedAt: new Date('2026-11-28T08:00:00.000Z'),
    durationMs: 2500,
    phases: [{ name: 'preflight', ms: 12, ok: true }],
    markers: [{ name: 'never came' }, { name: 'late', atMs: 2000 }, { name: 'early', atMs: 100 }],
    samples: [write(100, 'ok'), api(1200, 'failed')],
    restored: ['started x again'],
    notes: ['the run said this'],
  };
  const findings = { drill: 'chaos', scenario: 's', description: 'd', figures: [{ name: 'gap', value: 5, unit: 'ms' as const, budget: 3, how: 'measured' }], notes: ['settings first'] };

  it('GIVEN a run and its findings THEN the figures judged, the markers in time order, both lanes bucketed, the drill\'s notes before the run\'s', () => {
    const report = buildDrillReport(record, findings);
    expect(Object.keys(report)).toEqual(['kind', 'drill', 'scenario', 'description', 'startedAt', 'durationMs', 'phases', 'markers', 'bands', 'figures', 'timeline', 'restored', 'result', 'notes', 'failures']);
    expect(report).toMatchObject({ kind: 'drill', drill: 'chaos', startedAt: '2026-11-28T08:00:00.000Z', bands: [], result: 'fail', notes: ['settings first', 'the run said this'] });
    expect(report.failures).toEqual([{ lane: 'api', detail: 'no detail', count: 1, firstAtMs: 1200, lastAtMs: 1200 }]);
    expect(report.markers.map((m) => m.name)).toEqual(['early', 'late', 'never came']);
    expect(report.figures[0]).toMatchObject({ pass: false, reason: 'gap 5 ms > budget 3 ms (measured)' });
    expect(report.timeline).toEqual({ api: bucketize(record.samples, 'api', 2500), write: bucketize(record.samples, 'write', 2500) });
  });

  it('GIVEN a drill with one lane and an error THEN the other lane stays empty and the result is error', () => {
    const report = buildDrillReport({ ...record, error: 'it broke' }, { ...findings, lanes: ['api'] });
    expect(report.timeline.write).toEqual([]);
    expect(report.timeline.api).toHaveLength(3);
    expect(report).toMatchObject({ result: 'error', error: 'it broke' });
    expect(Object.keys(report).slice(-4)).toEqual(['result', 'error', 'notes', 'failures']);
  });
});

describe('drills: a write answered with a fallback page was not written', () => {
  it('GIVEN API writes that got the edge fallback after the database was back THEN API write recovery ends at the first acknowledged write', () => {
    const api = (atMs: number, outcome: Sample['outcome']): Sample => ({ atMs, lane: 'api', outcome, latencyMs: 10 });
    const writes = [api(500, 'ok'), api(1100, 'failed'), api(4000, 'fallback'), api(9000, 'fallback'), api(12_000, 'ok')];
    const verdicts = judgeFigures(
      failoverFigures({ scenario: 'kill-primary', faultAtMs: 1000, samples: [write(500, 'ok'), write(1000, 'failed'), write(3000, 'ok', 20), ...writes], apiWriteTimes: new Set(writes.map((s) => s.atMs)), leaderChanges: [{ atMs: 2500, to: 'postgres-2' }], ackedWritesLost: 0, rejoinMs: 4000 }, budgets),
    );
    expect(verdicts.find((v) => v.name === 'API write recovery')?.value).toBe(11_010);
  });
});

describe('groupFailures: what the failed requests said', () => {
  it('groups by lane, route and message with addresses masked, most frequent first, writes before API', () => {
    const sample = (atMs: number, lane: Sample['lane'], detail: string, route?: string): Sample => ({ atMs, lane, outcome: 'failed', latencyMs: 1, detail, ...(route ? { route } : {}) });
    const groups = groupFailures([
      sample(100, 'api', 'HTTP 503', '/api/events'),
      sample(200, 'write', 'connect ECONNREFUSED 172.18.0.5:5432'),
      sample(300, 'write', 'connect ECONNREFUSED 172.18.0.7:5432'),
      sample(400, 'write', 'Query read timeout'),
      sample(500, 'api', 'HTTP 503', '/api/events'),
      { atMs: 600, lane: 'api', outcome: 'ok', latencyMs: 1 },
    ]);
    expect(groups).toEqual([
      { lane: 'write', detail: 'connect ECONNREFUSED <address>', count: 2, firstAtMs: 200, lastAtMs: 300 },
      { lane: 'write', detail: 'Query read timeout', count: 1, firstAtMs: 400, lastAtMs: 400 },
      { lane: 'api', detail: '/api/events: HTTP 503', count: 2, firstAtMs: 100, lastAtMs: 500 },
    ]);
  });
});

describe('lose-etcd-member loses the etcd leader', () => {
  const view = { leader: 'postgres-1', members: [{ name: 'postgres-1', role: 'leader' }, { name: 'postgres-2', role: 'sync_standby' }] } as unknown as ClusterView;
  it('reads member and leader ids as text (64-bit ids lose digits as JS numbers)', () => {
    const out = '[{"Endpoint":"http://127.0.0.1:2379","Status":{"header":{"cluster_id":11471855596786139059,"member_id":12079729030696235339,"revision":7734},"leader":12079729030696235339,"raftIndex":9785}}]';
    expect(parseEndpointStatus(out)).toEqual({ memberId: '12079729030696235339', leaderId: '12079729030696235339' });
    expect(parseEndpointStatus('Error: context deadline exceeded')).toBeUndefined();
  });
  it('picks the etcd leader when known, else the last member; other scenarios are unchanged', () => {
    expect(pickVictim('lose-etcd-member', view, ['postgres-1', 'postgres-2'], 'etcd-2')).toBe('etcd-2');
    expect(pickVictim('lose-etcd-member', view, ['postgres-1', 'postgres-2'])).toBe('etcd-3');
    expect(pickVictim('kill-replica', view, ['postgres-1', 'postgres-2'], 'etcd-2')).toBe('postgres-2');
  });
});
