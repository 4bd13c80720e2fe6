/**
 * The stubs image's bundles (the catalog's `project-bundle`, built as the bake builds them):
 * each service's bundle holds its own service module and the clients it uses, nothing of the
 * other services', so an idle stub loads only what it runs. Memory itself is a benchmark
 * (`make bench-stubs`), not a test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STUB_SERVICES, type StubService } from '../../services/contracts/index.js';
import { catalogImage } from '../../services/images/catalog.js';
import { bundleProject } from '../../scripts/runners/engine/bundle.js';

/** The drivers each service connects with (`StubDefinition.clients`): packages only these bundles may hold. */
const DRIVERS = ['pg', 'ioredis', '@aws-sdk/client-s3'] as const;
const EXPECTED_DRIVERS: Readonly<Record<StubService, readonly (typeof DRIVERS)[number][]>> = {
  ivor: ['pg', 'ioredis'],
  events: ['pg', 'ioredis', '@aws-sdk/client-s3'],
  newsroom: ['pg', 'ioredis', '@aws-sdk/client-s3'],
  frontend: [],
  auth: ['pg', 'ioredis'],
  'alert-receiver': [],
};

const stubsBundle = () => {
  const spec = catalogImage('stubs');
  const input = spec.recipe.kind === 'dockerfile' ? spec.recipe.inputs.find((candidate) => candidate.kind === 'project-bundle') : undefined;
  if (!input || input.kind !== 'project-bundle') throw new Error('the stubs image has no project-bundle input');
  return input;
};

let outdir: string;
let metafile: Metafile;
/** The inputs (paths from the repository root) of the bundle called `name`. */
const inputsOf = (name: string): string[] => {
  const output = Object.entries(metafile.outputs).find(([path]) => basename(path) === name);
  if (!output) throw new Error(`no bundle ${name} (outputs: ${Object.keys(metafile.outputs).join(', ')})`);
  return Object.keys(output[1].inputs);
};
const packagesOf = (name: string): string[] =>
  [...new Set(inputsOf(name).flatMap((path) => /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? []))].sort();

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'parity-stub-bundles-'));
  ({ metafile } = await bundleProject(stubsBundle().entries, outdir));
}, 60_000);
afterAll(async () => {
  await rm(outdir, { recursive: true, force: true });
});

describe('stub bundles', () => {
  it('are the launcher and one bundle per service, each named after it', () => {
    expect(Object.keys(metafile.outputs).filter((path) => path.endsWith('.mjs')).map((path) => basename(path)).sort()).toEqual(
      ['launch.mjs', ...STUB_SERVICES.map((service) => `${service}.mjs`)].sort(),
    );
  });

  it.each(STUB_SERVICES)("%s's bundle holds none of the other services' modules", (service) => {
    const services = inputsOf(`${service}.mjs`).filter((path) => /^stubs\/src\/services\/[^/]+\.ts$/.test(path) && STUB_SERVICES.includes(basename(path, '.ts') as StubService));
    expect(services).toEqual([`stubs/src/services/${service}.ts`]);
  });

  it.each(STUB_SERVICES)("%s's bundle holds only the drivers it connects with (the AWS SDK only where S3 is used)", (service) => {
    expect(packagesOf(`${service}.mjs`).filter((name) => (DRIVERS as readonly string[]).includes(name))).toEqual([...EXPECTED_DRIVERS[service]].sort());
  });

  it('the launcher holds no service and no package: it only picks the bundle', () => {
    expect(inputsOf('launch.mjs').filter((path) => path.includes('node_modules/') || path.startsWith('stubs/src/services/'))).toEqual([]);
  });
});

describe('the launcher (SERVICE picks the bundle)', () => {
  const launch = (env: Record<string, string>, script = 'launch.mjs') =>
    spawnSync(process.execPath, [join(outdir, script)], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 20_000 });

  it('exits 2 listing every problem when SERVICE is unknown, as every bundle does', () => {
    const result = launch({ SERVICE: 'payments', PORT: '0' });
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe(
      [
        'invalid stub settings (environment):',
        '  - SERVICE: Invalid option: expected one of "ivor"|"events"|"newsroom"|"frontend"|"auth"|"alert-receiver" (got "payments")',
        '  - PORT: Too small: expected number to be >=1 (got "0")',
      ].join('\n'),
    );
  });

  it("exits 2 naming the service's missing settings", () => {
    const result = launch({ SERVICE: 'ivor' });
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe(
      [
        'invalid stub settings (environment):',
        '  - DATABASE_HOST: required by ivor',
        '  - DATABASE_PASSWORD: required by ivor (or DATABASE_PASSWORD_FILE)',
        '  - JWT_PUBLIC_KEYS: required by ivor (or JWT_PUBLIC_KEYS_FILE)',
        '  - REDIS_URL: required by ivor',
      ].join('\n'),
    );
  });

  it("a service's bundle run by hand refuses another SERVICE (exit 2)", () => {
    const result = launch({ SERVICE: 'alert-receiver' }, 'frontend.mjs');
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe('invalid stub settings (environment):\n  - SERVICE: this bundle runs frontend (got "alert-receiver")');
  });
});
