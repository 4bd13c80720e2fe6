/** The platform contract's clauses: pure judgements over what `make contract` saw (services/contracts/platform-contract.ts). */
import { describe, expect, it } from 'vitest';
import { CLAUSES, contractDocument, healthSchema, judgeContract, type ContractEvidence } from '../../services/contracts/platform-contract.js';
import { contractPassed, renderContractJunit, renderContractSummary } from '../../services/render/contract-report.js';
import { parseContractRequest, contractConfigYaml } from '../../scripts/runners/dev/contract.js';
import { parseConfig } from '../../services/config/validate.js';

const METRICS = 'http_requests_total{method="GET",status="200"} 3\nhttp_request_duration_seconds_bucket{le="0.1"} 3\nhttp_requests_in_flight 0\n';
const GOOD: ContractEvidence = {
  service: 'events',
  bootMs: 1200,
  bootBudgetMs: 30_000,
  livenessWithoutDatabase: 200,
  readinessWithoutDatabase: { status: 503, body: '{"status":"fail","checks":{"postgres-writer":{"ok":false}}}' },
  readiness: { status: 200, body: '{"status":"pass"}' },
  apiHeaders: { 'x-parity-service': 'events', 'x-parity-color': 'blue', 'x-parity-version': '1.0' },
  metrics: METRICS,
  unauthenticatedWrites: [{ route: 'POST /api/events', status: 401 }],
  restartReadyMs: 900,
  inFlightAtSigterm: { status: 200 },
};

describe('the platform contract', () => {
  it('GIVEN a service that keeps every convention THEN every clause passes', () => {
    const clauses = judgeContract(GOOD);
    expect(clauses.map((c) => [c.id, c.verdict])).toEqual(CLAUSES.map((c) => [c.id, 'pass']));
    expect(contractPassed({ service: 'events', image: 'x:1', startedAt: 'T', durationMs: 1, clauses })).toBe(true);
  });

  it('GIVEN the broken variant\'s evidence (no metrics, liveness on the database, no drain) THEN exactly those clauses fail, each saying what breaks', () => {
    const clauses = judgeContract({ ...GOOD, metrics: '', livenessWithoutDatabase: 503, inFlightAtSigterm: { error: 'socket hang up' } });
    const failed = clauses.filter((c) => c.verdict === 'fail');
    expect(failed.map((c) => c.id)).toEqual(['liveness-without-data-stores', 'metrics', 'sigterm-drains']);
    expect(failed.find((c) => c.id === 'metrics')!.evidence).toContain('no http_requests_in_flight: deploy drain cannot wait for in-flight requests');
    const report = { service: 'events', image: 'x:1', startedAt: 'T', durationMs: 42_000, clauses };
    expect(renderContractSummary(report, '/r')).toContain('FAILED (3 of 9 clauses)');
    expect(renderContractJunit(report)).toContain('failures="3"');
  });

  it('GIVEN readiness that stays 200 with the database cut, or does not name it; writes accepted without credentials; wrong headers THEN those fail', () => {
    const clauses = judgeContract({
      ...GOOD,
      readinessWithoutDatabase: { status: 200, body: '{"status":"pass"}' },
      unauthenticatedWrites: [{ route: 'POST /api/events', status: 201 }],
      apiHeaders: { 'x-parity-service': 'newsroom' },
      readiness: { status: 200, body: 'OK' },
    });
    expect(clauses.filter((c) => c.verdict === 'fail').map((c) => c.id)).toEqual(['readiness-names-dependency', 'health-format', 'headers', 'writes-need-credentials']);
  });

  it('GIVEN nothing measured THEN those clauses say so and the contract does not pass', () => {
    const clauses = judgeContract({ service: 'events', bootBudgetMs: 30_000 });
    expect(clauses.find((c) => c.id === 'boots')!.verdict).toBe('fail');
    expect(clauses.find((c) => c.id === 'metrics')!.verdict).toBe('not measured');
    expect(contractPassed({ service: 'events', image: 'x', startedAt: 'T', durationMs: 1, clauses })).toBe(false);
  });

  it('THEN the published document lists every clause and the schema requires status', () => {
    const doc = contractDocument();
    for (const clause of CLAUSES) expect(doc).toContain(`\`${clause.id}\``);
    expect(healthSchema()).toMatchObject({ required: ['status'], properties: { status: { enum: ['pass', 'warn', 'fail'] } } });
  });
});

describe('make contract: the request', () => {
  it('GIVEN no service, an unknown one, a bad image THEN exit 2; without IMAGE the config\'s image, else the stubs\'', () => {
    const config = parseConfig('services:\n  events:\n    source: image\n    image: team/events:1\n    port: 8080\n');
    expect(() => parseContractRequest(undefined, undefined, config)).toThrow(/SERVICE is required/);
    expect(() => parseContractRequest('evnts', undefined, config)).toThrow(/did you mean events\?/);
    expect(() => parseContractRequest('events', 'Not An Image', config)).toThrow(/not an image reference/);
    expect(parseContractRequest('events', undefined, config)).toEqual({ service: 'events', image: 'team/events:1' });
    expect(parseContractRequest('ivor', undefined, config).image).toMatch(/^parity\/stubs:/);
    expect(contractConfigYaml(config, 'events', 'cand/events:2')).toContain('image: cand/events:2');
    expect(contractConfigYaml(config, 'events', 'cand/events:2')).toContain('port: 8080');
  });
});
