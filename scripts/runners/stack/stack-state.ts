/**
 * Local state the stack needs before it starts: generated secrets, a local CA and a
 * certificate for *.localhost, and Traefik's watched dynamic-config directory. All of it
 * lives in the ignored state directory and is created once (idempotent).
 */
import { EDGE_FILE } from '../../../services/topology/traefik.js';
import { createHash, randomBytes } from 'node:crypto';
import { dashboardUsersLine } from '../../../services/topology/edge-security.js';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DERIVED_SECRETS, SECRETS, SIGNING_KEY_SECRETS, TLS_SECRETS, type SecretName } from '../../../services/topology/common.js';
import { REDIS_PASSWORD_SECRETS, REDIS_ROTATION_PASSWORD_FILE, redisAclLines, type RedisLoginUser } from '../../../services/topology/redis.js';
import { MissingToolError } from '../../../services/errors.js';
import { hasCommand, run } from '../core/exec.js';
import { COMPOSE_DIR } from '../gen/gen.js';
import { ensureColorEnvFiles, readDeployState, writeRoutes } from './deploy-state.js';
import { ensureSigningKeys } from './signing-keys.js';
import { statePath, writeFileAtomic } from '../core/state.js';
import { installSecretFiles } from './secret-files.js';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export interface PreparedState {
  created: string[];
  caFile: string;
  /** The ACL file's users changed (a user added, a password not yet in it): a running Redis must load it again. */
  redisAclChanged: boolean;
}

/**
 * Secrets are 0600 in a 0700 directory, the runners' copies; each container reads a copy owned by
 * its own uid (installSecretFiles, after everything is generated).
 */
export async function ensureSecrets(stateDir: string): Promise<string[]> {
  const dir = join(stateDir, 'secrets');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const created: string[] = [];
  const value = async (name: SecretName): Promise<string> => (await readFile(join(dir, name), 'utf8')).trim();
  for (const name of SECRETS) {
    if (TLS_SECRETS.includes(name) || DERIVED_SECRETS.includes(name) || SIGNING_KEY_SECRETS.includes(name)) continue;
    const path = join(dir, name);
    if (await exists(path)) continue;
    let content: string;
    if (name === 's3_access_key') content = `parity${randomBytes(8).toString('hex')}`;
    else if (name === 'traefik_dashboard_users') content = dashboardUsersLine(await value('traefik_dashboard_password'));
    else if (name === 's3_config') {
      // SeaweedFS identities, derived from the two S3 keys (generated first, above).
      content = JSON.stringify(
        {
          identities: [
            {
              name: 'parity',
              // SECRETS lists both keys before s3_config, so they exist by now.
              credentials: [{ accessKey: await value('s3_access_key'), secretKey: await value('s3_secret_key') }],
              actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
            },
          ],
        },
        null,
        2,
      );
    } else content = newSecretValue();
    await writeFile(path, `${content}\n`, { mode: 0o600 });
    await chmod(path, 0o600);
    created.push(name);
  }
  return created;
}

/** A new random secret, as every generated one: 256 bits, base64url (nothing to quote anywhere). */
export const newSecretValue = (): string => randomBytes(32).toString('base64url');

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The SHA-256 of each Redis user's password in the state directory; the rotation user's password is made on first use. */
export async function redisPasswordHashes(stateDir: string): Promise<Record<RedisLoginUser, string>> {
  const dir = join(stateDir, 'secrets');
  const rotation = join(dir, REDIS_ROTATION_PASSWORD_FILE);
  if (!(await exists(rotation))) await writeFile(rotation, `${newSecretValue()}\n`, { mode: 0o600 });
  const hash = async (file: string) => sha256Hex((await readFile(join(dir, file), 'utf8')).trim());
  return { app: await hash(REDIS_PASSWORD_SECRETS.app), exporter: await hash(REDIS_PASSWORD_SECRETS.exporter), rotation: await hash(REDIS_ROTATION_PASSWORD_FILE) };
}

/** The ACL file for these password hashes (several per user while a rotation moves the clients over). */
export const redisAclContent = (hashes: Readonly<Record<RedisLoginUser, string | readonly string[]>>): string => `${redisAclLines(hashes).join('\n')}\n`;

/**
 * Redis' ACL file from the users' rules (the model) and their passwords' SHA-256: rewritten when
 * either changes, so a rule change reaches Redis on its next start. Returns whether it changed.
 */
export async function ensureRedisAcl(stateDir: string): Promise<boolean> {
  const content = redisAclContent(await redisPasswordHashes(stateDir));
  const path = join(stateDir, 'secrets', 'redis_acl');
  if ((await readFile(path, 'utf8').catch(() => undefined)) === content) return false;
  await writeFileAtomic(path, content);
  await chmod(path, 0o600);
  return true;
}

