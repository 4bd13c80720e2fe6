/**
 * `make rotate-secrets`: a new token-signing key without downtime. The new Ed25519 key signs from
 * now on; the previous one stays in both key sets, so tokens it signed verify until they expire.
 * The containers' copies (`secrets/uid-<uid>/…`) are rewritten in place — compose bind-mounts them
 * by inode, and the stubs read the key files again every 10 s (at once when a token names a kid
 * they don't know) — then the runner waits until auth signs with the new key.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDuration, ParityError } from '../../services/errors.js';
import { PUBLIC_KEYS_SECRET, SIGNING_KEYS_SECRET, rotateSigningKeys } from './signing-keys.js';
import { fetchStub } from './stub-http.js';
import type { ComposeTarget } from './stack.js';
import type { Progress } from './progress.js';

export class RotationError extends ParityError {
  override readonly exitCode = 1;
}

export interface RotationResult {
  readonly signingKid: string;
  readonly previousKid?: string;
  /** Container copies rewritten in place. */
  readonly copies: readonly string[];
  /** From the rotation until auth's health check reported the new key. */
  readonly tookMs: number;
}

/** Rewrite each uid copy of the key sets with the host's content, keeping its inode (and owner). */
async function refreshCopies(stateDir: string): Promise<string[]> {
  const dir = join(stateDir, 'secrets');
  const rewritten: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !/^uid-\d+$/.test(entry.name)) continue;
    for (const name of [SIGNING_KEYS_SECRET, PUBLIC_KEYS_SECRET]) {
      const copy = join(dir, entry.name, name);
      const exists = await readFile(copy).then(() => true, () => false);
      if (!exists) continue;
      await writeFile(copy, await readFile(join(dir, name)));
      rewritten.push(`${entry.name}/${name}`);
    }
  }
  return rewritten;
}

export async function rotateSecrets(target: ComposeTarget, progress: Progress, timeoutMs = 30_000): Promise<RotationResult> {
  if (process.getuid?.() !== 0) {
    throw new RotationError('rotating in place needs root (the containers\' copies belong to their users); without it: rotate, then make up recreates the services');
  }
  const started = performance.now();
  const [signingKid, previousKid] = await rotateSigningKeys(target.stateDir);
  progress.info(`new signing key ${signingKid}${previousKid ? `; ${previousKid} kept for the tokens it signed` : ''}`);
  const copies = await refreshCopies(target.stateDir);
  progress.info(`rewrote ${copies.length} container copies in place`);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = (await fetchStub(target, 'auth', '/health')).text;
    if (last.includes(`"${signingKid}"`)) return { signingKid: signingKid!, ...(previousKid ? { previousKid } : {}), copies, tookMs: Math.round(performance.now() - started) };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new RotationError(`auth did not sign with the new key ${signingKid} within ${formatDuration(timeoutMs)} (its /health: ${last.slice(0, 300)}); both keys stay valid, so nothing users hold broke`);
}
