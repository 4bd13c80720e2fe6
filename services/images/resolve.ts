/**
 * Catalog resolution: which images a request needs, in which order, and where
 * each one comes from (already local, pulled, or built here).
 *
 * The decision is pure; the docker calls are injected through `ImageProbe` so
 * the policy can be tested without an engine.
 */
import { CatalogError, UnknownImageError } from '../errors.js';
import type { ImageSpec } from './catalog.js';

/**
 * The images named (all when `names` is empty) plus every base they build
 * from, bases first. Unknown names are all reported together.
 */
export function selectImages(catalog: readonly ImageSpec[], names: readonly string[]): ImageSpec[] {
  const byName = new Map(catalog.map((spec) => [spec.name, spec]));
  const unknown = names.filter((name) => !byName.has(name));
  if (unknown.length > 0) throw new UnknownImageError(unknown, [...byName.keys()]);

  const wanted = names.length === 0 ? catalog.map((spec) => spec.name) : names;
  const ordered: ImageSpec[] = [];
  const seen = new Set<string>();
  const visit = (name: string, chain: readonly string[]): void => {
    if (seen.has(name)) return;
    if (chain.includes(name)) throw new CatalogError(`image catalog: cycle ${[...chain, name].join(' -> ')}`);
    const spec = byName.get(name);
    if (!spec) throw new CatalogError(`image catalog: ${chain.at(-1)} builds from unknown image "${name}"`);
    for (const base of spec.from) visit(base, [...chain, name]);
    seen.add(name);
    ordered.push(spec);
  };
  for (const name of wanted) visit(name, []);
  return ordered;
}

/** What the resolver may ask of the engine. */
export interface ImageProbe {
  /** True when an image with this reference exists locally. */
  hasImage(ref: string): Promise<boolean>;
  /** Try to pull; resolve false (not throw) when the registry can't be reached or refuses. */
  pull(ref: string): Promise<boolean>;
}

export interface ResolvePolicy {
  /** Skip the pull attempt (air-gapped hosts, or `--offline`). @default false */
  readonly offline?: boolean;
  /** Build even when the image exists locally. @default false */
  readonly rebuild?: boolean;
}

export type ImageSource = 'local' | 'pulled' | 'build';

/**
 * The catalog policy: use the local image if present; otherwise pull; if the
 * pull fails, build. `rebuild` forces a build, `offline` skips the pull.
 */
export async function resolveImageSource(
  spec: ImageSpec,
  probe: ImageProbe,
  policy: ResolvePolicy = {},
): Promise<ImageSource> {
  if (policy.rebuild) return 'build';
  if (await probe.hasImage(spec.ref)) return 'local';
  if (!policy.offline && (await probe.pull(spec.ref))) return 'pulled';
  return 'build';
}

/** One row of the committed lock file. */
export interface ImageLockEntry {
  readonly ref: string;
  readonly version: string;
  readonly digest: string | null;
  readonly source: string;
  readonly licence: string;
  readonly from: readonly string[];
}

/** The committed lock file's content: versions only (digests of local builds live in local state). */
export function renderImageLock(catalog: readonly ImageSpec[]): Record<string, ImageLockEntry> {
  const lock: Record<string, ImageLockEntry> = {};
  for (const spec of [...catalog].sort((a, b) => a.name.localeCompare(b.name))) {
    lock[spec.name] = {
      ref: spec.ref,
      version: spec.version,
      digest: spec.digest ?? null,
      source: spec.source,
      licence: spec.licence,
      from: spec.from,
    };
  }
  return lock;
}
