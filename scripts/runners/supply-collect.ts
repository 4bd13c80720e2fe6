/**
 * The facts the supply-chain check judges, read from this machine only (no registry): the
 * npm tree, npm audit's answer, and what the local catalog images hold (labels, Debian
 * packages, the Go modules in their binaries, the stubs' bundled packages).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageSpec } from '../../services/images/catalog.js';
import { readAuditOutput, type AuditAnswer, type LockPackages } from '../../services/supply/audit.js';
import type { LicenceItem } from '../../services/supply/licence-check.js';
import { builtBinaries, classifyLicenceText, deniedInCopyright, escapeModulePath, npmLicence, packageOfSource, parseDpkgStatus, parseGoVersionM, type LicenceLists } from '../../services/supply/licences.js';
import type { LocalImage } from '../../services/supply/labels.js';
import type { Finding } from '../../services/supply/report.js';
import { hasCommand, run, tryRun } from './exec.js';
import { repoRoot } from './state.js';

const AUDIT_TIMEOUT_MS = 20_000;

/** `npm audit --json` in the repository; never throws (no answer is an answer the policy judges). */
export async function runNpmAudit(): Promise<AuditAnswer> {
  const result = await tryRun(['npm', 'audit', '--json'], { cwd: repoRoot, timeoutMs: AUDIT_TIMEOUT_MS });
  if (result.code === null) return { kind: 'unreachable', reason: `npm audit gave no answer within ${AUDIT_TIMEOUT_MS / 1000} s` };
  return readAuditOutput(result.stdout);
}

type LockFile = { packages?: Record<string, { dev?: boolean; link?: boolean }> };

/** The lock file's installed paths, which say which packages are dev-only. */
export async function readLockPackages(): Promise<LockPackages> {
  return (JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as LockFile).packages ?? {};
}

async function readManifest(dir: string): Promise<{ name?: string; version?: string; license?: unknown; licenses?: unknown } | undefined> {
  try {
    return JSON.parse(await readFile(join(repoRoot, dir, 'package.json'), 'utf8')) as { name?: string };
  } catch {
    return undefined;
  }
}

const npmItem = (manifest: { name?: string; version?: string; license?: unknown; licenses?: unknown }, fallbackName: string, images: readonly string[], scope: 'npm' | 'bundle'): LicenceItem => {
  const licence = npmLicence(manifest);
  return { scope, name: manifest.name ?? fallbackName, version: manifest.version ?? '?', images, ...(licence ? { licence } : { unavailable: 'no license field in its package.json' }) };
};

/** Every installed package of the lock file (node_modules/**\/package.json); optional ones for other platforms aren't installed. */
export async function readNpmTree(lock: LockPackages): Promise<LicenceItem[]> {
  const items: LicenceItem[] = [];
  for (const path of Object.keys(lock)) {
    if (!path.startsWith('node_modules/') || (lock[path] as { link?: boolean }).link) continue;
    const manifest = await readManifest(path);
    if (manifest) items.push(npmItem(manifest, path.slice(path.lastIndexOf('node_modules/') + 13), [], 'npm'));
  }
  return items;
}

/**
 * The npm packages inside the stubs image's bundles, from the source maps shipped beside them
 * (esbuild lists every input file), with their licences from the host tree the image was built
 * from (the label check proves it is the same one: the lock file is in the source hash).
 */
async function readBundledPackages(spec: ImageSpec, appDir: string): Promise<LicenceItem[]> {
  const dirs = new Map<string, string>();
  for (const file of (await readdir(appDir)).filter((name) => name.endsWith('.map'))) {
    const { sources } = JSON.parse(await readFile(join(appDir, file), 'utf8')) as { sources: string[] };
    for (const source of sources) {
      const found = packageOfSource(source);
      if (found) dirs.set(found.dir, found.name);
    }
  }
  const items: LicenceItem[] = [];
  for (const [dir, name] of [...dirs].sort()) {
    const manifest = await readManifest(dir);
    items.push(manifest ? npmItem(manifest, name, [spec.name], 'bundle') : { scope: 'bundle', name, version: '?', images: [spec.name], unavailable: `${dir} is not in this checkout's node_modules` });
  }
  return items;
}

