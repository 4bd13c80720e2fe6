/**
 * The facts the supply-chain check judges, read from this machine only (no registry): the
 * npm tree, npm audit's answer, and what the local catalog images hold (labels, Debian
 * packages, the Go modules in their binaries, the stubs' bundled packages).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageSpec } from '../../../services/images/catalog.js';
import { readAuditOutput, type AuditAnswer, type LockPackages } from '../../../services/supply/audit.js';
import type { LicenceItem } from '../../../services/supply/licence-check.js';
import {
  builtBinaries,
  classifyLicenceText,
  deniedInCopyright,
  escapeModulePath,
  npmLicence,
  packageOfSource,
  parseDpkgStatus,
  parseGoVersionM,
  type GoModule,
  type LicenceLists,
} from '../../../services/supply/licences.js';
import type { LocalImage } from '../../../services/supply/labels.js';
import type { Finding } from '../../../services/supply/report.js';
import { hasCommand, run, tryRun } from '../core/exec.js';
import type { ImageState } from '../engine/images.js';
import { readJson, repoRoot, statePath, writeFileAtomic } from '../core/state.js';

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
 * The npm packages inside the stubs image's bundles (from its source maps), with their licences
 * from the host tree the image was built from (the label check proves it is the same one: the
 * lock file is in the source hash).
 */
async function bundledPackageItems(image: string, packages: readonly BundledPackage[]): Promise<LicenceItem[]> {
  const items: LicenceItem[] = [];
  for (const { dir, name } of packages) {
    const manifest = await readManifest(dir);
    items.push(manifest ? npmItem(manifest, name, [image], 'bundle') : { scope: 'bundle', name, version: '?', images: [image], unavailable: `${dir} is not in this checkout's node_modules` });
  }
  return items;
}

