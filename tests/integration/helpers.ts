import { IMAGE_CATALOG } from '../../services/images/catalog.js';

/** The catalog reference of an image, so tests run exactly what the bake produced. */
export function imageRef(name: string): string {
  const spec = IMAGE_CATALOG.find((candidate) => candidate.name === name);
  if (!spec) throw new Error(`no catalog image named ${name}`);
  return spec.ref;
}

/** Retry `probe` until it resolves, or rethrow its last error after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T>, timeoutMs = 30_000, intervalMs = 500): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
