/** The deploy policy (pure) and the deploy state files (no engine): gates, queries, routes, lock. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import { colorCounterQueries, counterResets, figures, figuresBetween, histogramQuantile, initialDeployState, judgeCanary, validateDeployRequest, type ColorCounters } from '../../services/deploy/policy.js';
import { DeployLockedError } from '../../services/errors.js';
import { acquireDeployLock, ensureColorEnvFiles, writeColorEnv, writeDeployState, writeRoutes } from '../../scripts/runners/stack/deploy-state.js';
import { installDynamicConfig } from '../../scripts/runners/stack/stack-state.js';

const budgets = DEFAULT_CONFIG.deploy;
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'parity-deploy-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('canary judgement', () => {
  const active = figures(1000, 0, 0.05);

  it('passes a color within budgets', () => {
    expect(judgeCanary(figures(200, 1, 0.12), active, budgets)).toEqual({ pass: true, failures: [], warnings: [] });
  });

  it('fails on the error rate and on p95, with the figures and the active color for comparison', () => {
    const judged = judgeCanary(figures(100, 20, 0.8), active, budgets);
    expect(judged.pass).toBe(false);
    expect(judged.failures).toEqual(['error rate 20.00 % > budget 1 % (20 of 100 requests; active color 0.00 %)', 'p95 800 ms > budget 500 ms (active color 50 ms)']);
  });

  it('GIVEN users\' load beyond the machine (both colors over the p95 budget) THEN a new color no slower than the active one passes with a warning, and a slower one still fails', () => {
    const saturated = figures(4000, 0, 0.886);
    const judged = judgeCanary(figures(200, 0, 0.798), saturated, budgets);
    expect(judged.pass).toBe(true);
    expect(judged.warnings).toEqual([
      "p95 798 ms is over the 500 ms budget, but so is the active color's (886 ms over 4000 requests): the platform is saturated, and the new color is no slower than 1.25 × the active color's + 50 ms (1158 ms)",
    ]);
    expect(judgeCanary(figures(200, 0, 1.5), saturated, budgets).failures).toEqual(['p95 1500 ms > budget 500 ms (active color 886 ms; over the budget too, but the new color is slower than 1.25 × it + 50 ms = 1158 ms)']);
    // Errors are judged against the budget whatever the load.
    expect(judgeCanary(figures(200, 20, 0.798), saturated, budgets).pass).toBe(false);
  });

  it('warns (but judges) when too few requests reached the new color', () => {
    expect(judgeCanary(figures(3, 0, 0.01), active, budgets).warnings).toEqual(['only 3 requests reached the new color (fewer than 20): judged on what there is']);
    expect(judgeCanary(figures(0, 0, NaN), active, budgets).pass).toBe(true);
  });
});

describe('deploy requests and queries', () => {
  it('collects every problem of a request', () => {
    expect(validateDeployRequest({ version: '' })).toEqual(['VERSION: required, e.g. make deploy VERSION=1.4.0']);
    expect(validateDeployRequest({ version: '1.4.0', fault: 'error=20%', image: 'parity/stubs:1.0.0' })).toEqual([]);
    expect(validateDeployRequest({ version: '-x', fault: 'boom', image: 'nope' })).toHaveLength(3);
    // What the stub would refuse at start is refused here, before anything changes.
    expect(validateDeployRequest({ version: '1.0.0', fault: 'error=50' })).toEqual(['FAULT: error must be a share 0–1 or a percentage (got "50") (e.g. FAULT=error=20%)']);
  });

  it("reads a color's counters per series from Traefik's service metrics, fresh samples only", () => {
    const selector = 'service=~"(frontend|ivor|events|newsroom)-green@file"';
    expect(colorCounterQueries('green')).toEqual({
      requests: `traefik_service_requests_total{${selector}} and (timestamp(traefik_service_requests_total{${selector}}) > time() - 30)`,
      buckets: `traefik_service_request_duration_seconds_bucket{${selector}} and (timestamp(traefik_service_request_duration_seconds_bucket{${selector}}) > time() - 30)`,
    });
  });

  it('counts errors whose series first appeared during the step (increase() would miss them)', () => {
    const before = snapshot([['200', 40]], [['0.1', 38], ['0.5', 40], ['+Inf', 40]]);
    const after = snapshot([['200', 120], ['500', 20]], [['0.1', 110], ['0.5', 138], ['+Inf', 140]]);
    const f = figuresBetween(before, after);
    expect(f).toMatchObject({ requests: 100, errors: 20, errorRate: 0.2 });
    // 95th of 100 in the (0.1, 0.5] bucket, which holds ranks 73–98: 0.1 + 0.4 × (95 − 72) / 26.
    expect(f.p95Ms).toBeCloseTo((0.1 + (0.4 * 23) / 26) * 1000, 6);
  });

  it('interpolates quantiles like histogram_quantile', () => {
    expect(histogramQuantile(0.5, { '0.1': 50, '0.2': 100, '+Inf': 100 })).toBeCloseTo(0.1);
    expect(histogramQuantile(0.95, { '0.1': 0, '+Inf': 10 })).toBe(0.1);
    expect(histogramQuantile(0.95, {})).toBeNaN();
  });
});

describe('deploy state files', () => {
  it('routes carry the weights, and the sticky cookie only while both colors get traffic', async () => {
    const dir = tempDir();
    await writeRoutes(dir, { weights: { blue: 75, green: 25 }, sticky: true });
    const split = parse(readFileSync(join(dir, 'traefik', 'dynamic', 'routes.yml'), 'utf8'));
    expect(split.http.services.events.weighted).toEqual({
      services: [
        { name: 'events-blue', weight: 75 },
        { name: 'events-green', weight: 25 },
      ],
      sticky: { cookie: { name: 'parity_color', secure: true, httpOnly: true, sameSite: 'lax' } },
    });
    await writeRoutes(dir, { weights: { blue: 0, green: 100 }, sticky: true });
    expect(parse(readFileSync(join(dir, 'traefik', 'dynamic', 'routes.yml'), 'utf8')).http.services.events.weighted.sticky).toBeUndefined();
  });

  it('make up keeps a deployed state instead of the generated routes, and never overwrites a color env file', async () => {
    const dir = tempDir();
    await writeDeployState(dir, { ...initialDeployState('blue'), active: 'green', weights: { blue: 0, green: 100 } });
    await writeColorEnv(dir, 'green', { version: '1.2.3', fault: 'error=5%' });
    await installDynamicConfig(dir);
    await ensureColorEnvFiles(dir);
    expect(parse(readFileSync(join(dir, 'traefik', 'dynamic', 'routes.yml'), 'utf8')).http.services.frontend.weighted.services).toEqual([
      { name: 'frontend-blue', weight: 0 },
      { name: 'frontend-green', weight: 100 },
    ]);
    expect(readFileSync(join(dir, 'deploy', 'green.env'), 'utf8')).toContain('VERSION=1.2.3\nFAULT=error=5%\n');
    expect(readFileSync(join(dir, 'deploy', 'blue.env'), 'utf8')).toContain('VERSION=0.0.0-blue\n');
  });

  it('the lock refuses a second holder, and takes over a lock whose process is gone', async () => {
    const dir = tempDir();
    const release = await acquireDeployLock(dir, 'deploy 1.0.0', () => {});
    await expect(acquireDeployLock(dir, 'deploy 2.0.0', () => {})).rejects.toThrow(DeployLockedError);
    await release();
    writeFileSync(join(dir, 'deploy', 'lock'), JSON.stringify({ pid: 2 ** 22 + 17, command: 'deploy 0.9.0', startedAt: 'then' }));
    const stale: string[] = [];
    const again = await acquireDeployLock(dir, 'deploy 2.0.0', (info) => stale.push(info.command));
    expect(stale).toEqual(['deploy 0.9.0']);
    await again();
  });
});

/** A color's counters as Prometheus returns them: one series per code (and per bucket), full labels. */
function snapshot(codes: [string, number][], buckets: [string, number][] = [], service = 'events-green@file'): ColorCounters {
  const labels = { instance: 'traefik:8082', job: 'traefik', method: 'GET', protocol: 'http', service };
  return {
    requests: codes.map(([code, value]) => ({ labels: { ...labels, code }, value })),
    buckets: buckets.map(([le, value]) => ({ labels: { ...labels, code: '200', le }, value })),
  };
}

