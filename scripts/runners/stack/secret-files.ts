/**
 * Secret files at rest: every secret and key 0600, in 0700 directories. The host's copy
 * (`secrets/<name>`) is the runners' (owned by whoever runs `make up`); each container reads a
 * copy owned by its own uid (`secrets/uid-<uid>/<name>`, see services/topology/hardening.ts),
 * because compose v2.40 bind-mounts `file:` secrets as they are on disk and ignores the long
 * syntax's uid/gid/mode for them. Which copies exist follows the generated compose files.
 */
import { chmod, chown, copyFile, mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { catalogRef } from '../../../services/images/catalog.js';
import { TLS_KEY_READER } from '../../../services/topology/hardening.js';
import { runOnce } from '../clients/docker-host.js';

export interface SecretCopy {
  readonly name: string;
  readonly uid: number;
}

/** The copies a compose file's top-level secrets point at. */
export function secretCopiesOf(composeText: string): SecretCopy[] {
  return [...composeText.matchAll(/\/secrets\/uid-(\d+)\/([a-z0-9_]+)\s*$/gm)].map((match) => ({ uid: Number(match[1]), name: match[2]! }));
}

/** Give files to their uids: directly as root, else through a throwaway container of a local image (the engine's root). */
export type ChownFiles = (stateDir: string, files: readonly { readonly path: string; readonly uid: number }[]) => Promise<void>;

export const chownFiles: ChownFiles = async (stateDir, files) => {
  if (!files.length) return;
  if (process.getuid?.() === 0) {
    for (const file of files) await chown(file.path, file.uid, file.uid);
    return;
  }
  const inside = (path: string) => `/state/${path.slice(stateDir.length + 1)}`;
  const script = files.map((file) => `chown ${file.uid}:${file.uid} '${inside(file.path)}'`).join(' && ');
  await runOnce({ image: catalogRef('stubs'), network: 'none', user: '0', entrypoint: 'sh', mounts: [`${stateDir}:/state`], command: ['-c', script] });
};

const mtime = (path: string) => stat(path).then((s) => s.mtimeMs, () => undefined);

/**
 * Host secrets to 0600, the copies the compose files name made (again when the host's is newer)
 * and given to their readers, copies no compose file names removed, the edge's TLS key to 0600
 * owned by Traefik's user. Returns the copies written.
 */
export async function installSecretFiles(stateDir: string, composeDirs: readonly string[], chownOf: ChownFiles = chownFiles): Promise<string[]> {
  const dir = join(stateDir, 'secrets');
  for (const entry of await readdir(dir, { withFileTypes: true })) if (entry.isFile()) await chmod(join(dir, entry.name), 0o600);
  const wanted: SecretCopy[] = [];
  for (const composeDir of composeDirs) {
    const text = await readFile(join(composeDir, 'compose.yaml'), 'utf8').catch(() => '');
    wanted.push(...secretCopiesOf(text));
  }
  const written: { path: string; uid: number }[] = [];
  for (const { name, uid } of wanted) {
    const uidDir = join(dir, `uid-${uid}`);
    await mkdir(uidDir, { recursive: true, mode: 0o700 });
    const path = join(uidDir, name);
    const copied = await mtime(path);
    if (copied !== undefined && copied >= (await mtime(join(dir, name)))!) continue;
    // Unlink first: a copy given to another uid can't be overwritten, only replaced (the directory is ours).
    await unlink(path).catch(() => undefined);
    await copyFile(join(dir, name), path);
    await chmod(path, 0o600);
    written.push({ path, uid });
  }
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !/^uid-\d+$/.test(entry.name)) continue;
    for (const file of await readdir(join(dir, entry.name))) {
      if (!wanted.some((copy) => `uid-${copy.uid}` === entry.name && copy.name === file)) await unlink(join(dir, entry.name, file));
    }
  }
  const tlsKey = join(stateDir, 'tls', 'key.pem');
  const keyStat = await stat(tlsKey).catch(() => undefined);
  if (keyStat) {
    await chmod(tlsKey, 0o600);
    if (keyStat.uid !== TLS_KEY_READER) written.push({ path: tlsKey, uid: TLS_KEY_READER });
  }
  await chownOf(stateDir, written);
  return written.map((file) => file.path.slice(stateDir.length + 1));
}
