/**
 * A standby region and the region drill, on real containers: the primary (2 Patroni nodes,
 * backups on), the DR region (its own network, Traefik, apps, S3 store and a Patroni standby
 * cluster) and the link between them, started the way `make up` starts them. The drill is the
 * runner itself (`runRegionDrill`), twice: a second run must work the same on what the first left.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../services/config/validate.js';
import { runRegionDrill } from '../../scripts/runners/drill/region.js';
import { tryRun } from '../../scripts/runners/exec.js';
import { readRegionCluster, servingRegion } from '../../scripts/runners/region-ops.js';
import { downRegions, regionTargets, startLink, upDrRegion } from '../../scripts/runners/regions.js';
import { downStack, upStack, type ComposeTarget } from '../../scripts/runners/stack.js';
import { figureOf, recordingProgress } from './helpers.js';

const root = join(import.meta.dirname, '..', '..');
const project = `parity-region-${process.pid}`;
const CONFIG_YAML = 'profile: minimal\ndemo: false\npostgres:\n  ha: patroni\n  nodes: 2\nbackup:\n  enabled: true\ndr:\n  enabled: true\n  edgePort: 18444\n';
const config = parseConfig(CONFIG_YAML);
let target: ComposeTarget;
const log: string[] = [];
const progress = recordingProgress(log);
const figure = figureOf;

/** Containers, networks or volumes of the three projects (`kind`: ps, network, volume). */
async function leftovers(kind: 'ps' | 'network' | 'volume'): Promise<string> {
  const { primary, dr, link } = regionTargets(target);
  const found: string[] = [];
  for (const name of [primary.project, dr.project, link.project]) {
    const args = kind === 'ps' ? ['ps', '-aq'] : [kind, 'ls', '-q'];
    found.push((await tryRun(['docker', ...args, '--filter', `label=com.docker.compose.project=${name}`])).stdout.trim());
  }
  return found.filter(Boolean).join(' ');
}

beforeAll(async () => {
  const stateDir = mkdtempSync(join(root, '.parity', 'test-region-'));
  writeFileSync(join(stateDir, 'parity.yaml'), CONFIG_YAML);
  target = { project, composeDir: join(stateDir, 'compose'), stateDir };
  await upStack(config, target, progress, 400_000, { beforeUp: () => startLink(target, progress) });
  await upDrRegion(config, target, progress, 400_000);
}, 900_000);

afterAll(async () => {
  if (target) {
    await downRegions(target, true).catch(() => undefined);
    await downStack(target, true).catch(() => undefined);
    expect(await leftovers('ps')).toBe('');
    expect(await leftovers('volume')).toBe('');
    // Docker 20.10 here sometimes keeps a network with a stale "active endpoint" after containers were SIGKILLed
    // (no container is attached; only a daemon restart clears it): reported, see docs/benchmarks.md.
    const networks = await leftovers('network');
    if (networks) log.push(`FIGURES leftover networks (engine's stale endpoint): ${networks}`);
    rmSync(target.stateDir, { recursive: true, force: true });
  }
  process.stdout.write(`\nregion drills:\n${log.filter((line) => line.startsWith('FIGURES')).join('\n')}\n`);
}, 180_000);

describe('a standby region from the same model', () => {
  it('the DR region runs a standby cluster following the primary, and the edge serves the primary', async () => {
    const targets = regionTargets(target);
    const dr = await readRegionCluster(targets, 'dr', config);
    expect(dr?.members.find((m) => m.name === dr.leader)?.role).toBe('standby_leader');
    expect(await servingRegion(target.stateDir)).toBe('primary');
  });

  for (const run of [1, 2]) {
    it(`region drill, run ${run}: the primary region lost, DR serves within the RTO budget, then failing back loses no write acknowledged in DR`, async () => {
      const { report } = await runRegionDrill({ target, config, progress });
      log.push(`FIGURES region run ${run}: ${report.figures.map((f) => `${f.name}=${f.value ?? 'n/a'}${f.unit === 'ms' ? 'ms' : ''}`).join(', ')}`);
      expect(report.result).toBe('pass');
      expect(figure(report, 'RTO').value).toBeLessThanOrEqual(config.drills.region.rtoSeconds * 1000);
      expect(figure(report, 'RPO: acked writes lost').value).not.toBeNull();
      expect(figure(report, 'failback: acked writes lost').value).toBe(0);
      expect(report.restored).toContain('state: the primary region serves; the DR region is its standby cluster (as before the drill)');
      expect(await servingRegion(target.stateDir)).toBe('primary');
    }, 600_000);
  }
});
