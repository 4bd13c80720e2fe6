/**
 * The JWT signing keys: Ed25519 (EdDSA) key pairs with a `kid`, as two JWK sets in the
 * secrets directory: `jwt_signing_keys` (private keys, for auth only) and `jwt_public_keys`
 * (the same keys without their private part, for every API). The first key of a set is the
 * newest: auth signs with it; tokens of any key in the set verify, so a rotation keeps the
 * previous key until its tokens have expired.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { ParityError } from '../../../services/errors.js';

/** The secret files, in the state directory's `secrets/` (names as in SECRETS). */
export const SIGNING_KEYS_SECRET = 'jwt_signing_keys';
export const PUBLIC_KEYS_SECRET = 'jwt_public_keys';

/** Keys kept after a rotation: the new one and the one before it (older ones are dropped). */
export const ACTIVE_KEYS = 2;

export interface JwkSet {
  readonly keys: readonly JWK[];
}

/** The signing key files can't be used (not JSON, not Ed25519 private JWKs with a kid). */
export class SigningKeysError extends ParityError {
  override readonly name = 'SigningKeysError';
  readonly exitCode = 2;
}

/** A new Ed25519 private JWK with a random `kid`, `alg` and `use` set. */
export async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: randomBytes(9).toString('base64url'), alg: 'EdDSA', use: 'sig' };
}

/** The public part of each key (no `d`): what the APIs verify with. */
export function publicKeys(set: JwkSet): JwkSet {
  return { keys: set.keys.map(({ kty, crv, x, kid, alg, use }) => ({ kty, crv, x, kid, alg, use })) };
}

function checkSet(value: unknown, path: string): JwkSet {
  const keys = (value as { keys?: unknown }).keys;
  const valid = Array.isArray(keys) && keys.length > 0 && keys.every((key: JWK) => key.kty === 'OKP' && key.crv === 'Ed25519' && typeof key.d === 'string' && typeof key.x === 'string' && typeof key.kid === 'string');
  if (!valid) throw new SigningKeysError(`${path}: expected a JWK set of Ed25519 private keys, each with a kid`);
  return value as JwkSet;
}

async function readSet(path: string): Promise<JwkSet> {
  const text = await readFile(path, 'utf8');
  try {
    return checkSet(JSON.parse(text), path);
  } catch (error) {
    if (error instanceof SigningKeysError) throw error;
    throw new SigningKeysError(`${path}: not JSON (${(error as Error).message})`);
  }
}

/**
 * Write both files. The public set first: an API learns a new key before auth signs with it
 * (and an API that meets an unknown kid re-reads its file anyway). Mode 0644 like the other
 * secrets (the container users must read them); the directory is 0700.
 *
 * In place, not temp file + rename: compose mounts each secret file by its inode, so a renamed
 * replacement would never reach a running container. A reader that catches a half-written
 * file fails to parse it and keeps the keys it had until its next read.
 */
async function writeSets(dir: string, set: JwkSet): Promise<void> {
  for (const [name, content] of [
    [PUBLIC_KEYS_SECRET, publicKeys(set)],
    [SIGNING_KEYS_SECRET, set],
  ] as const) {
    const path = join(dir, name);
    await writeFile(path, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o644 });
    await chmod(path, 0o644);
  }
}

/** Create both files with one key when the private set doesn't exist yet. True when created. */
export async function ensureSigningKeys(stateDir: string): Promise<boolean> {
  const dir = join(stateDir, 'secrets');
  const exists = await stat(join(dir, SIGNING_KEYS_SECRET)).then(
    () => true,
    () => false,
  );
  if (exists) return false;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeSets(dir, { keys: [await generateSigningKey()] });
  return true;
}

/**
 * Add a new key in front (auth signs with it from its next read of the file), keep the
 * previous one (tokens it signed still verify until they expire), drop any older. The
 * services pick the files up without a restart. Returns the kids, newest first.
 */
/** A state directory's private signing keys, newest first (SigningKeysError when the file can't be used). */
export const readSigningKeys = (stateDir: string): Promise<JwkSet> => readSet(join(stateDir, 'secrets', SIGNING_KEYS_SECRET));

export async function rotateSigningKeys(stateDir: string): Promise<string[]> {
  const dir = join(stateDir, 'secrets');
  const current = await readSigningKeys(stateDir);
  const next = { keys: [await generateSigningKey(), ...current.keys].slice(0, ACTIVE_KEYS) };
  await writeSets(dir, next);
  return next.keys.map((key) => key.kid!);
}
