/**
 * Where a rotated secret is written: the host's copy (the runners', `secrets/<name>`) and every
 * container's copy (`secrets/uid-<uid>/<name>`, see secret-files.ts). Compose bind-mounts a
 * container's copy by inode, so those are rewritten in place, never replaced.
 */
import { chmod, open, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The host's copy of a secret, trimmed (secrets end with a newline on disk). */
export async function readHostSecret(stateDir: string, name: string): Promise<string> {
  return (await readFile(join(stateDir, 'secrets', name), 'utf8')).trim();
}

/** The host's copy: temp file (0600 from the start) + rename, so no reader sees half of it. */
export async function writeHostSecret(stateDir: string, name: string, value: string): Promise<void> {
  const path = join(stateDir, 'secrets', name);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, value.endsWith('\n') ? value : `${value}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

/**
 * Overwrite a file from its first byte and cut it to the new length, keeping its inode and owner.
 * A reader never sees it empty (as it could between truncate and write); for a value of the same
 * length (every generated password) there is no moment at which it holds anything but one or the other.
 */
async function overwriteInPlace(path: string, content: Buffer): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.write(content, 0, content.length, 0);
    await handle.truncate(content.length);
  } finally {
    await handle.close();
  }
}

/**
 * Every container copy of `names` rewritten with the host's content, in place; only the copies of
 * the uids `forUid` accepts, when given. Returns them (`uid-<uid>/<name>`).
 */
export async function rewriteCopies(stateDir: string, names: readonly string[], forUid: (uid: number) => boolean = () => true): Promise<string[]> {
  const dir = join(stateDir, 'secrets');
  const rewritten: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const uid = /^uid-(\d+)$/.exec(entry.name)?.[1];
    if (!entry.isDirectory() || uid === undefined || !forUid(Number(uid))) continue;
    for (const name of names) {
      const copy = join(dir, entry.name, name);
      const exists = await readFile(copy).then(() => true, () => false);
      if (!exists) continue;
      await overwriteInPlace(copy, await readFile(join(dir, name)));
      rewritten.push(`${entry.name}/${name}`);
    }
  }
  return rewritten;
}
