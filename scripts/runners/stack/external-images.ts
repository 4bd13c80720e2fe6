/**
 * The images a stack needs from outside the catalog, before anything is started: upstream ones
 * (version overrides, Grafana, MinIO) pulled when they can be, a developer's own never pulled.
 */
import { APP_SERVICES } from '../../../services/config/schema.js';
import { ImageUnavailableError } from '../../../services/errors.js';
import { IMAGE_CATALOG } from '../../../services/images/catalog.js';
import type { Topology } from '../../../services/topology/index.js';
import { ownImage } from '../../../services/topology/own-services.js';
import { createDockerProbe } from '../engine/images.js';
import type { Progress } from '../core/progress.js';

/** Images the topology needs that the catalog can't build (version overrides, Grafana, MinIO). */
export function externalImages(topology: Topology): string[] {
  const catalogRefs = new Set(IMAGE_CATALOG.map((spec) => spec.ref));
  // A developer's images are never pulled: image mode's must be on the engine, build mode's are built.
  const own = new Set([...ownImages(topology).map(({ image }) => image), ...topology.services.filter((service) => service.build).map((service) => service.image)]);
  return [...new Set(topology.services.map((service) => service.image))].filter((ref) => !catalogRefs.has(ref) && !own.has(ref)).sort();
}

/** The developers' own images (`services.<name>.source: image`), with the key that names each. */
export function ownImages(topology: Topology): { readonly path: string; readonly image: string }[] {
  return APP_SERVICES.flatMap((app) => {
    const own = ownImage(topology.config, app);
    return own ? [{ path: `services.${app}.image`, image: own.image }] : [];
  });
}

/**
 * Make sure images outside the catalog are present (pulling upstream ones), or say what to do.
 * A developer's own image is never pulled (no registry is reached): it must be on the engine.
 */
export async function ensureExternalImages(topology: Topology, progress: Progress, configFile = 'parity.yaml'): Promise<void> {
  // Upstream-only images (Grafana, MinIO) can be large: allow them a longer pull.
  const probe = createDockerProbe(progress, 300_000);
  const absent: string[] = [];
  for (const { path, image } of ownImages(topology)) {
    if (!(await probe.hasImage(image))) absent.push(`${configFile}: ${path}: image ${image} is not on the engine; build or load it first (docker build -t ${image} <your service's folder>, or docker load -i <file>); Parity reaches no registry for your images`);
  }
  if (absent.length > 0) throw new ImageUnavailableError(absent.join('\n'));
  const missing: string[] = [];
  for (const ref of externalImages(topology)) {
    if (!(await probe.hasImage(ref)) && !(await probe.pull(ref))) missing.push(ref);
  }
  if (missing.length > 0) {
    throw new ImageUnavailableError(
      `these images are not present and could not be pulled: ${missing.join(', ')}.\n` +
        'Parity builds only the catalog\'s pinned versions offline (npx tsx scripts/images.ts --list); Grafana and MinIO ' +
        'are used as upstream images only. Load the image into the engine (docker load), or change parity.yaml ' +
        '(remove the version override, disable grafana, or use the seaweedfs S3 provider).',
    );
  }
}
