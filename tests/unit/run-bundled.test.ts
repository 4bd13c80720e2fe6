import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliSync } from '../cli.js';

const root = join(import.meta.dirname, '..', '..');
const launcher = join(root, 'scripts', 'run-bundled.mjs');
const work = mkdtempSync(join(tmpdir(), 'parity-bundled-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `node scripts/run-bundled.mjs ...` with its bundles in `cache` (never the real cache). */
function runBundled(cache: string, args: string[]) {
  return spawnSync('node', ['--no-opt', launcher, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, PARITY_BUNDLE_CACHE: cache } });
}

/** compose/ as paths, modes and contents: what "untouched" means. */
function treeHash(dir: string): string {
  const hash = createHash('sha256');
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())) {
    const path = join(entry.parentPath, entry.name);
    hash.update(`${relative(dir, path)}\0${statSync(path).mode}\0${statSync(path).mtimeMs}\0`).update(readFileSync(path));
  }
  return hash.digest('hex');
}

describe('run-bundled: the cached bundle follows its sources', () => {
  const source = join(work, 'source');
  const cache = join(work, 'cache');
  const entry = join(source, 'entry.ts');
  const word = join(source, 'word.ts');
  const bundleFile = () => join(cache, readdirSync(cache).find((name) => name.endsWith('.mjs'))!);

  it('GIVEN an entry point WHEN it runs THEN it sees its arguments and its own import.meta.url, as under tsx', () => {
    rmSync(source, { recursive: true, force: true });
    mkdirSync(source, { recursive: true });
    writeFileSync(word, "export const word: string = 'one';\n");
    writeFileSync(entry, "import { word } from './word.js';\nprocess.stdout.write(`${word} ${process.argv.slice(2).join(',')} ${process.argv[1]} ${import.meta.url}`);\n");
    const result = runBundled(cache, [entry, 'a', '--b']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`one a,--b ${entry} ${pathToFileURL(entry).href}`);
  });

  it('GIVEN nothing changed THEN the bundle is reused; GIVEN an import changed with the same size and mtime THEN it is bundled again', () => {
    const built = statSync(bundleFile()).mtimeMs;
    expect(runBundled(cache, [entry]).stdout).toMatch(/^one /);
    expect(statSync(bundleFile()).mtimeMs).toBe(built);
    // An edit that mtime-based staleness would miss: same length, mtime put back.
    const { atime, mtime } = statSync(word);
    writeFileSync(word, "export const word: string = 'two';\n");
    utimesSync(word, atime, mtime);
    expect(runBundled(cache, [entry]).stdout).toMatch(/^two /);
  });

  it('GIVEN a source that does not compile THEN exit 1 naming the file and line, and the old bundle is not run', () => {
    writeFileSync(word, "export const word: string = ;\n");
    const result = runBundled(cache, [entry]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/✖ BundleError: esbuild could not bundle .*entry\.ts \(\d+ms\):\n {2}.*word\.ts:1:29 Unexpected ";"\n/);
  });
});

describe('make gen from the bundle (what the Makefile runs) against the tsx path', () => {
  const cache = join(work, 'gen-cache');

  it('GIVEN parity.yaml THEN a fresh bundle finds compose/ in sync, as the tsx path renders it (the drift test)', () => {
    const result = runBundled(cache, ['scripts/gen.ts', '--check']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^\[gen\] compose\/ matches the model \(\d+ms\)\n$/);
  });

  it('GIVEN a broken config THEN the same exit code and message as the tsx path, and compose/ untouched', () => {
    const bad = join(work, 'parity.yaml');
    writeFileSync(bad, 'profile: maximal\nports:\n  http: 8443\n  https: 8443\n  redsi: 1\n');
    const before = treeHash(join(root, 'compose'));
    const fast = runBundled(cache, ['scripts/gen.ts', '--config', bad]);
    const tsx = runCliSync('gen.ts', ['--config', bad]);
    expect(fast.status).toBe(2);
    expect(fast.stderr).toContain('3 problems; nothing was written');
    expect({ status: fast.status, stderr: fast.stderr }).toEqual({ status: tsx.status, stderr: tsx.stderr });
    expect(treeHash(join(root, 'compose'))).toBe(before);
  });
});