/** The labels of each catalog image present locally. */
export async function inspectCatalogImages(catalog: readonly ImageSpec[]): Promise<LocalImage[]> {
  return Promise.all(
    catalog.map(async (spec): Promise<LocalImage> => {
      const result = await tryRun(['docker', 'image', 'inspect', '--format', '{{json .Config.Labels}}', spec.ref]);
      return result.code === 0 ? { name: spec.name, ref: spec.ref, labels: (JSON.parse(result.stdout) as Record<string, string> | null) ?? {} } : { name: spec.name, ref: spec.ref };
    }),
  );
}

/**
 * Debian packages judged from this host's copyright files (the images exclude /usr/share/doc;
 * host and images are both Debian bookworm). A package this host lacks is unreadable offline.
 */
async function readDebianLicences(packages: Map<string, { version: string; images: string[] }>, lists: LicenceLists): Promise<LicenceItem[]> {
  const items: LicenceItem[] = [];
  for (const [name, { version, images }] of [...packages].sort(([a], [b]) => a.localeCompare(b))) {
    const bare = name.split(':')[0]!;
    const text = await readFile(`/usr/share/doc/${bare}/copyright`, 'utf8').catch(() => undefined);
    items.push(
      text === undefined
        ? { scope: 'debian', name: bare, version, images, unavailable: 'copyright excluded from the image and the package is not installed on this host' }
        : { scope: 'debian', name: bare, version, images, deniedFound: deniedInCopyright(text, lists) },
    );
  }
  return items;
}

const LICENCE_FILE = /^(licen[cs]e|copying|unlicense)/i;

/** Licence of a Go module from the module cache's copy (every licence file, read as `A AND B`). */
async function goModuleLicence(cache: string, path: string, version: string): Promise<{ licence: string } | { unavailable: string }> {
  const dir = join(cache, `${escapeModulePath(path)}@${version}`);
  if (!existsSync(dir)) return { unavailable: `${path}@${version} is not in the Go module cache (${cache})` };
  const files = (await readdir(dir)).filter((file) => LICENCE_FILE.test(file)).sort();
  if (files.length === 0) return { unavailable: 'the module has no licence file' };
  const ids = await Promise.all(files.map(async (file) => classifyLicenceText(await readFile(join(dir, file), 'utf8')) ?? `LicenseRef-unrecognised-${file}`));
  const unique = [...new Set(ids)];
  return { licence: unique.length === 1 ? unique[0]! : unique.join(' AND ') };
}

/** What was copied out of one image: its dpkg status, the binaries it compiled, the stubs' bundles. */
interface ImageContents {
  readonly spec: ImageSpec;
  readonly dpkg: Map<string, string>;
  /** Local copies of the binaries its Dockerfile copies from its build stage. */
  readonly binaries: readonly string[];
  /** Local copy of a project bundle's folder. */
  readonly appDir?: string;
}

const goSource = (spec: ImageSpec) => (spec.recipe.kind === 'dockerfile' ? spec.recipe.inputs.find((input) => input.kind === 'go-module') : undefined);
const bundleInput = (spec: ImageSpec) => (spec.recipe.kind === 'dockerfile' ? spec.recipe.inputs.find((input) => input.kind === 'project-bundle') : undefined);

/**
 * Copy what the licence check reads out of one image, from a container that is created and
 * never started (cheaper than `docker run` on a loaded machine, and nothing in it runs).
 */