describe('counter resets and stale series (a restarted Traefik or Prometheus)', () => {
  it('a counter that went down restarted from 0: its new value is the increase, like increase()', () => {
    // The reported case: the baseline read code 200 = 23734 from the previous Traefik; the new
    // one counted 225 × 2xx and 37 × 5xx since its start.
    const f = figuresBetween(snapshot([['200', 23734]]), snapshot([['200', 225], ['500', 37]]));
    expect(f).toMatchObject({ requests: 262, errors: 37 });
    expect(f.errorRate).toBeCloseTo(37 / 262, 9);
    expect(counterResets(snapshot([['200', 23734]]), snapshot([['200', 225], ['500', 37]]))).toEqual([
      'code="200",instance="traefik:8082",job="traefik",method="GET",protocol="http",service="events-green@file": 23734 → 225',
    ]);
  });

  it('a stale high 5xx series that disappears counts nothing (and does not hide new 5xx)', () => {
    const before = snapshot([['200', 10], ['500', 9000]]);
    expect(figuresBetween(before, snapshot([['200', 110]]))).toMatchObject({ requests: 100, errors: 0 });
    // The same stale 5xx series, reset by a bad version that answers 500s: they count.
    expect(figuresBetween(before, snapshot([['200', 90], ['500', 20]]))).toMatchObject({ requests: 100, errors: 20 });
  });

  it('series are told apart by their full label set, not summed before the difference', () => {
    // Two services: one restarted (down), one kept counting (up). A sum would read 1000 → 1050, +50.
    const before = { requests: [...snapshot([['200', 900]]).requests, ...snapshot([['200', 100]], [], 'ivor-green@file').requests], buckets: [] };
    const after = { requests: [...snapshot([['200', 30]]).requests, ...snapshot([['200', 1020]], [], 'ivor-green@file').requests], buckets: [] };
    expect(figuresBetween(before, after).requests).toBe(30 + 920);
  });

  it('latency buckets reset per series too', () => {
    const before = snapshot([['200', 500]], [['0.1', 500], ['+Inf', 500]]);
    const after = snapshot([['200', 100]], [['0.1', 10], ['+Inf', 100]]);
    // 100 requests since the reset, 90 of them slower than 0.1 s: p95 beyond the last finite bound.
    expect(figuresBetween(before, after)).toMatchObject({ requests: 100, p95Ms: 100 });
  });
});
