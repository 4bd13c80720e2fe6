/** Names shared by the service modules. */
import type { ParityConfig, SizableService } from '../config/schema.js';
import type { PortSpec } from './types.js';


/** Compose project name; containers are `parity-<service>-1`. */
export const PROJECT = 'parity';

/** The state directory as compose sees it: `make up` passes it in the environment. */
export const STATE = '${PARITY_STATE_DIR:?PARITY_STATE_DIR must be set (make up sets it)}';

/** Compose secrets: generated on first run into the state directory, never committed. */
export const SECRETS = [
  'postgres_password',
  'replication_password',
  // Ed25519 JWK sets made by scripts/runners/signing-keys.ts: private (auth) and public (everyone).
  'jwt_signing_keys',
  'jwt_public_keys',
  'admin_password',
  's3_access_key',
  's3_secret_key',
  's3_config',
  'grafana_admin_password',
  'backup_cipher_pass',
  // Made by the TLS step (stack-state.ts), not random: the S3 store's HTTPS certificate and the CA that signed it.
  's3_tls_cert',
  's3_tls_key',
  'ca_cert',
] as const;
/** Secrets the TLS step writes (certificates), not the random generator. */
export const TLS_SECRETS: readonly SecretName[] = ['s3_tls_cert', 's3_tls_key', 'ca_cert'];
export type SecretName = (typeof SECRETS)[number];
/** Secrets the signing-key step writes (JWK sets, rotated by rotateSigningKeys), not the random generator. */
export const SIGNING_KEY_SECRETS: readonly SecretName[] = ['jwt_signing_keys', 'jwt_public_keys'];

/** The database every platform service uses. */
export const DATABASE = { name: 'platform', user: 'parity', replicationUser: 'replicator', slot: 'replica1' } as const;

export function publish(config: ParityConfig, host: number, container: number): PortSpec {
  return { bind: config.bindAddress, host, container };
}

/** Host name for URLs in the status table (0.0.0.0 binds are still reached on localhost). */
export function hostFor(config: ParityConfig): string {
  return config.bindAddress === '0.0.0.0' ? 'localhost' : config.bindAddress;
}

export function imageFor(repo: string, version: string): string {
  return `${repo}:${version}`;
}

export type { SizableService };