/** The labels of each catalog image present locally, and how `make images` got it when it recorded that. */
export async function inspectCatalogImages(catalog: readonly ImageSpec[]): Promise<LocalImage[]> {
  const state = await readJson<Record<string, ImageState>>(statePath('images.json'), {});
  return Promise.all(
    catalog.map(async (spec): Promise<LocalImage> => {
      const result = await tryRun(['docker', 'image', 'inspect', '--format', '{{.Id}} {{json .Config.Labels}}', spec.ref]);
      if (result.code !== 0) return { name: spec.name, ref: spec.ref };
      const [id, ...json] = result.stdout.trim().split(' ');
      const labels = (JSON.parse(json.join(' ')) as Record<string, string> | null) ?? {};
      const record = state[spec.name];
      return { name: spec.name, ref: spec.ref, id, labels, ...(record && record.imageId === id ? { recorded: record.source } : {}) };
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

type BundledPackage = { readonly name: string; readonly dir: string };

/** What the licence check reads from one image; it depends on the image ID only, so it is cached by it. */
interface ImageFacts {
  /** Installed Debian packages: name, version. */
  readonly dpkg: readonly (readonly [string, string])[];
  /** The modules of the binaries its Dockerfile copies from its build stage (`go version -m`); null when not read (no go). */
  readonly goModules: readonly GoModule[] | null;
  /** The npm packages in a project bundle, from its source maps. */
  readonly bundled: readonly BundledPackage[];
  /** What could not be read (no dpkg status, a binary missing). */
  readonly missing: readonly string[];
}

/** Bump when what `readImageFacts` reads changes: older cache entries are read again. */
const FACTS_FORMAT = 1;
const FACTS_CACHE = (): string => statePath('supply-chain', 'image-facts.json');

const goSource = (spec: ImageSpec) => (spec.recipe.kind === 'dockerfile' ? spec.recipe.inputs.find((input) => input.kind === 'go-module') : undefined);
const bundleInput = (spec: ImageSpec) => (spec.recipe.kind === 'dockerfile' ? spec.recipe.inputs.find((input) => input.kind === 'project-bundle') : undefined);

/** The npm packages named by the source maps in a copied bundle folder. */
async function packagesOfMaps(appDir: string): Promise<BundledPackage[]> {
  const dirs = new Map<string, string>();
  for (const file of (await readdir(appDir)).filter((name) => name.endsWith('.map'))) {
    const { sources } = JSON.parse(await readFile(join(appDir, file), 'utf8')) as { sources: string[] };
    for (const source of sources) {
      const found = packageOfSource(source);
      if (found) dirs.set(found.dir, found.name);
    }
  }
  return [...dirs].sort().map(([dir, name]) => ({ dir, name }));
}

/**
 * Read one image from a container that is created and never started (cheaper than `docker run`
 * on a loaded machine, and nothing in it runs): its dpkg status, the Go modules of its built
 * binaries (needs `go` on PATH), its bundles' packages.
 */
async function readImageFacts(spec: ImageSpec, scratch: string, dockerfileRoot: string, hasGo: boolean): Promise<ImageFacts> {
  const container = await run(['docker', 'create', '--network', 'none', '--entrypoint', '/bin/true', spec.ref]);
  const local = join(scratch, spec.name);
  try {
    const missing: string[] = [];
    const copied = await tryRun(['docker', 'cp', `${container}:/var/lib/dpkg/status`, local]);
    if (copied.code !== 0) missing.push('/var/lib/dpkg/status (no Debian packages: an upstream image on another distribution?)');
    const dpkg = copied.code === 0 ? [...parseDpkgStatus(await readFile(local, 'utf8'))] : [];
    await rm(local, { recursive: true, force: true });
    const source = goSource(spec);
    const goModules: GoModule[] | null = source && !hasGo ? null : [];
    if (goModules && source?.kind === 'go-module' && spec.recipe.kind === 'dockerfile') {
      const dockerfile = await readFile(join(dockerfileRoot, spec.recipe.dir, 'Dockerfile'), 'utf8');
      for (const binary of builtBinaries(dockerfile)) {
        if ((await tryRun(['docker', 'cp', `${container}:${binary}`, local])).code !== 0) {
          missing.push(`${binary} (its Go modules were not read)`);
          continue;
        }
        // A main module built from a source tree says (devel): the catalog pins what was built.
        for (const module of parseGoVersionM(await run(['go', 'version', '-m', local]))) {
          goModules.push(module.main && module.version === '(devel)' ? { ...module, version: source.version } : module);
        }
        await rm(local, { force: true });
      }
    }
    const bundle = bundleInput(spec);
    let bundled: BundledPackage[] = [];
    if (bundle) {
      await run(['docker', 'cp', `${container}:/${bundle.into}`, local]);
      bundled = await packagesOfMaps(local);
      await rm(local, { recursive: true, force: true });
    }
    return { dpkg, goModules, bundled, missing };
  } finally {
    await tryRun(['docker', 'rm', '-v', container]);
  }
}

/**
 * Every image's facts: from the cache when its image ID was read before, else read now (two
 * at a time: 2 shared cores). The cache keeps only the images present now.
 */
async function collectImageFacts(images: readonly LocalImage[], catalog: readonly ImageSpec[], dockerfileRoot: string, hasGo: boolean): Promise<Map<string, ImageFacts>> {
  const cached = await readJson<{ format?: number; images?: Record<string, ImageFacts> }>(FACTS_CACHE(), {});
  const known = cached.format === FACTS_FORMAT ? (cached.images ?? {}) : {};
  const scratch = await mkdtemp(join(tmpdir(), 'parity-supply-'));
  try {
    const facts = await mapLimited(images, 2, async (image) => {
      const spec = catalog.find((candidate) => candidate.name === image.name)!;
      const hit = image.id ? known[image.id] : undefined;
      // Facts read without go are read again once go is there.
      const usable = hit && !(hit.goModules === null && hasGo);
      return [image.name, usable ? hit : await readImageFacts(spec, scratch, dockerfileRoot, hasGo)] as const;
    });
    const keep: Record<string, ImageFacts> = {};
    for (const [index, [, fact]] of facts.entries()) if (images[index]!.id) keep[images[index]!.id!] = fact;
    await writeFileAtomic(FACTS_CACHE(), `${JSON.stringify({ format: FACTS_FORMAT, images: keep })}\n`);
    return new Map(facts);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Everything built into the local catalog images: their Debian packages (judged from this
 * host's copyright files), the Go modules compiled into the images built from Go sources
 * (licences from the module cache the bake vendored them from) and the stubs' bundled npm
 * packages. Without Go on PATH the Go-built images' modules are skipped, with a note.
 */
export async function readImageLicences(
  images: readonly LocalImage[],
  catalog: readonly ImageSpec[],
  dockerfileRoot: string,
  lists: LicenceLists,
): Promise<{ items: LicenceItem[]; notes: Finding[] }> {
  const notes: Finding[] = [];
  const hasGo = await hasCommand('go');
  const withoutGo = hasGo ? [] : images.filter((image) => goSource(catalog.find((spec) => spec.name === image.name)!));
  if (withoutGo.length > 0) {
    notes.push({ outcome: 'warn', subject: 'Go modules', message: `no go on PATH: the modules inside ${withoutGo.map((image) => image.name).join(', ')} were not read (install Go, which the bake needs anyway)` });
  }
  const facts = await collectImageFacts(images, catalog, dockerfileRoot, hasGo);
  const items: LicenceItem[] = [];
  const byModule = new Map<string, LicenceItem>();
  const packages = new Map<string, { version: string; images: string[] }>();
  const cache = hasGo ? await run(['go', 'env', 'GOMODCACHE']) : '';
  for (const [name, fact] of facts) {
    if (fact.missing.length > 0) notes.push({ outcome: 'warn', subject: `image ${name}`, message: `not found in the image: ${fact.missing.join('; ')}` });
    items.push(...(await bundledPackageItems(name, fact.bundled)));
    for (const module of hasGo ? (fact.goModules ?? []) : []) {
      const key = `${module.path}@${module.version}`;
      const known = byModule.get(key);
      if (known) byModule.set(key, { ...known, images: [...new Set([...known.images, name])] });
      else byModule.set(key, { scope: 'go', name: module.path, version: module.version, images: [name], ...(await goModuleLicence(cache, module.path, module.version)) });
    }
    for (const [pkg, version] of fact.dpkg) {
      const entry = packages.get(pkg) ?? { version, images: [] };
      entry.images.push(name);
      packages.set(pkg, entry);
    }
  }
  items.push(...byModule.values(), ...(await readDebianLicences(packages, lists)));
  return { items, notes };
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
