/**
 * The image bake: for each catalog image, use it if present, else pull it, else build the
 * same version here (debootstrap + import for the Debian base, `docker build` for the rest),
 * label what was built locally and record digests in local state.
 */
import { join } from 'node:path';
import { IMAGE_CATALOG, type ImageSpec } from '../../../services/images/catalog.js';
import { resolveImageSource, selectImages, type ImageProbe, type ImageSource } from '../../../services/images/resolve.js';
import { formatDuration } from '../../../services/errors.js';
import { run, tryRun } from '../core/exec.js';
import type { Progress } from '../core/progress.js';
import { readJson, repoRoot, statePath, writeFileAtomic } from '../core/state.js';
import { buildDockerfileImage, buildRootfsImage, hashSources, LABEL_BUILT_LOCALLY, LABEL_SOURCE_HASH } from './image-build.js';

export { hashSources, LABEL_BUILT_LOCALLY, LABEL_CATALOG_NAME, LABEL_SOURCE_HASH } from './image-build.js';

async function imageLabel(ref: string, label: string): Promise<string | undefined> {
  const result = await tryRun(['docker', 'image', 'inspect', '--format', `{{ index .Config.Labels "${label}" }}`, ref]);
  return result.code === 0 ? result.stdout.trim() || undefined : undefined;
}

export interface BakeOptions {
  /** Catalog names; empty means all. Their bases are included. */
  names?: readonly string[];
  /** Don't try to pull. */
  offline?: boolean;
  /** Rebuild the named images (all when none are named) even if present. */
  rebuild?: boolean;
  progress: Progress;
  /** For tests: another catalog and the folder holding its Dockerfile dirs. */
  catalog?: readonly ImageSpec[];
  dockerfileRoot?: string;
}

export interface BakeResult {
  name: string;
  ref: string;
  source: ImageSource;
  /** Time spent on this image (pull or build; ~0 when local). */
  elapsedMs: number;
  imageId: string;
  sizeBytes: number;
  builtLocally: boolean;
  /** Package versions the build reported (`parity-version:` lines). */
  packages: string[];
  warnings: string[];
}

export interface ImageState {
  ref: string;
  imageId: string;
  source: ImageSource;
  builtLocally: boolean;
  sizeBytes: number;
  buildSeconds?: number;
  packages?: string[];
  recordedAt: string;
}

const DEFAULT_DOCKERFILE_ROOT = join(repoRoot, 'services', 'images');
const PULL_TIMEOUT_MS = 120_000;

/**
 * A pull error that means no registry can be reached (DNS, connection, TLS, timeout), as
 * opposed to one image being absent upstream: only then is pulling given up for the run.
 */
export function isRegistryUnreachable(message: string): boolean {
  return /no such host|dial tcp|connection refused|i\/o timeout|network is unreachable|TLS handshake|x509|Client\.Timeout|server misbehaving|timed out/i.test(message) || message === '';
}

/** Whether the engine has an image (a deploy refuses one it doesn't, before anything changes). */
/** The engine's ID of an image (`sha256:…`), or undefined when it has none by that reference. */
export async function imageIdInEngine(ref: string): Promise<string | undefined> {
  const result = await tryRun(['docker', 'image', 'inspect', '-f', '{{.Id}}', ref]);
  return result.code === 0 ? result.stdout.trim() : undefined;
}

export async function imageInEngine(ref: string): Promise<boolean> {
  return (await tryRun(['docker', 'image', 'inspect', '--format', '{{.Id}}', ref])).code === 0;
}

/** docker-backed probe; after one failed pull it stops trying (the registry is unreachable). */
export function createDockerProbe(progress: Progress, pullTimeoutMs = PULL_TIMEOUT_MS): ImageProbe & { registryUnreachable: boolean } {
  const probe = {
    registryUnreachable: false,
    hasImage: imageInEngine,
    async pull(ref: string): Promise<boolean> {
      if (probe.registryUnreachable) return false;
      progress.step(`${ref}: pulling`);
      const result = await tryRun(['docker', 'pull', '--quiet', ref], { timeoutMs: pullTimeoutMs });
      progress.done();
      if (result.code === 0) return true;
      const reason = result.stderr.trim().split('\n').at(-1) ?? '';
      // Neutral wording: the bake builds next, `make up` reports upstream-only images as missing.
      if (isRegistryUnreachable(reason)) {
        probe.registryUnreachable = true;
        progress.info(`pull of ${ref} failed (${reason}); no registry reachable, so no more pulls this run (offline mode)`);
      } else {
        progress.info(`pull of ${ref} failed (${reason})`);
      }
      return false;
    },
  };
  return probe;
}

