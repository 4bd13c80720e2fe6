/**
 * The example services under examples/: code that is not a stub, built from Debian's packages on
 * the catalog's Debian base, to stand in a stub's place in image mode (docs/own-services.md).
 */
import { join } from 'node:path';
import { UsageError, suggest } from '../../../services/errors.js';
import { catalogRef } from '../../../services/images/catalog.js';
import { bakeImages } from '../engine/images.js';
import { buildLocalImage } from '../engine/local-build.js';
import type { Progress } from '../core/progress.js';
import { repoRoot } from '../core/state.js';

/** Each example: its folder and the tag it is built as. */
export const EXAMPLES = {
  'events-python': { dir: 'examples/events-python', ref: 'parity-example/events-python:dev', service: 'events', port: 8080, args: {} },
  // The same code with three contract clauses broken on purpose: no metrics, liveness on the database, no drain.
  'events-python-broken': { dir: 'examples/events-python', ref: 'parity-example/events-python-broken:dev', service: 'events', port: 8080, args: { VARIANT: 'metrics,liveness,sigterm,headers' } },
} as const;
export type ExampleName = keyof typeof EXAMPLES;

/** The example a name means, or a UsageError (exit 2) naming the ones there are. */
export function exampleNamed(name: string | undefined): ExampleName {
  const names = Object.keys(EXAMPLES) as ExampleName[];
  if (!name) throw new UsageError(`EXAMPLE is required: one of ${names.join(', ')}`);
  if (!(name in EXAMPLES)) {
    const hint = suggest(name, names);
    throw new UsageError(`EXAMPLE=${name}: no such example${hint ? ` (did you mean ${hint}?)` : ''}; expected one of ${names.join(', ')}`);
  }
  return name as ExampleName;
}

/** Build an example's image (the Debian base first, from the catalog); returns its tag and ID. */
export async function buildExample(name: ExampleName, progress: Progress): Promise<{ readonly ref: string; readonly id: string; readonly seconds: number }> {
  const started = Date.now();
  const example = EXAMPLES[name];
  await bakeImages({ names: ['debian'], progress, offline: process.env.PARITY_OFFLINE === '1' });
  const id = await buildLocalImage(join(repoRoot, example.dir), example.ref, { BASE_IMAGE: catalogRef('debian'), ...example.args }, progress);
  return { ref: example.ref, id, seconds: Math.round((Date.now() - started) / 100) / 10 };
}
