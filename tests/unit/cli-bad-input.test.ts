import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliSync } from '../cli.js';

const root = join(import.meta.dirname, '..', '..');
function runScript(script: string, args: string[], env: Record<string, string> = {}) {
  return runCliSync(script, args, { ...process.env, CI: '1', ...env });
}

describe('scripts reject bad input with exit code 2 before touching the engine', () => {
  it('an unknown image name', () => {
    const result = runScript('images.ts', ['traefk']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('✖ UnknownImageError: unknown image "traefk" (did you mean "traefik"?)');
  });

  it('an unknown flag, with the usage', () => {
    const result = runScript('images.ts', ['--ofline']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("✖ UsageError: Unknown option '--ofline'");
    expect(result.stderr).toContain('Usage: make images');
  });

  it('make deploy with a bad VERSION and FAULT: every problem, exit 2, nothing changed', () => {
    const result = runScript('deploy.ts', ['deploy', '--version', 'two words', '--fault', 'error=lots']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('✖ DeployInputError: make deploy: nothing was changed:');
    expect(result.stderr).toContain('  - VERSION: "two words" is not a version (letters, digits and . _ + -, starting with a letter or digit, at most 64)');
    expect(result.stderr).toContain('  - FAULT: error must be a share 0–1 or a percentage (got "lots") (e.g. FAULT=error=20%)');
  });

  it('make deploy says the script\'s own exit code, which make itself turns into 2', () => {
    // -o node_modules: never reinstall packages from a test.
    const result = spawnSync('make', ['-s', '-o', 'node_modules', 'deploy', 'VERSION=two words'], { cwd: root, encoding: 'utf8', env: { ...process.env, CI: '1' } });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('✖ DeployInputError: make deploy: nothing was changed:');
    expect(result.stderr).toContain(
      'make deploy: scripts/deploy.ts exited 2 (bad input, nothing changed); make itself reports 2 for any failure, so for this code run: node --import tsx scripts/deploy.ts deploy …',
    );
  });

  it('make deploy without a command', () => {
    const result = runScript('deploy.ts', []);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('expected a command, deploy or rollback (got none)');
  });

  it('make chaos with an unknown scenario: exit 2 with the declared ones, before looking for the stack', () => {
    const result = runScript('chaos.ts', ['run', '--scenario', 'redis-dwn']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('✖ DrillInputError: unknown chaos scenario "redis-dwn"; declared (chaos.scenarios in parity.yaml and the built-in ones): ivor-down, events-db-latency, newsroom-s3-outage, redis-down, postgres-reader-partition, redis-flapping');
  });

  it('make chaos and make chaos-reset with chaos off: exit 2, saying how to turn it on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-chaos-'));
    writeFileSync(join(dir, 'parity.yaml'), 'profile: minimal\n');
    for (const args of [['reset'], ['run', '--scenario', 'redis-down']]) {
      const result = runScript('chaos.ts', args, { PARITY_CONFIG: join(dir, 'parity.yaml') });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('✖ DrillInputError: chaos is off in this config (chaos.enabled: false, the default with profile minimal); set chaos.enabled: true in parity.yaml, then make gen and make up');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('make backup with an unknown TYPE: exit 2 naming the three, before looking for the stack', () => {
    const result = runScript('backup.ts', ['backup', '--type', 'differential']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('✖ BackupInputError: backup type "differential": expected full, diff or incr');
  });

  it('make backup with a WAIT that is no number of seconds: exit 2, before looking for the stack', () => {
    const result = runScript('backup.ts', ['backup', '--wait-timeout', '15m']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('✖ UsageError: --wait-timeout (WAIT=): expected a number of seconds, 0 or more, got "15m"');
  });

  it('make backups with an unknown FORMAT', () => {
    const result = runScript('backup.ts', ['list', '--format', 'yaml']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('✖ UsageError: --format: expected table or json, got "yaml"');
  });

  it('make backups with backups off: exit 2, saying what to set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-backup-'));
    writeFileSync(join(dir, 'parity.yaml'), 'profile: minimal\n');
    const result = runScript('backup.ts', ['list'], { PARITY_CONFIG: join(dir, 'parity.yaml') });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      '✖ BackupInputError: backups are off in this config (backup.enabled: false, or a profile without the Patroni cluster): set backup.enabled: true with postgres.ha: patroni, then make up',
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it('--help prints usage and exits 0', () => {
    const result = runScript('engine.ts', ['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: make engine');
  });
});
