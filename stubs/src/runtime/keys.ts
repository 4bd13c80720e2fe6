/**
 * JWT keys in the stubs: EdDSA (Ed25519) JWK sets with a `kid` each, from the secret files
 * `scripts/runners/stack/signing-keys.ts` writes. Auth signs with the first (newest) private key;
 * everyone verifies against the public set, so only auth can mint tokens. The files are read
 * again every `maxAgeMs`, and at once (at most every `minReloadMs`) when a token names an
 * unknown kid, so a rotation reaches running services without a restart.
 */
import { readFileSync, statSync } from 'node:fs';
import { importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';

export const TOKEN_ISSUER = 'parity-auth';
export const TOKEN_AUDIENCE = 'parity-platform';
/** The only algorithm accepted: `none`, HS256 and the rest are refused whatever the header says. */
export const TOKEN_ALGORITHM = 'EdDSA';

export interface JwkSet {
  readonly keys: readonly JWK[];
}

/** A JWK set as read from a secret: Ed25519 keys with a kid; undefined when it isn't one. */
export function parseKeySet(text: string, needPrivate: boolean): JwkSet | undefined {
  try {
    const keys = (JSON.parse(text) as { keys?: unknown }).keys;
    if (!Array.isArray(keys) || keys.length === 0) return undefined;
    const usable = keys.every((key: JWK) => key.kty === 'OKP' && key.crv === 'Ed25519' && typeof key.x === 'string' && typeof key.kid === 'string' && (!needPrivate || typeof key.d === 'string'));
    return usable ? { keys } : undefined;
  } catch {
    return undefined;
  }
}

export interface KeySource {
  /** The current keys, newest first (re-read from the file when it is due). */
  keys(): readonly JWK[];
  /** A token named an unknown kid: re-read now if the file changed, else unless that happened less than `minReloadMs` ago. */
  reloadSoon(): void;
}

export function keySource(initial: JwkSet, options: { readonly path?: string; readonly needPrivate: boolean; readonly minReloadMs?: number; readonly maxAgeMs?: number }): KeySource {
  let current = initial;
  let readAt = Date.now();
  const { path, needPrivate, minReloadMs = 1000, maxAgeMs = 10_000 } = options;
  // The file's identity when last read: a rotation (written by rename) changes it.
  const stampOf = (file: string) => {
    try {
      const stat = statSync(file);
      return `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
    } catch {
      return '';
    }
  };
  let stamp = path ? stampOf(path) : '';
  const reload = () => {
    readAt = Date.now();
    if (!path) return;
    stamp = stampOf(path);
    try {
      // A half-written file (a rotation in progress) doesn't parse: keep the keys we have.
      current = parseKeySet(readFileSync(path, 'utf8'), needPrivate) ?? current;
    } catch {
      // Unreadable for a moment: the same.
    }
  };
  return {
    keys() {
      if (Date.now() - readAt >= maxAgeMs) reload();
      return current.keys;
    },
    reloadSoon() {
      // At once when the file changed (a rotation: its first token must not be refused), else at
      // most every minReloadMs (unknown kids from anyone can't make every request read the file).
      if (Date.now() - readAt >= minReloadMs || (path && stampOf(path) !== stamp)) reload();
    },
  };
}

const publicPart = ({ kty, crv, x }: JWK): JWK => ({ kty, crv, x });

/** Verify a token against `source`: EdDSA only, a known kid, our issuer and audience. */
export function createVerifier(source: KeySource): (token: string) => Promise<JWTPayload> {
  const imported = new Map<string, ReturnType<typeof importJWK>>();
  const keyFor = async (header: { alg?: string; kid?: string }) => {
    if (header.alg !== TOKEN_ALGORITHM) throw new Error(`algorithm ${String(header.alg)} refused`);
    const find = () => source.keys().find((key) => key.kid === header.kid);
    let jwk = find();
    if (!jwk) {
      source.reloadSoon();
      jwk = find();
    }
    if (!jwk) throw new Error(`unknown key id ${String(header.kid)}`);
    const cacheKey = `${jwk.kid}:${jwk.x}`;
    if (!imported.has(cacheKey)) imported.set(cacheKey, importJWK(publicPart(jwk), TOKEN_ALGORITHM));
    return imported.get(cacheKey)!;
  };
  return async (token) => (await jwtVerify(token, keyFor, { issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, algorithms: [TOKEN_ALGORITHM] })).payload;
}

export type Signer = (claims: JWTPayload, subject: string, ttlSeconds: number) => Promise<string>;

/** Sign with the newest private key of `source`, naming it in the header's kid. */
export function createSigner(source: KeySource): Signer {
  const imported = new Map<string, ReturnType<typeof importJWK>>();
  return async (claims, subject, ttlSeconds) => {
    const jwk = source.keys()[0]!;
    const cacheKey = `${jwk.kid}:${jwk.x}`;
    if (!imported.has(cacheKey)) imported.set(cacheKey, importJWK({ ...publicPart(jwk), d: jwk.d! }, TOKEN_ALGORITHM));
    return new SignJWT(claims)
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: jwk.kid!, typ: 'JWT' })
      .setSubject(subject)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(await imported.get(cacheKey)!);
  };
}
