/**
 * The bake's behaviour on a real engine: a warm re-run changes nothing, a failing build
 * reports its step and last log lines and leaves earlier images intact, and the engine
 * bootstrap is idempotent.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IMAGE_CATALOG, type ImageSpec } from '../../services/images/catalog.js';
import { ImageBuildError } from '../../services/errors.js';
import { bakeImages } from '../../scripts/runners/engine/images.js';
import type { Progress } from '../../scripts/runners/core/progress.js';
import { statePath } from '../../scripts/runners/core/state.js';
import { imageRef, runCliSync } from './helpers.js';

const root = join(import.meta.dirname, '..', '..');
const BROKEN_REF = 'parity-test/broken:1';

function recordingProgress(): Progress & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), step: (m) => lines.push(m), done: () => undefined };
}

function imageId(ref: string): string {
  return spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { encoding: 'utf8' }).stdout.trim();
}

afterAll(() => {
  spawnSync('docker', ['image', 'rm', '-f', BROKEN_REF]);
  // The failed build's finished steps stay as dangling images (cache for a retry), labelled
  // through their Debian base; and its context is kept for debugging. Neither should outlive the test.
  spawnSync('docker', ['image', 'prune', '-f', '--filter', 'dangling=true', '--filter', 'label=dev.parity.catalog-name=debian']);
  rmSync(statePath('build', 'broken'), { recursive: true, force: true });
});

describe('image bake on a real engine', () => {
  it('GIVEN every image present WHEN baking again THEN each is reported present and nothing is rebuilt', () => {
    const before = IMAGE_CATALOG.map((spec) => imageId(spec.ref));
    const result = runCliSync('images.ts', ['--offline'], { ...process.env, CI: '1' });
    expect(result.status, result.stderr).toBe(0);
    for (const spec of IMAGE_CATALOG) expect(result.stderr).toContain(`${spec.ref}: present`);
    expect(result.stderr).toContain(`${IMAGE_CATALOG.length} images ready`);
    expect(result.stderr).toContain('0 built');
    expect(IMAGE_CATALOG.map((spec) => imageId(spec.ref))).toEqual(before);
  });

  it('GIVEN a recipe whose step fails WHEN baking THEN the error names the step and shows the log, and the base stays intact', async () => {
    const debian = IMAGE_CATALOG.find((spec) => spec.name === 'debian')!;
    const broken: ImageSpec = {
      name: 'broken',
      ref: BROKEN_REF,
      version: '1',
      source: 'test fixture',
      licence: 'MIT',
      from: ['debian'],
      role: 'service',
      recipe: { kind: 'dockerfile', dir: 'broken', inputs: [], args: { UPSTREAM_VERSION: '1' } },
    };
    const debianBefore = imageId(imageRef('debian'));
    const progress = recordingProgress();
    const failure = await bakeImages({
      names: ['broken'],
      offline: true,
      progress,
      catalog: [debian, broken],
      dockerfileRoot: join(root, 'tests/fixtures/images'),
    }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ImageBuildError);
    const error = failure as ImageBuildError;
    expect(error.exitCode).toBe(1);
    // The classic builder counts the --label flags as extra steps after the Dockerfile's five.
    expect(error.step).toMatch(/^step 5\/\d+ \(RUN echo "parity test: this step fails on purpose" && exit 3/);
    expect(error.message).toContain(`building ${BROKEN_REF} failed at step 5/`);
    expect(error.message).toContain('--- last log lines ---');
    expect(error.logTail).toContain('parity test: this step fails on purpose');
    expect(progress.lines.some((line) => line.includes('step 4/'))).toBe(true);
    expect(imageId(BROKEN_REF)).toBe('');
    expect(imageId(imageRef('debian'))).toBe(debianBefore);
  });

  it('GIVEN a running engine WHEN bootstrapping twice THEN the second run changes nothing and says so', () => {
    for (let run = 0; run < 2; run++) {
      const result = runCliSync('engine.ts', [], { ...process.env, CI: '1' });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/engine \S+ \(API 1\.\d+\), compose \S+: already in place, nothing to do/);
    }
  });
});
