/** The deploy policy (pure) and the deploy state files (no engine): gates, queries, routes, lock. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import { colorCounterQueries, figures, figuresBetween, histogramQuantile, initialDeployState, judgeCanary, validateDeployRequest } from '../../services/deploy/policy.js';
import { DeployLockedError } from '../../services/errors.js';
import { acquireDeployLock, ensureColorEnvFiles, writeColorEnv, writeDeployState, writeRoutes } from '../../scripts/runners/deploy-state.js';
import { installDynamicConfig } from '../../scripts/runners/stack-state.js';

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

  it("reads a color's counters from Traefik's service metrics", () => {
    expect(colorCounterQueries('green')).toEqual({
      byCode: 'sum by (code) (traefik_service_requests_total{service=~"(frontend|ivor|events|newsroom)-green@file"})',
      byBucket: 'sum by (le) (traefik_service_request_duration_seconds_bucket{service=~"(frontend|ivor|events|newsroom)-green@file"})',
    });
  });

  it('counts errors whose series first appeared during the step (increase() would miss them)', () => {
    const before = { byCode: { '200': 40 }, byBucket: { '0.1': 38, '0.5': 40, '+Inf': 40 } };
    const after = { byCode: { '200': 120, '500': 20 }, byBucket: { '0.1': 110, '0.5': 138, '+Inf': 140 } };
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
