/**
 * Where runners keep local state: generated secrets, image digests, build contexts, the
 * engine's log. Ignored by git; `PARITY_STATE_DIR` moves it.
 */
import { mkdir, rename, writeFile, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file lives in scripts/runners/core/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function stateDir(): string {
  return resolve(process.env.PARITY_STATE_DIR ?? join(repoRoot, '.parity'));
}

export function statePath(...parts: string[]): string {
  return join(stateDir(), ...parts);
}

/** Write a file so readers never see half of it: temp file + rename in the same folder. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, content);
  await rename(temp, path);
}

export async function readJson<T>(path: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw error;
  }
}
