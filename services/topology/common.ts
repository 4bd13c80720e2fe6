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
  'jwt_key',
  'admin_password',
  's3_access_key',
  's3_secret_key',
  's3_config',
  'grafana_admin_password',
  'backup_cipher_pass',
  // The Traefik dashboard's basic auth (user admin): the password, and the htpasswd line made from it.
  'traefik_dashboard_password',
  'traefik_dashboard_users',
  // Made by the TLS step (stack-state.ts), not random: the S3 store's HTTPS certificate and the CA that signed it.
  's3_tls_cert',
  's3_tls_key',
  'ca_cert',
] as const;
/** Secrets the TLS step writes (certificates), not the random generator. */
export const TLS_SECRETS: readonly SecretName[] = ['s3_tls_cert', 's3_tls_key', 'ca_cert'];
export type SecretName = (typeof SECRETS)[number];

/**
 * The most WAL a replication slot may hold back (`max_slot_wal_keep_size`). Unbounded (Postgres'
 * default), a replica that is gone for long, or a DR standby behind a cut link, keeps its slot's WAL
 * until the primary's disk is full and the primary stops. Past this size the slot is invalidated
 * and that replica must be re-cloned (Patroni does it; the plain replica says so in its log): the
 * primary stays up. 2 GB is twice what `make bench-dr` loads in one go, so a replica that is only
 * slow (a bulk load on a 2-core machine) never loses its slot.
 */
export const MAX_SLOT_WAL_KEEP_SIZE = '2GB';

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
