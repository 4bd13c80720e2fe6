/**
 * `make gen`: config file → validated config → topology → every file in compose/.
 * The only writer of compose/. Nothing is written unless everything validated; each file is
 * written atomically, and files no longer generated are removed.
 */
import { readFile, rm, chmod, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { statSync } from 'node:fs';
import { parseConfig } from '../../../services/config/validate.js';
import { ConfigError } from '../../../services/config/validate.js';
import type { ParityConfig } from '../../../services/config/schema.js';
import { buildTopology, type Topology } from '../../../services/topology/index.js';
import { renderComposeObject, renderFiles, renderOutput } from '../../../services/render/compose.js';
import { hasDr } from '../../../services/topology/region.js';
import { linkComposeObject } from '../../../services/topology/link.js';
import { diffOutput } from '../core/output.js';
import { assertComposeSchema } from './validate-output.js';
import { repoRoot, writeFileAtomic } from '../core/state.js';

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
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new ConfigError(path, [{ path: '(file)', message: 'is a directory; expected a YAML file' }]);
    if (code === 'EACCES' || code === 'EPERM') throw new ConfigError(path, [{ path: '(file)', message: `can't be read (${code}); expected a readable YAML file` }]);
    if (code !== 'ENOENT') throw error;
    if (process.env.PARITY_CONFIG) throw new ConfigError(path, [{ path: '(file)', message: 'file not found (PARITY_CONFIG names it)' }]);
  }
  const shown = relative(process.cwd(), path);
  // Build contexts, Dockerfiles and secret files named in the config are relative to its folder.
  const exists = (relativePath: string) => {
    const found = statSync(join(dirname(path), relativePath), { throwIfNoEntry: false });
    return found?.isDirectory() ? 'folder' : found ? 'file' : undefined;
  };
  return parseConfig(text, shown && !shown.startsWith('..') ? shown : path, { exists });
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
  const rendered = renderFiles(topology);
  assertComposeSchema(renderComposeObject(topology, rendered));
  // A DR region and the link between the regions, from the same model (dr.enabled).
  if (hasDr(config)) {
    assertComposeSchema(renderComposeObject(buildTopology(config, 'dr')));
    assertComposeSchema(linkComposeObject(config));
  }
  const files = renderOutput(config, topology, rendered);
  const result: GenResult = { topology, written: [], unchanged: [], removed: [] };
  for (const { path, status } of await diffOutput(files, outDir)) {
    const target = join(outDir, path);
    if (status === 'extra') {
      await rm(target);
      result.removed.push(path);
      continue;
    }
    const file = files.get(path)!;
    if (status === 'unchanged') result.unchanged.push(path);
    else {
      await writeFileAtomic(target, file.content);
      result.written.push(path);
    }
    const mode = file.executable ? 0o755 : 0o644;
    if (((await stat(target)).mode & 0o777) !== mode) await chmod(target, mode);
  }
  return result;
}
