/**
 * `make gen`: config file → validated config → topology → every file in compose/.
 * The only writer of compose/. Nothing is written unless everything validated; each file is
 * written atomically, and files no longer generated are removed.
 */
import { readFile, readdir, rm, chmod, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseConfig } from '../../services/config/validate.js';
import { ConfigError } from '../../services/config/validate.js';
import type { ParityConfig } from '../../services/config/schema.js';
import { buildTopology, type Topology } from '../../services/topology/index.js';
import { renderAll, renderComposeObject } from '../../services/render/compose.js';
import { assertComposeSchema } from './validate-output.js';
import { repoRoot, writeFileAtomic } from './state.js';

export const COMPOSE_DIR = join(repoRoot, 'compose');

export function configPath(): string {
  return process.env.PARITY_CONFIG ?? join(repoRoot, 'parity.yaml');
}

/** Read and validate the user's config; a missing file means "all defaults". */
export async function loadConfig(path = configPath()): Promise<ParityConfig> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (process.env.PARITY_CONFIG) throw new ConfigError(path, [{ path: '(file)', message: 'file not found (PARITY_CONFIG names it)' }]);
  }
  const shown = relative(process.cwd(), path);
  return parseConfig(text, shown && !shown.startsWith('..') ? shown : path);
}

/** Every file below `dir` (recursively); none when it doesn't exist. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out;
}

export interface GenResult {
  topology: Topology;
  written: string[];
  unchanged: string[];
  removed: string[];
}

/** Render everything for the config and write what changed into `outDir`. */
export async function generate(config: ParityConfig, outDir = COMPOSE_DIR): Promise<GenResult> {
  const topology = buildTopology(config);
  assertComposeSchema(renderComposeObject(topology));
  const files = renderAll(topology);
  const result: GenResult = { topology, written: [], unchanged: [], removed: [] };
  for (const [path, file] of files) {
    const target = join(outDir, path);
    let current: string | undefined;
    try {
      current = await readFile(target, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === file.content) result.unchanged.push(path);
    else {
      await writeFileAtomic(target, file.content);
      result.written.push(path);
    }
    const mode = file.executable ? 0o755 : 0o644;
    if (((await stat(target)).mode & 0o777) !== mode) await chmod(target, mode);
  }
  for (const existing of await listFiles(outDir)) {
    const path = relative(outDir, existing);
    if (!files.has(path)) {
      await rm(existing);
      result.removed.push(path);
    }
  }
  return result;
}
