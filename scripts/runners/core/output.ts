/**
 * compose/ against what the model renders: which files are unchanged, changed, missing or
 * extra. `make gen` acts on the answer, the drift check reports it.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

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

export type OutputStatus = 'unchanged' | 'changed' | 'missing' | 'extra';

export interface OutputDifference {
  /** Path relative to the output directory. */
  readonly path: string;
  readonly status: OutputStatus;
}

/**
 * Each rendered file's status in `dir` (in the order given), then the files in `dir` that are no
 * longer rendered (`extra`). A file that can't be read counts as missing.
 */
export async function diffOutput(rendered: ReadonlyMap<string, { readonly content: string }>, dir: string): Promise<OutputDifference[]> {
  const differences: OutputDifference[] = [];
  for (const [path, file] of rendered) {
    const current = await readFile(join(dir, path), 'utf8').catch(() => undefined);
    differences.push({ path, status: current === undefined ? 'missing' : current === file.content ? 'unchanged' : 'changed' });
  }
  for (const existing of await listFiles(dir)) {
    const path = relative(dir, existing);
    if (!rendered.has(path)) differences.push({ path, status: 'extra' });
  }
  return differences;
}
