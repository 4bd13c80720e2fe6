/** The host side of the JWT signing keys: generation, the public set, rotation keeping two keys. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureSigningKeys, rotateSigningKeys, SigningKeysError, type JwkSet } from '../../scripts/runners/stack/signing-keys.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const stateDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'parity-keys-'));
  dirs.push(dir);
  return dir;
};
const read = (dir: string, name: string) => JSON.parse(readFileSync(join(dir, 'secrets', name), 'utf8')) as JwkSet;

describe('signing keys', () => {
  it('GIVEN no keys THEN one Ed25519 key with a kid: private set for auth, public set (no d) for the APIs; a second call changes nothing', async () => {
    const dir = stateDir();
    expect(await ensureSigningKeys(dir)).toBe(true);
    const [key] = read(dir, 'jwt_signing_keys').keys;
    expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.stringMatching(/^[A-Za-z0-9_-]{12}$/), d: expect.any(String) });
    expect(read(dir, 'jwt_public_keys')).toEqual({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: key!.x, kid: key!.kid, alg: 'EdDSA', use: 'sig' }] });
    expect(statSync(join(dir, 'secrets', 'jwt_signing_keys')).mode & 0o777).toBe(0o644);
    expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700);
    expect(await ensureSigningKeys(dir)).toBe(false);
    expect(read(dir, 'jwt_signing_keys').keys[0]!.kid).toBe(key!.kid);
  });

  it('GIVEN a rotation THEN a new key in front, the previous kept, older dropped; files rewritten in place (a compose secret mount keeps its inode)', async () => {
    const dir = stateDir();
    await ensureSigningKeys(dir);
    const first = read(dir, 'jwt_signing_keys').keys[0]!.kid!;
    const inode = statSync(join(dir, 'secrets', 'jwt_public_keys')).ino;
    const second = await rotateSigningKeys(dir);
    expect(second).toHaveLength(2);
    expect(second[1]).toBe(first);
    const third = await rotateSigningKeys(dir);
    expect(third).toEqual([expect.any(String), second[0]]);
    expect(read(dir, 'jwt_public_keys').keys.map((key) => key.kid)).toEqual(third);
    expect(read(dir, 'jwt_public_keys').keys.every((key) => key.d === undefined)).toBe(true);
    expect(statSync(join(dir, 'secrets', 'jwt_public_keys')).ino).toBe(inode);
  });

  it('GIVEN an unusable private set THEN a rotation refuses with the file named (exit 2) and writes nothing', async () => {
    const dir = stateDir();
    await ensureSigningKeys(dir);
    const path = join(dir, 'secrets', 'jwt_signing_keys');
    writeFileSync(path, '{"keys": [{"kty": "oct", "k": "x"}]}');
    const error = await rotateSigningKeys(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SigningKeysError);
    expect((error as SigningKeysError).exitCode).toBe(2);
    expect((error as Error).message).toBe(`${path}: expected a JWK set of Ed25519 private keys, each with a kid`);
    expect(readFileSync(path, 'utf8')).toBe('{"keys": [{"kty": "oct", "k": "x"}]}');
  });
});
