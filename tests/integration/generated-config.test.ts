/**
 * The generated files pass the real tools: `docker compose config`, `docker stack deploy`'s loader
 * (for stack.yaml), promtool (check config, check rules, and `test rules`: one case per alert
 * rule), and amtool.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSecrets } from '../../scripts/runners/stack/stack-state.js';
import { alertRules, RECORDING_RULES } from '../../services/topology/prometheus.js';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import { imageRef } from './helpers.js';
import { parseConfig } from '../../services/config/validate.js';
import { generate } from '../../scripts/runners/gen/gen.js';

const composeDir = join(import.meta.dirname, '..', '..', 'compose');
let stateDir: string;

function dockerRun(image: string, mount: string, entrypoint: string, args: string[]) {
  return spawnSync('docker', ['run', '--rm', '-v', mount, '--entrypoint', entrypoint, image, ...args], { encoding: 'utf8' });
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'parity-config-'));
  await ensureSecrets(stateDir);
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe('generated files, checked by the real tools', () => {
  it("the engine's own docker stack deploy loads stack.yaml: its compose 3.9 schema holds and no option is ignored (pointed at no engine, it deploys nothing)", () => {
    // A color's env files are read by the CLI while it loads the file; make up writes them.
    mkdirSync(join(stateDir, 'deploy'), { recursive: true });
    for (const color of ['blue', 'green']) writeFileSync(join(stateDir, 'deploy', `${color}.env`), '');
    // The committed file, and the goldens' (a minimal profile, and one with chaos on).
    const golden = join(import.meta.dirname, '..', 'golden');
    for (const file of [join(composeDir, 'stack.yaml'), join(golden, 'minimal', 'stack.yaml'), join(golden, 'minimal-chaos', 'stack.yaml')]) {
      const result = spawnSync('docker', ['stack', 'deploy', '--compose-file', file, 'parity-check'], {
        encoding: 'utf8',
        env: { ...process.env, PARITY_STATE_DIR: stateDir, DOCKER_HOST: `unix://${join(stateDir, 'no-engine.sock')}` },
      });
      const said = `${result.stdout}${result.stderr}`;
      expect(said, file).not.toMatch(/Additional property|unsupported|is not allowed|must be a|invalid/i);
      // It got past loading and validating the file, to connecting.
      expect(said, file).toContain('Cannot connect to the Docker daemon');
    }
  });

  it('docker compose config accepts compose.yaml, alone and with the test overlay', () => {
    for (const files of [['compose.yaml'], ['compose.yaml', 'compose.test.yaml']]) {
      const result = spawnSync('docker', ['compose', ...files.flatMap((f) => ['-f', join(composeDir, f)]), 'config', '--quiet'], {
        encoding: 'utf8',
        env: { ...process.env, PARITY_STATE_DIR: stateDir },
      });
      expect(result.status, result.stderr).toBe(0);
    }
  });

  it('promtool checks the Prometheus config and its rules', () => {
    const result = dockerRun(imageRef('prometheus'), `${composeDir}/prometheus:/etc/prometheus:ro`, 'promtool', ['check', 'config', '/etc/prometheus/prometheus.yml']);
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    // The alerts and the recording rules that derive the edge breakers' state.
    expect(result.stdout).toContain(`SUCCESS: ${alertRules(DEFAULT_CONFIG).length + RECORDING_RULES.length} rules found`);
  });

  it('promtool test rules: every alert rule fires on its test series', () => {
    const result = dockerRun(imageRef('prometheus'), `${composeDir}/prometheus:/etc/prometheus:ro`, 'promtool', ['test', 'rules', '/etc/prometheus/alerts.test.yml']);
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('promtool test rules with a DR region: the region rules (RegionStandbyBehind) fire on their test series too', async () => {
    const out = join(stateDir, 'dr-compose');
    const config = parseConfig('postgres:\n  ha: patroni\nbackup:\n  enabled: true\ndr:\n  enabled: true\n');
    await generate(config, out);
    const rules = alertRules(config).map((rule) => rule.alert);
    expect(rules).toContain('RegionStandbyBehind');
    const result = dockerRun(imageRef('prometheus'), `${out}/prometheus:/etc/prometheus:ro`, 'promtool', ['test', 'rules', '/etc/prometheus/alerts.test.yml']);
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('amtool checks the Alertmanager config', () => {
    const result = dockerRun(imageRef('alertmanager'), `${composeDir}/alertmanager:/etc/alertmanager:ro`, 'amtool', ['check-config', '/etc/alertmanager/alertmanager.yml']);
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
    expect(result.stdout).toContain(' - 3 receivers');
  });
});