/** A local CA and a server certificate for *.localhost, localhost and 127.0.0.1 (openssl). */
export async function ensureTls(stateDir: string): Promise<{ created: boolean; caFile: string }> {
  const caDir = join(stateDir, 'ca');
  const tlsDir = join(stateDir, 'tls');
  const caFile = join(caDir, 'parity-ca.pem');
  if ((await exists(caFile)) && (await exists(join(tlsDir, 'cert.pem')))) return { created: false, caFile };
  if (!(await hasCommand('openssl'))) throw new MissingToolError('creating the local CA needs openssl on PATH (apt-get install openssl)');
  await mkdir(caDir, { recursive: true, mode: 0o700 });
  await mkdir(tlsDir, { recursive: true });
  const caKey = join(caDir, 'parity-ca.key');
  await run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '825', '-keyout', caKey, '-out', caFile, '-subj', '/CN=Parity local development CA']);
  const ext = join(caDir, 'server.ext');
  await writeFile(ext, 'subjectAltName=DNS:*.localhost,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  await run(['openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-keyout', join(tlsDir, 'key.pem'), '-out', join(caDir, 'server.csr'), '-subj', '/CN=*.localhost']);
  await run([
    'openssl', 'x509', '-req', '-sha256', '-days', '825', '-in', join(caDir, 'server.csr'),
    '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', join(tlsDir, 'cert.pem'), '-extfile', ext,
  ]);
  await chmod(caKey, 0o600);
  // 0600, and Traefik's once installSecretFiles runs.
  await chmod(join(tlsDir, 'key.pem'), 0o600);
  return { created: true, caFile };
}

/**
 * The S3 store's HTTPS certificate (host name `s3` inside the network), signed by the local CA,
 * and a copy of the CA, as compose secrets (pgBackRest and rclone check the store against it).
 * Created once; a state directory from before backups gets them on its next `make up`.
 */
export async function ensureS3Certificate(stateDir: string): Promise<boolean> {
  const secrets = join(stateDir, 'secrets');
  const caDir = join(stateDir, 'ca');
  const [cert, key, ca] = ['s3_tls_cert', 's3_tls_key', 'ca_cert'].map((name) => join(secrets, name)) as [string, string, string];
  const ext = join(caDir, 's3.ext');
  // `link`: the primary reaches the DR region's store through the link between the regions.
  const extension = 'subjectAltName=DNS:s3,DNS:link,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n';
  const current = await readFile(ext, 'utf8').catch(() => '');
  if ((await exists(cert)) && (await exists(key)) && (await exists(ca)) && current === extension) return false;
  await writeFile(ext, extension);
  await run(['openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-keyout', key, '-out', join(caDir, 's3.csr'), '-subj', '/CN=s3']);
  await run([
    'openssl', 'x509', '-req', '-sha256', '-days', '825', '-in', join(caDir, 's3.csr'),
    '-CA', join(caDir, 'parity-ca.pem'), '-CAkey', join(caDir, 'parity-ca.key'), '-CAcreateserial', '-out', cert, '-extfile', ext,
  ]);
  await writeFile(ca, await readFile(join(caDir, 'parity-ca.pem')));
  // The containers read their own copies (installSecretFiles).
  for (const file of [cert, key, ca]) await chmod(file, 0o600);
  return true;
}

/**
 * Traefik's watched directory gets the generated routes, written atomically (temp file +
 * rename in the same directory, so the file provider sees one complete file).
 */
export async function installDynamicConfig(stateDir: string, composeDir = COMPOSE_DIR): Promise<void> {
  const dir = join(stateDir, 'traefik', 'dynamic');
  await mkdir(dir, { recursive: true });
  // Once a deploy has run, its state is the record of which color serves: keep it.
  const deployed = await readDeployState(stateDir);
  if (deployed) await writeRoutes(stateDir, deployed);
  else await writeFileAtomic(join(dir, 'routes.yml'), await readFile(join(composeDir, 'traefik', 'dynamic', 'routes.yml'), 'utf8'));
  // The edge file follows the config (servers, breakers): always the generated one.
  await writeFileAtomic(join(dir, 'edge.yml'), await readFile(join(composeDir, EDGE_FILE), 'utf8'));
}

/** Everything the stack needs in the state directory. */
export async function prepareState(stateDir = statePath(), composeDir = COMPOSE_DIR): Promise<PreparedState> {
  const created = await ensureSecrets(stateDir);
  const redisAclChanged = await ensureRedisAcl(stateDir);
  if (redisAclChanged) created.push('Redis ACL users (redis_acl)');
  if (await ensureSigningKeys(stateDir)) created.push('JWT signing keys (Ed25519)');
  const tls = await ensureTls(stateDir);
  if (tls.created) created.push('local CA and *.localhost certificate');
  if (await ensureS3Certificate(stateDir)) created.push('S3 HTTPS certificate (s3)');
  await installDynamicConfig(stateDir, composeDir);
  await ensureColorEnvFiles(stateDir);
  // Both regions' compose files when there is a DR region (dr/ is generated beside compose.yaml).
  await installSecretFiles(stateDir, [composeDir, join(composeDir, 'dr')]);
  return { created, caFile: tls.caFile, redisAclChanged };
}

