/** Names shared by the service modules. */
import type { ParityConfig, SizableService } from '../config/schema.js';
import type { PortSpec, ServiceSpec } from './types.js';


/** Compose project name; containers are `parity-<service>-1`. */
export const PROJECT = 'parity';

/** The state directory as compose sees it: `make up` passes it in the environment. */
export const STATE = '${PARITY_STATE_DIR:?PARITY_STATE_DIR must be set (make up sets it)}';

/** Compose secrets: generated on first run into the state directory, never committed. */
export const SECRETS = [
  'postgres_password',
  'replication_password',
  // Each database user's password (services/topology/database-roles.ts): an app's role, the exporters'.
  'pg_auth_password',
  'pg_ivor_password',
  'pg_events_password',
  'pg_newsroom_password',
  'pg_exporter_password',
  // Ed25519 JWK sets made by scripts/runners/stack/signing-keys.ts: private (auth) and public (everyone).
  'jwt_signing_keys',
  'jwt_public_keys',
  'admin_password',
  's3_access_key',
  's3_secret_key',
  's3_config',
  'grafana_admin_password',
  'backup_cipher_pass',
  // The Traefik dashboard's basic auth (user admin): the password, and the htpasswd line made from it.
  'traefik_dashboard_password',
  'traefik_dashboard_users',
  // Redis ACL users (services/topology/redis.ts): the apps' and the exporter's passwords, and the
  // ACL file made from them (their SHA-256 only), written by stack-state.ts on every start.
  'redis_app_password',
  'redis_exporter_password',
  'redis_acl',
  // Made by the TLS step (stack-state.ts), not random: the S3 store's HTTPS certificate and the CA that signed it.
  's3_tls_cert',
  's3_tls_key',
  'ca_cert',
] as const;
/** Secrets the TLS step writes (certificates), not the random generator. */
export const TLS_SECRETS: readonly SecretName[] = ['s3_tls_cert', 's3_tls_key', 'ca_cert'];
export type SecretName = (typeof SECRETS)[number];
/** Secrets derived from others on every start, not generated once. */
export const DERIVED_SECRETS: readonly SecretName[] = ['redis_acl'];

/**
 * The most WAL a replication slot may hold back (`max_slot_wal_keep_size`). Unbounded (Postgres'
 * default), a replica that is gone for long, or a DR standby behind a cut link, keeps its slot's WAL
 * until the primary's disk is full and the primary stops. Past this size the slot is invalidated
 * and that replica must be re-cloned (Patroni does it; the plain replica says so in its log): the
 * primary stays up. 2 GB is twice what `make bench-dr` loads in one go, so a replica that is only
 * slow (a bulk load on a 2-core machine) never loses its slot.
 */
export const MAX_SLOT_WAL_KEEP_SIZE = '2GB';

/** Secrets the signing-key step writes (JWK sets, rotated by rotateSigningKeys), not the random generator. */
export const SIGNING_KEY_SECRETS: readonly SecretName[] = ['jwt_signing_keys', 'jwt_public_keys'];

/** The database every platform service uses. */
export const DATABASE = { name: 'platform', user: 'parity', replicationUser: 'replicator', slot: 'replica1' } as const;

export function publish(config: ParityConfig, host: number, container: number): PortSpec {
  return { bind: config.bindAddress, host, container };
}

const LOOPBACK = '127.0.0.1';
const isLoopback = (address: string) => address.startsWith('127.');

/** The users' entrypoints (Traefik's web and websecure): the only ports `bindAddress` opens by itself. */
const isUsersEntrypoint = (config: ParityConfig, service: Pick<ServiceSpec, 'tier'>, port: PortSpec) =>
  service.tier === 'edge' && (port.host === config.ports.http || port.host === config.ports.https);

/**
 * Whether a service's published ports may leave loopback: a non-loopback `bindAddress` opens the
 * edge's entrypoints and what `expose` names, nothing else (Postgres, Redis, S3 and Prometheus
 * used to follow it too).
 */
export const isExposed = (config: ParityConfig, service: string): boolean => !isLoopback(config.bindAddress) && (config.expose as readonly string[]).includes(service);

/** A port as it is published: on `bindAddress` for the users' entrypoints and exposed services, else on loopback. */
export function restrictBind(config: ParityConfig, service: Pick<ServiceSpec, 'name' | 'tier'>, port: PortSpec): PortSpec {
  if (port.bind !== config.bindAddress || isLoopback(port.bind)) return port;
  return isUsersEntrypoint(config, service, port) || isExposed(config, service.name) ? port : { ...port, bind: LOOPBACK };
}

/**
 * Host name for URLs in the status table and the runners' connections: the edge's (no `service`)
 * or an exposed service's follows `bindAddress` (0.0.0.0 binds are still reached on localhost);
 * everything else is on loopback.
 */
export function hostFor(config: ParityConfig, service?: string): string {
  if (service !== undefined && !isExposed(config, service)) return isLoopback(config.bindAddress) ? config.bindAddress : LOOPBACK;
  return config.bindAddress === '0.0.0.0' ? 'localhost' : config.bindAddress;
}

/**
 * What a non-loopback `bindAddress` publishes to other machines, for `make up`'s warning; empty on loopback.
 */
export function describeExposure(config: ParityConfig): string[] {
  if (isLoopback(config.bindAddress)) return [];
  return [
    `the edge (http :${config.ports.http}, https :${config.ports.https}) on ${config.bindAddress}`,
    ...config.expose.map((service) => `${service} on ${config.bindAddress} (expose)`),
  ];
}

export function imageFor(repo: string, version: string): string {
  return `${repo}:${version}`;
}

export type { SizableService };
