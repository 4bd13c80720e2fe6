/** The platform contract's clauses: pure judgements over what `make contract` saw (services/contracts/platform-contract.ts). */
import { describe, expect, it } from 'vitest';
import { CLAUSES, contractDocument, healthSchema, judgeContract, type ContractEvidence } from '../../services/contracts/platform-contract.js';
import { contractAuditEntry, contractPassed, renderContractJunit, renderContractSummary } from '../../services/render/contract-report.js';
import { parseContractRequest, contractConfigYaml } from '../../scripts/runners/dev/contract.js';
import { parseConfig } from '../../services/config/validate.js';
import { judgeGate, type ContractRecord } from '../../services/contracts/gate.js';

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
  rbac: [
    { route: 'POST /api/events', identity: 'anonymous', admitted: false, status: 401 },
    { route: 'POST /api/events', identity: 'member', admitted: false, status: 403 },
    { route: 'POST /api/events', identity: 'editor', admitted: true, status: 400 },
    { route: 'GET /api/events', identity: 'anonymous', admitted: true, status: 200 },
  ],
  badTokens: { route: 'POST /api/events', answers: [{ case: 'a kid nobody has', status: 401 }, { case: 'identity headers without a token', status: 401 }] },
  rotatedKeyStatus: 400,
};

describe('the platform contract', () => {
  it('GIVEN a service that keeps every convention THEN every clause passes', () => {
    const clauses = judgeContract(GOOD);
    expect(clauses.map((c) => [c.id, c.verdict])).toEqual(CLAUSES.map((c) => [c.id, 'pass']));
    expect(contractPassed({ service: 'events', image: 'x:1', startedAt: 'T', durationMs: 1, clauses })).toBe(true);
  });

  it('GIVEN the broken variant\'s evidence (no metrics, liveness on the database, no drain, identity headers trusted) THEN exactly those clauses fail, each saying what breaks', () => {
    const clauses = judgeContract({
      ...GOOD,
      metrics: '',
      livenessWithoutDatabase: 503,
      inFlightAtSigterm: { error: 'socket hang up' },
      badTokens: { route: 'POST /api/events', answers: [{ case: 'a kid nobody has', status: 401 }, { case: 'identity headers without a token', status: 400 }] },
    });
    const failed = clauses.filter((c) => c.verdict === 'fail');
    expect(failed.map((c) => c.id)).toEqual(['liveness-without-data-stores', 'metrics', 'tokens-verified', 'sigterm-drains']);
    expect(failed.find((c) => c.id === 'metrics')!.evidence).toContain('no http_requests_in_flight: deploy drain cannot wait for in-flight requests');
    expect(failed.find((c) => c.id === 'tokens-verified')!.evidence).toBe('POST /api/events: identity headers without a token → 400');
    const report = { service: 'events', image: 'x:1', startedAt: 'T', durationMs: 42_000, clauses };
    expect(renderContractSummary(report, '/r')).toContain(`FAILED (4 of ${CLAUSES.length} clauses)`);
    expect(renderContractJunit(report)).toContain('failures="4"');
  });

  it('GIVEN a member admitted to an editor\'s route, an editor refused, and a rotated key refused THEN rbac and rotated-key fail, naming the calls', () => {
    const clauses = judgeContract({
      ...GOOD,
      rbac: [
        { route: 'POST /api/events', identity: 'member', admitted: false, status: 201 },
        { route: 'POST /api/events', identity: 'editor', admitted: true, status: 403 },
        { route: 'GET /api/events', identity: 'anonymous', admitted: true, status: 200 },
      ],
      rotatedKeyStatus: 401,
    });
    const failed = clauses.filter((c) => c.verdict === 'fail');
    expect(failed.map((c) => c.id)).toEqual(['rbac', 'rotated-key']);
    expect(failed[0]!.evidence).toBe('POST /api/events as member: 201 (expected 401/403); POST /api/events as editor: 403 (expected admitted)');
    expect(judgeContract(GOOD).find((c) => c.id === 'rbac')!.evidence).toBe('2 routes × 3 identities as the table says');
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

  it('GIVEN the frontend (no database, no guarded write) THEN the database and write clauses do not apply, and it passes; JUnit skips them', () => {
    const clauses = judgeContract({ ...GOOD, service: 'frontend', usesDatabase: false, readinessWithoutDatabase: { status: 200, body: '{"status":"pass"}' }, unauthenticatedWrites: [], apiHeaders: { ...GOOD.apiHeaders, 'x-parity-service': 'frontend' } });
    expect(clauses.filter((c) => c.verdict === 'not applicable').map((c) => [c.id, c.evidence])).toEqual([
      ['readiness-names-dependency', 'frontend uses no database (it reaches the APIs only)'],
      ['writes-need-credentials', 'frontend has no write route that needs a signed-in user'],
    ]);
    const report = { service: 'frontend', image: 'x:1', startedAt: 'T', durationMs: 1, clauses };
    expect(contractPassed(report)).toBe(true);
    expect(renderContractSummary(report, '/r')).toContain('--   readiness-names-dependency');
    expect(renderContractJunit(report)).toContain('<skipped message="frontend uses no database (it reaches the APIs only)"/>');
    expect(renderContractJunit(report)).toContain('failures="0"');
  });

  it('THEN a run has an audit row: the service and image, ok or failed, the failed clauses and where the report is', () => {
    const failed = judgeContract({ ...GOOD, metrics: '' });
    expect(contractAuditEntry({ service: 'events', image: 'team/events:2', imageId: 'sha256:abc', startedAt: 'T', durationMs: 31_000, clauses: failed }, '/r/1')).toEqual({
      action: 'contract.run',
      subject: 'events team/events:2',
      outcome: 'failed',
      detail: { imageId: 'sha256:abc', failed: ['metrics'], durationMs: 31_000, report: '/r/1' },
    });
    expect(contractAuditEntry({ service: 'events', image: 'x:1', startedAt: 'T', durationMs: 1, clauses: judgeContract(GOOD) }, '/r/2').outcome).toBe('ok');
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

describe('the contract gate (services/contracts/gate.ts)', () => {
  const request = { service: 'events', image: 'team/events:2', imageId: 'sha256:abcdef0123456789', settingsKey: 'k1', mode: 'enforce' as const };
  const record = (over: Partial<ContractRecord>): ContractRecord => ({ service: 'events', image: 'team/events:2', imageId: 'sha256:abcdef0123456789', settingsKey: 'k1', passed: true, startedAt: '2026-12-07T10:00:00.000Z', failed: [], dir: '/r/1', ...over });

  it('GIVEN no run for this image ID and settings THEN run the contract first (another image, service or settings does not count)', () => {
    expect(judgeGate(request, []).action).toBe('run');
    expect(judgeGate(request, [record({ imageId: 'sha256:other' }), record({ service: 'ivor' }), record({ settingsKey: 'k2' })]).action).toBe('run');
  });

  it('GIVEN the newest run passed THEN route; GIVEN it failed THEN refuse, naming the clauses, the report and the way out; with contract: warn route it, saying so', () => {
    expect(judgeGate(request, [record({ passed: false, failed: ['metrics'], startedAt: '2026-12-07T09:00:00.000Z' }), record({})])).toEqual({ action: 'route', why: 'events (team/events:2, image abcdef012345): passed the platform contract at 2026-12-07T10:00:00.000Z' });
    const failed = [record({}), record({ passed: false, failed: ['metrics', 'tokens-verified'], startedAt: '2026-12-07T11:00:00.000Z', dir: '/r/2' })];
    const refused = judgeGate(request, failed);
    expect(refused.action).toBe('refuse');
    expect(refused.why).toBe(
      'events (team/events:2, image abcdef012345): failed the platform contract at 2026-12-07T11:00:00.000Z (metrics, tokens-verified; report: /r/2). Nothing was routed to it. Fix the clauses (make contract SERVICE=events IMAGE=team/events:2), or set services.events.contract: warn to route it anyway',
    );
    const warned = judgeGate({ ...request, mode: 'warn' }, failed);
    expect(warned.action).toBe('warn');
    expect(warned.why).toContain('routed anyway, because services.events.contract is warn');
  });

  it('GIVEN services.<name>.contract THEN enforce or warn; anything else is a clear error', () => {
    expect(parseConfig('services:\n  events:\n    contract: warn\n').services.events?.contract).toBe('warn');
    expect(() => parseConfig('services:\n  events:\n    contract: off\n')).toThrow(/services\.events\.contract.*enforce.*warn/s);
  });
});
