#!/usr/bin/env -S npx tsx
/**
 * Benchmark of the image bake: per-image cold bake time, warm re-run time, disk size.
 * Prints measured figures (and writes them to .parity/bench/images.json); asserts nothing.
 */
import { IMAGE_CATALOG } from '../services/images/catalog.js';
import { formatDuration } from '../services/errors.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { run, tryRun } from './runners/core/exec.js';
import { bakeImages, LABEL_BUILT_LOCALLY, type BakeResult } from './runners/engine/images.js';
import { createProgress } from './runners/core/progress.js';
import { statePath, writeFileAtomic } from './runners/core/state.js';

const HELP = `
Usage: make bench-images [COLD=1]       (or: npx tsx scripts/bench-images.ts [--cold] [--remove-only])

Measures the image bake on this machine and prints:
  - per image: how it was resolved and the time it took (with --cold: a full local build),
  - the warm re-run time (everything present),
  - disk: each image's size, their sum, and the engine's own total for images.
Options:
  --cold          first remove every catalog image built here (label ${LABEL_BUILT_LOCALLY}=true)
                  and dangling build leftovers, then bake from nothing (offline: builds, no pulls)
  --remove-only   remove those images and stop (make clean-images)
  -h, --help      show this help
`;

async function removeLocalBuilds(): Promise<string[]> {
  const removed: string[] = [];
  for (const spec of [...IMAGE_CATALOG].reverse()) {
    const label = await tryRun(['docker', 'image', 'inspect', '--format', `{{index .Config.Labels "${LABEL_BUILT_LOCALLY}"}}`, spec.ref]);
    if (label.code === 0 && label.stdout.trim() === 'true') {
      await run(['docker', 'image', 'rm', '-f', spec.ref]);
      removed.push(spec.ref);
    }
  }
  // Multi-stage builds leave untagged builder stages behind; they would make "cold" warm.
  await run(['docker', 'image', 'prune', '-f']);
  return removed;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}

await runMain(async () => {
  const { values } = parseCli(process.argv.slice(2), { cold: { type: 'boolean' }, 'remove-only': { type: 'boolean' } }, HELP);
  const progress = createProgress('[bench]');
  if (values['remove-only'] || values.cold) {
    const removed = await removeLocalBuilds();
    progress.info(`removed ${removed.length} locally built images${removed.length ? `: ${removed.join(', ')}` : ''}`);
    if (values['remove-only']) return;
  }

  const coldStarted = Date.now();
  const first: BakeResult[] = await bakeImages({ offline: Boolean(values.cold), progress });
  const firstMs = Date.now() - coldStarted;
  const warmStarted = Date.now();
  await bakeImages({ offline: true, progress });
  const warmMs = Date.now() - warmStarted;

  const df = await run(['docker', 'system', 'df', '--format', '{{.Type}}\t{{.Size}}']);
  const engineImagesTotal = df.split('\n').find((line) => line.startsWith('Images'))?.split('\t')[1] ?? '?';
  const sum = first.reduce((total, result) => total + result.sizeBytes, 0);

  const rows = first.map((r) => `  ${r.name.padEnd(18)} ${r.source.padEnd(7)} ${formatDuration(r.elapsedMs).padStart(8)} ${mb(r.sizeBytes).padStart(9)}  ${r.ref}`);
  const report = [
    '',
    `image bake benchmark (${values.cold ? 'cold: every image built here, offline' : 'as found'})`,
    `  ${'image'.padEnd(18)} ${'source'.padEnd(7)} ${'time'.padStart(8)} ${'size'.padStart(9)}  reference`,
    ...rows,
    `  first run total: ${formatDuration(firstMs)}`,
    `  warm re-run (everything present): ${formatDuration(warmMs)}`,
    `  disk: sum of image sizes ${mb(sum)} (shared base layers counted per image); engine images total ${engineImagesTotal}`,
    '',
  ].join('\n');
  process.stdout.write(report);
  await writeFileAtomic(
    statePath('bench', 'images.json'),
    `${JSON.stringify({ at: new Date().toISOString(), cold: Boolean(values.cold), firstMs, warmMs, sumBytes: sum, engineImagesTotal, images: first }, null, 2)}\n`,
  );
});