async function copyOut(spec: ImageSpec, scratch: string, dockerfileRoot: string): Promise<ImageContents> {
  const container = await run(['docker', 'create', '--network', 'none', '--entrypoint', '/bin/true', spec.ref]);
  try {
    const status = join(scratch, `${spec.name}-dpkg-status`);
    const copied = await tryRun(['docker', 'cp', `${container}:/var/lib/dpkg/status`, status]);
    const dpkg = copied.code === 0 ? parseDpkgStatus(await readFile(status, 'utf8')) : new Map<string, string>();
    const binaries: string[] = [];
    if (goSource(spec) && spec.recipe.kind === 'dockerfile') {
      const dockerfile = await readFile(join(dockerfileRoot, spec.recipe.dir, 'Dockerfile'), 'utf8');
      for (const [index, binary] of builtBinaries(dockerfile).entries()) {
        const local = join(scratch, `${spec.name}-bin-${index}`);
        await run(['docker', 'cp', `${container}:${binary}`, local]);
        binaries.push(local);
      }
    }
    const bundle = bundleInput(spec);
    let appDir: string | undefined;
    if (bundle) {
      appDir = join(scratch, `${spec.name}-app`);
      await run(['docker', 'cp', `${container}:/${bundle.into}`, appDir]);
    }
    return { spec, dpkg, binaries, ...(appDir ? { appDir } : {}) };
  } finally {
    await tryRun(['docker', 'rm', container]);
  }
}

/** The Go modules in one image's binaries (`go version -m`), licences from the module cache. */
async function readGoModules(contents: ImageContents, cache: string, byModule: Map<string, LicenceItem>): Promise<void> {
  const source = goSource(contents.spec);
  for (const binary of contents.binaries) {
    for (const module of parseGoVersionM(await run(['go', 'version', '-m', binary]))) {
      // A main module built from a source tree says (devel): the catalog pins what was built.
      const version = module.main && source?.kind === 'go-module' && module.version === '(devel)' ? source.version : module.version;
      const key = `${module.path}@${version}`;
      const known = byModule.get(key);
      if (known) {
        if (!known.images.includes(contents.spec.name)) byModule.set(key, { ...known, images: [...known.images, contents.spec.name] });
        continue;
      }
      byModule.set(key, { scope: 'go', name: module.path, version, images: [contents.spec.name], ...(await goModuleLicence(cache, module.path, version)) });
    }
  }
}

/**
 * Everything built into the local catalog images: their Debian packages (judged from this
 * host's copyright files), the Go modules compiled into the images built from Go sources
 * (licences from the module cache the bake vendored them from) and the stubs' bundled npm
 * packages. Without Go on PATH, a note says which images' modules were skipped.
 */
export async function readImageLicences(images: readonly ImageSpec[], dockerfileRoot: string, lists: LicenceLists): Promise<{ items: LicenceItem[]; notes: Finding[] }> {
  const scratch = await mkdtemp(join(tmpdir(), 'parity-supply-'));
  try {
    const contents = await mapLimited(images, 2, (spec) => copyOut(spec, scratch, dockerfileRoot));
    const items: LicenceItem[] = [];
    const notes: Finding[] = [];
    for (const image of contents) if (image.appDir) items.push(...(await readBundledPackages(image.spec, image.appDir)));
    const withGo = contents.filter((image) => image.binaries.length > 0);
    if (withGo.length > 0 && !(await hasCommand('go'))) {
      notes.push({ outcome: 'warn', subject: 'Go modules', message: `no go on PATH: the modules inside ${withGo.map((image) => image.spec.name).join(', ')} were not read (install Go, which the bake needs anyway)` });
    } else if (withGo.length > 0) {
      const cache = await run(['go', 'env', 'GOMODCACHE']);
      const byModule = new Map<string, LicenceItem>();
      for (const image of withGo) await readGoModules(image, cache, byModule);
      items.push(...byModule.values());
    }
    const packages = new Map<string, { version: string; images: string[] }>();
    for (const { spec, dpkg } of contents) {
      for (const [name, version] of dpkg) {
        const entry = packages.get(name) ?? { version, images: [] };
        entry.images.push(spec.name);
        packages.set(name, entry);
      }
    }
    items.push(...(await readDebianLicences(packages, lists)));
    return { items, notes };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** `work` over `items`, at most `limit` at a time (2 cores, shared), results in order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
