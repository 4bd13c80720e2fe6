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
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const REPO_ROOT = resolve(dirname(SELF), '..');

/** Files that shape every bundle without being one of its inputs. */
const BUILD_INPUTS = [SELF, join(REPO_ROOT, 'tsconfig.json'), join(REPO_ROOT, 'package.json'), join(REPO_ROOT, 'node_modules', 'esbuild', 'package.json')];

const LOADERS = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.json': 'json' };

/** The bundle's first line: what it was built from. One file, renamed into place, so never out of step. */
const HEADER = '// parity-bundle ';

/** Where bundles live: PARITY_BUNDLE_CACHE, else node_modules/.cache/parity (gone with `npm ci`). */
function bundleCacheDir() {
  return resolve(process.env.PARITY_BUNDLE_CACHE ?? join(REPO_ROOT, 'node_modules', '.cache', 'parity'));
}

/** One hash over paths and contents, in the order given. */
function hashContents(files) {
  const hash = createHash('sha256');
  for (const [path, content] of files) hash.update(`${path}\0${content.length}\0`).update(content);
  return hash.digest('hex');
}

/** The files as they are now; undefined when one can't be read (then: rebuild). */
function readInputs(paths) {
  try {
    return paths.map((path) => [path, readFileSync(path)]);
  } catch {
    return undefined;
  }
}

/** The header of an existing bundle, undefined when there is none or it can't be read. */
function readHeader(file) {
  let fd;
  try {
    fd = openSync(file, 'r');
    const chunks = [];
    const chunk = Buffer.alloc(64 * 1024);
    let end = -1;
    for (let read; end === -1 && (read = readSync(fd, chunk)) > 0; ) {
      end = chunk.subarray(0, read).indexOf(0x0a);
      chunks.push(Buffer.from(chunk.subarray(0, end === -1 ? read : end)));
    }
    const line = Buffer.concat(chunks).toString('utf8');
    return line.startsWith(HEADER) ? JSON.parse(line.slice(HEADER.length)) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Loads every file itself, so what is recorded is exactly what was bundled (an edit during the
 * build shows up as a changed hash next time), and gives each module its own `import.meta.url`:
 * code that finds the repository from its own location (state.ts's repoRoot) must see its
 * source path, not the bundle's.
 */
function recordingLoader(loaded) {
  return {
    name: 'parity-record-inputs',
    setup(build) {
      build.onLoad({ filter: /.*/, namespace: 'file' }, ({ path }) => {
        const loader = LOADERS[extname(path)];
        if (!loader) return undefined;
        const content = readFileSync(path);
        loaded.set(path, content);
        let contents = content.toString('utf8');
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

/** Bundle `entry` into `file`, headed by the inputs it was built from and their hash. */
async function buildBundle(entry, file) {
  const { build } = await import('esbuild');
  const buildInputs = readInputs(BUILD_INPUTS) ?? [];
  const loaded = new Map();
  const result = await build({
    entryPoints: [entry],
    outfile: file,
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [recordingLoader(loaded)],
    // CommonJS dependencies (yaml, ajv's runtime) bundled into ESM still call require() for Node's built-ins.
    banner: { js: "import { createRequire as parityCreateRequire } from 'node:module'; const require = parityCreateRequire(import.meta.url);" },
  });
  const inputs = [...buildInputs, ...[...loaded].sort(([a], [b]) => (a < b ? -1 : 1))];
  const header = { entry, hash: hashContents(inputs), inputs: inputs.map(([path]) => path) };
  const temp = `${file}.${process.pid}.tmp`;
  // The entry's hashbang (kept by esbuild) may only be a file's first line: the header takes it.
  const code = result.outputFiles[0].text.replace(/^#!.*\n/, '');
  writeFileSync(temp, `${HEADER}${JSON.stringify(header)}\n${code}`);
  renameSync(temp, file);
}

/**
 * The bundle of `entry`, built again unless every file it was built from still hashes as it did.
 * @returns {Promise<{ file: string, rebuilt: boolean }>}
 */
async function ensureBundle(entry, cacheDir = bundleCacheDir()) {
  const source = resolve(entry);
  const file = join(cacheDir, `${basename(source, extname(source))}-${createHash('sha256').update(source).digest('hex').slice(0, 12)}.mjs`);
  const header = readHeader(file);
  const current = header && readInputs(header.inputs);
  if (current && hashContents(current) === header.hash) return { file, rebuilt: false };
  mkdirSync(cacheDir, { recursive: true });
  await buildBundle(source, file);
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

await main();