/** Resolve, and build where needed, every selected image; bases first. */
export async function bakeImages(options: BakeOptions): Promise<BakeResult[]> {
  const catalog = options.catalog ?? IMAGE_CATALOG;
  const specs = selectImages(catalog, options.names ?? []);
  const rebuildNames = new Set(options.rebuild ? (options.names?.length ? options.names : catalog.map((s) => s.name)) : []);
  const refs = new Map(catalog.map((spec) => [spec.name, spec.ref]));
  const probe = createDockerProbe(options.progress);
  const state = await readJson<Record<string, ImageState>>(statePath('images.json'), {});
  const results: BakeResult[] = [];

  for (const [index, spec] of specs.entries()) {
    const started = Date.now();
    const counter = `[${index + 1}/${specs.length}]`;
    // The project's own images have no upstream to pull, and are rebuilt when their sources change.
    const sourceHash = spec.project ? await hashSources(spec.project.sources) : undefined;
    let stale = false;
    if (sourceHash && !rebuildNames.has(spec.name) && (await probe.hasImage(spec.ref))) {
      const built = await imageLabel(spec.ref, LABEL_SOURCE_HASH);
      stale = built !== sourceHash;
      if (stale) options.progress.info(`${counter} ${spec.ref}: sources changed since it was built (${built ?? 'unknown'} → ${sourceHash}), rebuilding`);
    }
    const source = await resolveImageSource(spec, probe, {
      offline: options.offline || Boolean(spec.project),
      rebuild: rebuildNames.has(spec.name) || stale,
    });
    let packages: string[] = [];
    let warnings: string[] = [];
    if (source === 'build') {
      options.progress.info(`${counter} ${spec.ref}: building from ${spec.source}`);
      ({ packages, warnings } =
        spec.recipe.kind === 'rootfs'
          ? await buildRootfsImage(spec, spec.recipe.suite, options.progress)
          : await buildDockerfileImage(spec, refs, options.dockerfileRoot ?? DEFAULT_DOCKERFILE_ROOT, options.progress, sourceHash));
    }
    const elapsedMs = Date.now() - started;
    const facts = await inspectImage(spec.ref);
    const result: BakeResult = { name: spec.name, ref: spec.ref, source, elapsedMs, ...facts, packages, warnings };
    results.push(result);
    if (source !== 'local' || !state[spec.name] || state[spec.name]?.imageId !== facts.imageId) {
      state[spec.name] = {
        ref: spec.ref,
        imageId: facts.imageId,
        source,
        builtLocally: facts.builtLocally,
        sizeBytes: facts.sizeBytes,
        ...(source === 'build' ? { buildSeconds: Math.round(elapsedMs / 100) / 10, packages } : {}),
        recordedAt: new Date().toISOString(),
      };
      await writeFileAtomic(statePath('images.json'), `${JSON.stringify(state, null, 2)}\n`);
    }
    const verb = { local: 'present', pulled: 'pulled', build: 'built' }[source];
    options.progress.info(`${counter} ${spec.ref}: ${verb}${source === 'local' ? '' : ` in ${formatDuration(elapsedMs)}`}`);
    for (const warning of warnings) options.progress.info(`  warning: ${warning}`);
  }
  return results;
}

async function inspectImage(ref: string): Promise<{ imageId: string; sizeBytes: number; builtLocally: boolean }> {
  const out = await run(['docker', 'image', 'inspect', '--format', '{{json .}}', ref]);
  const info = JSON.parse(out) as { Id: string; Size: number; Config?: { Labels?: Record<string, string> | null } };
  return {
    imageId: info.Id,
    sizeBytes: info.Size,
    builtLocally: info.Config?.Labels?.[LABEL_BUILT_LOCALLY] === 'true',
  };
}

