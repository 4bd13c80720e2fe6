/** Drift check: does compose/ hold exactly what the model renders for this config? */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ParityConfig } from '../../services/config/schema.js';
import { buildTopology } from '../../services/topology/index.js';
import { renderAll } from '../../services/render/compose.js';
import { COMPOSE_DIR, listFiles } from './gen.js';

/** Differences as lines: `changed X`, `missing X`, `extra X`. Empty when in sync. */
export async function checkDrift(config: ParityConfig, dir = COMPOSE_DIR): Promise<string[]> {
  const files = renderAll(buildTopology(config));
  const drift: string[] = [];
  for (const [path, file] of files) {
    const current = await readFile(join(dir, path), 'utf8').catch(() => undefined);
    if (current === undefined) drift.push(`missing ${path}`);
    else if (current !== file.content) drift.push(`changed ${path}`);
  }
  for (const existing of await listFiles(dir)) {
    const path = relative(dir, existing);
    if (!files.has(path)) drift.push(`extra ${path}`);
  }
  return drift;
}
