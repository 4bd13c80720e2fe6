/**
 * The stack runners on a small real compose project: a service whose health check fails is
 * named, with the time waited and its last log lines; `down` leaves no containers or
 * networks but keeps volumes; `clean` removes the volumes too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downStack, waitForHealthy } from '../../scripts/runners/stack/stack.js';
import { engineOf } from '../../scripts/runners/clients/engine-of.js';
import { type ComposeTarget } from '../../scripts/runners/clients/engine.js';
import { cleanStack } from '../../scripts/runners/stack/clean.js';
import { createProgress } from '../../scripts/runners/core/progress.js';
import type { Topology } from '../../services/topology/index.js';
import { StaleVolumesError, TimeoutError } from '../../services/errors.js';
import { checkVolumesMatchState, recordVolumes } from '../../scripts/runners/stack/volumes.js';
import { ensureSecrets } from '../../scripts/runners/stack/stack-state.js';
import { cliCommandLine, imageRef } from './helpers.js';

let dir: string;
let target: ComposeTarget;

const list = (kind: 'ps' | 'network' | 'volume', project: string): string[] => {
  const args = kind === 'ps' ? ['ps', '-aq'] : [kind, 'ls', '-q'];
  return spawnSync('docker', [...args, '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'parity-lifecycle-'));
  target = { project: `parity-lifecycle-${process.pid}`, composeDir: dir, stateDir: dir };
  writeFileSync(
    join(dir, 'compose.yaml'),
    [
      'services:',
      '  good:',
      `    image: ${imageRef('debian')}`,
      '    command: ["sleep", "300"]',
      '    volumes: ["data:/data"]',
      '    healthcheck: { test: ["CMD", "true"], interval: 1s, retries: 3 }',
      '  bad:',
      `    image: ${imageRef('debian')}`,
      '    command: ["sh", "-c", "echo bad: cannot reach its database; sleep 300"]',
      '    healthcheck: { test: ["CMD", "false"], interval: 1s, retries: 2 }',
      'volumes:',
      '  data: {}',
      '',
    ].join('\n'),
  );
  await engineOf(target).up();
});

afterAll(async () => {
  await cleanStack(target).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('stack lifecycle runners', () => {
  it('GIVEN a service that fails its health check WHEN waiting THEN the error names it, the wait, and its last log lines', async () => {
    const topology = { services: [{ name: 'good' }, { name: 'bad' }] } as unknown as Topology;
    const failure = await waitForHealthy(target, topology, createProgress('[test]'), 60_000).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TimeoutError);
    const message = (failure as TimeoutError).message;
    expect(message).toMatch(/^bad failed its health check \(waited \d+(\.\d)?s; 1\/2 services healthy\)/);
    expect(message).toContain('--- bad: running, unhealthy; last 30 log lines ---');
    expect(message).toContain('bad: cannot reach its database');
    expect((failure as TimeoutError).exitCode).toBe(1);
  });

  it('GIVEN the project\'s volumes and a state directory without their secrets WHEN checking before up THEN it refuses with both ways out; with the record it passes; a volume the record does not name is foreign', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'parity-state-'));
    try {
      const refused = await checkVolumesMatchState(target.project, stateDir).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(StaleVolumesError);
      expect((refused as StaleVolumesError).exitCode).toBe(2);
      const message = (refused as StaleVolumesError).message;
      expect(message).toMatch(new RegExp(`^project ${target.project} has data volumes on the engine from an earlier stack: ${target.project}_data \\(data last changed \\d{4}-`));
      expect(message).toContain(`there are no secrets in ${join(stateDir, 'secrets')} (a second checkout, or a deleted state directory)`);
      expect(message).toContain('Nothing was started or created.');
      expect(message).toContain(`1. keep the data: restore the state directory that goes with it (its secrets/, ca/ and tls/) into ${stateDir}, then make up`);
      expect(message).toContain('2. start from empty data: make clean');
      expect(existsSync(join(stateDir, 'secrets'))).toBe(false);

      await ensureSecrets(stateDir);
      await recordVolumes(target.project, stateDir);
      await expect(checkVolumesMatchState(target.project, stateDir)).resolves.toBeUndefined();

      // A volume these secrets were never used with (another state's): foreign.
      await writeFile(join(stateDir, 'secrets', 'volumes.json'), JSON.stringify([{ name: `${target.project}_other` }]));
      const again = await checkVolumesMatchState(target.project, stateDir).catch((error: unknown) => error);
      expect(again).toBeInstanceOf(StaleVolumesError);
      expect((again as Error).message).toContain(`the secrets in ${join(stateDir, 'secrets')} were never used with them (they were used with: ${target.project}_other)`);
      // A state directory from before the record adopts what it finds.
      await rm(join(stateDir, 'secrets', 'volumes.json'));
      await expect(checkVolumesMatchState(target.project, stateDir)).resolves.toBeUndefined();
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('make clean on a terminal: says what it will destroy and removes nothing without "yes"; FORCE=1 goes ahead without asking', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'parity-clean-'));
    try {
      mkdirSync(join(stateDir, 'secrets'));
      writeFileSync(join(stateDir, 'secrets', 'jwt_key'), 'x');
      mkdirSync(join(stateDir, 'ca'));
      const env = { ...process.env, PARITY_PROJECT: target.project, PARITY_COMPOSE_DIR: dir, PARITY_STATE_DIR: stateDir, FORCE: '' };
      // `script` gives the command a pseudo-terminal, as a person's shell would; "no" is typed in.
      const cli = cliCommandLine('stack.ts', ['clean']);
      const declined = spawnSync('script', ['-qec', cli, '/dev/null'], { env, input: 'no\n', encoding: 'utf8', cwd: join(import.meta.dirname, '..', '..') });
      expect(declined.status, declined.stdout).toBe(1);
      expect(declined.stdout).toContain('make clean will destroy:');
      expect(declined.stdout).toContain(`- 1 volumes, with all their data: ${target.project}_data`);
      expect(declined.stdout).toContain(`- in ${stateDir}: secrets/, ca/ (secrets and the local CA can't be recovered)`);
      expect(declined.stdout).toContain('nothing was removed');
      expect(existsSync(join(stateDir, 'secrets', 'jwt_key'))).toBe(true);
      expect(list('volume', target.project).length).toBe(1);

      const forced = spawnSync('script', ['-qec', cli, '/dev/null'], { env: { ...env, FORCE: '1' }, encoding: 'utf8', cwd: join(import.meta.dirname, '..', '..') });
      expect(forced.status, forced.stdout).toBe(0);
      expect(forced.stdout).not.toContain('Type "yes"');
      expect(forced.stdout).toContain('removed:');
      expect(existsSync(join(stateDir, 'secrets'))).toBe(false);
      expect(list('volume', target.project)).toEqual([]);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('down leaves no containers or networks and keeps volumes; clean removes volumes', async () => {
    await engineOf(target).up();
    expect(list('ps', target.project).length).toBe(2);
    await downStack(target, false);
    expect(list('ps', target.project)).toEqual([]);
    expect(list('network', target.project)).toEqual([]);
    expect(list('volume', target.project).length).toBe(1);
    await cleanStack(target);
    expect(list('volume', target.project)).toEqual([]);
  });
});
