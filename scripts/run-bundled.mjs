#!/usr/bin/env node
/**
 * `node scripts/run-bundled.mjs scripts/gen.ts [args]`: run a TypeScript entry point from an
 * esbuild bundle cached in node_modules/.cache/parity/, so `make gen` pays for no TypeScript
 * loader (tsx costs ~0.5 s of a 0.3 s budget on this machine: a second node process and a
 * compile cache to consult).
 *
 * A stale bundle would be a silent bug, so freshness is by content, not mtimes: the bundle is
 * reused only while every file esbuild took in (its own loads, recorded by the plugin below),
 * tsconfig.json, package.json, the installed esbuild and this file hash as they did when it was
 * built. Checking that costs a few milliseconds; a rebuild ~0.1–0.3 s.
 *
 * Plain JavaScript on purpose: it runs before anything could compile TypeScript.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const REPO_ROOT = resolve(dirname(SELF), '..');

/** Files that shape every bundle without being one of its inputs. */
const BUILD_INPUTS = [SELF, join(REPO_ROOT, 'tsconfig.json'), join(REPO_ROOT, 'package.json'), join(REPO_ROOT, 'node_modules', 'esbuild', 'package.json')];

const LOADERS = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.json': 'json' };

/** Where bundles live: PARITY_BUNDLE_CACHE, else node_modules/.cache/parity (gone with `npm ci`). */
export function bundleCacheDir() {
  return resolve(process.env.PARITY_BUNDLE_CACHE ?? join(REPO_ROOT, 'node_modules', '.cache', 'parity'));
}

/** One hash over the files' paths and contents; undefined when one can't be read (then: rebuild). */
function hashFiles(paths) {
  const hash = createHash('sha256');
  for (const path of paths) {
    let content;
    try {
      content = readFileSync(path);
    } catch {
      return undefined;
    }
    hash.update(`${path}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

/**
 * Loads every file itself, so the inputs recorded are exactly what was bundled (an edit during
 * the build shows up as a changed hash next time), and gives each module its own
 * `import.meta.url`: code that finds the repository from its own location (state.ts's repoRoot)
 * must see its source path, not the bundle's.
 */
function recordingLoader(inputs) {
  return {
    name: 'parity-record-inputs',
    setup(build) {
      build.onLoad({ filter: /.*/, namespace: 'file' }, ({ path }) => {
        const loader = LOADERS[extname(path)];
        if (!loader) return undefined;
        inputs.push(path);
        let contents = readFileSync(path, 'utf8');
        if (!path.includes(`${sep}node_modules${sep}`) && contents.includes('import.meta.')) {
          contents = contents
            .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(path).href))
            .replaceAll('import.meta.dirname', JSON.stringify(dirname(path)))
            .replaceAll('import.meta.filename', JSON.stringify(path));
        }
        return { contents, loader };
      });
    },
  };
}

async function buildBundle(entry, outfile) {
  const { build } = await import('esbuild');
  const inputs = [];
  const temp = `${outfile}.${process.pid}.tmp`;
  await build({
    entryPoints: [entry],
    outfile: temp,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [recordingLoader(inputs)],
    // CommonJS dependencies (yaml, ajv's runtime) bundled into ESM still call require() for Node's built-ins.
    banner: { js: "import { createRequire as parityCreateRequire } from 'node:module'; const require = parityCreateRequire(import.meta.url);" },
  });
  renameSync(temp, outfile);
  return [...BUILD_INPUTS, ...[...new Set(inputs)].sort()];
}

/**
 * The bundle of `entry`, built again unless every input still hashes as it did.
 * @returns {{ file: string, rebuilt: boolean }}
 */
export async function ensureBundle(entry, cacheDir = bundleCacheDir()) {
  const source = resolve(entry);
  const name = `${basename(source, extname(source))}-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`;
  const file = join(cacheDir, `${name}.mjs`);
  const manifestPath = join(cacheDir, `${name}.inputs.json`);
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    manifest = undefined;
  }
  if (manifest && existsSync(file) && manifest.hash === hashFiles(manifest.inputs)) return { file, rebuilt: false };
  mkdirSync(cacheDir, { recursive: true });
  const inputs = await buildBundle(source, file);
  writeFileSync(manifestPath, `${JSON.stringify({ entry: source, hash: hashFiles(inputs), inputs }, null, 2)}\n`);
  return { file, rebuilt: true };
}

async function main() {
  const entry = process.argv[2];
  if (!entry) {
    process.stderr.write('usage: node scripts/run-bundled.mjs ENTRY.ts [args...]\n');
    process.exitCode = 2;
    return;
  }
  const started = Date.now();
  let bundle;
  try {
    bundle = await ensureBundle(entry);
  } catch (error) {
    // esbuild's paths are relative to the working directory, its columns 0-based.
    const problems = error?.errors?.map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1} ` : ''}${e.text}`).join('\n');
    process.stderr.write(`\n✖ BundleError: esbuild could not bundle ${entry} (${Date.now() - started}ms):\n${problems || `  ${error?.message ?? error}`}\n`);
    process.exitCode = 1;
    return;
  }
  // The entry point reads its arguments from argv[2]: make it look as if node ran it directly.
  process.argv.splice(1, 2, resolve(entry));
  await import(pathToFileURL(bundle.file).href);
}

if (process.argv[1] && resolve(process.argv[1]) === SELF) await main();
