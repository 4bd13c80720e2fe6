#!/usr/bin/env -S npx tsx
/** `make images`: resolve every catalog image (local → pull → build) and report. */
import { join } from 'node:path';
import { IMAGE_CATALOG } from '../services/images/catalog.js';
import { renderImageLock, selectImages } from '../services/images/resolve.js';
import { ensureEngine } from './runners/engine/engine.js';
import { bakeImages } from './runners/engine/images.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { createProgress } from './runners/core/progress.js';
import { repoRoot, writeFileAtomic } from './runners/core/state.js';
import { formatDuration } from '../services/errors.js';

const HELP = `
Usage: make images [IMAGES="name ..."] [OFFLINE=1] [REBUILD=1]
       npx tsx scripts/images.ts [name ...] [--offline] [--rebuild] [--list] [--write-lock]

Makes every image the stack needs available to the engine. For each image (bases first):
use the local image if present; otherwise pull it; if the pull fails, build the same
version here from Debian packages or Go/npm module sources. Images built here carry the
label dev.parity.built-locally=true; digests are recorded in .parity/images.json.

Options:
  --offline      don't try to pull (air-gapped hosts)
  --rebuild      rebuild the named images (all when none are named) even if present
  --list         print the catalog and exit
  --write-lock   rewrite services/images/images.lock.json from the catalog and exit
  -h, --help     show this help
`;

await runMain(async () => {
  const { values, positionals } = parseCli(
    process.argv.slice(2),
    {
      offline: { type: 'boolean' },
      rebuild: { type: 'boolean' },
      list: { type: 'boolean' },
      'write-lock': { type: 'boolean' },
    },
    HELP,
  );
  const names = positionals.flatMap((arg) => arg.split(/[\s,]+/)).filter(Boolean);
  if (values.list) {
    for (const spec of selectImages(IMAGE_CATALOG, names)) {
      process.stdout.write(`${spec.name.padEnd(18)} ${spec.ref.padEnd(48)} ${spec.source}\n`);
    }
    return;
  }
  if (values['write-lock']) {
    const path = join(repoRoot, 'services', 'images', 'images.lock.json');
    await writeFileAtomic(path, `${JSON.stringify(renderImageLock(IMAGE_CATALOG), null, 2)}\n`);
    process.stdout.write(`wrote ${path}\n`);
    return;
  }
  selectImages(IMAGE_CATALOG, names); // unknown names fail here, before any engine work
  const progress = createProgress('[images]');
  await ensureEngine(progress);
  const started = Date.now();
  const results = await bakeImages({
    names,
    offline: values.offline ?? process.env.PARITY_OFFLINE === '1',
    rebuild: values.rebuild ?? false,
    progress,
  });
  const built = results.filter((r) => r.source === 'build').length;
  progress.info(
    `${results.length} images ready in ${formatDuration(Date.now() - started)} ` +
      `(${built} built, ${results.filter((r) => r.source === 'pulled').length} pulled, ${results.filter((r) => r.source === 'local').length} present)`,
  );
});
