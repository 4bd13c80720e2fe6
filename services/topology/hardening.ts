/**
 * What each container may do, by logical service: every one runs with `no-new-privileges` and
 * every capability dropped (the renderer's rule); this table adds back what an image needs, the
 * user it runs as where the image starts as root but doesn't have to, a read-only root
 * filesystem where the image writes only to its volumes (tmpfs for scratch space), and a memory
 * limit by default (`resources.<service>.memory` overrides it).
 *
 * Kept in one place, not in each service module, so a review sees every exception side by side
 * (and the edge's module needs no change for it).
 */
import type { ServiceSpec } from './types.js';

/** The part of a ServiceSpec this table decides. */
export type Hardening = Pick<ServiceSpec, 'user' | 'capAdd' | 'readOnly' | 'tmpfs' | 'memory' | 'goRuntime'>;

/**
 * Entrypoints that start as root to fix a volume's ownership, then drop to their user with gosu
 * (Postgres' and the Patroni image's): chown/chmod of files they don't own, reading a 0700 data
 * directory, and the switch of user.
 */
const ROOT_THEN_GOSU = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID'] as const;
/** `nobody`, for images that run as root only because their Dockerfile says nothing. */
const NOBODY = '65534:65534';
/** Traefik reads the edge's TLS key as nobody (its user below): the key's owner, mode 0600. */
export const TLS_KEY_READER = 65534;

// The stubs (one image, user `node`) write nothing but scratch files; 30-50 MiB idle (docs/benchmarks.md).
const STUB: Hardening = { readOnly: true, tmpfs: ['/tmp'], memory: '256m' };
const POSTGRES: Hardening = { capAdd: ROOT_THEN_GOSU, memory: '1g' };

export const HARDENING: Readonly<Record<string, Hardening | ((service: ServiceSpec) => Hardening)>> = {
  frontend: STUB,
  ivor: STUB,
  events: STUB,
  newsroom: STUB,
  auth: STUB,
  'alert-receiver': STUB,
  // Ports 80/443 inside the container need no capability: Docker sets ip_unprivileged_port_start=0.
  // Sized from `make bench-users` (docs/benchmarks.md): ~150 MiB at 100 req/s, past 256 MiB at 200 req/s of
  // users whose answers queue behind busy apps (each connection and request in flight holds buffers).
  traefik: { user: NOBODY, readOnly: true, tmpfs: ['/tmp'], memory: '512m', goRuntime: true },
  // HAProxy on the host network: the image's own user (haproxy), nothing written.
  // 45 MiB seen with 500 new TLS connections a second (make bench-users): 64 MiB left no headroom.
  front: { readOnly: true, tmpfs: ['/tmp'], memory: '128m' },
  postgres: POSTGRES,
  'postgres-primary': POSTGRES,
  'postgres-replica': POSTGRES,
  etcd: { readOnly: true, tmpfs: ['/tmp'], memory: '256m', goRuntime: true },
  'postgres-writer': { readOnly: true, tmpfs: ['/tmp'], memory: '128m' },
  'postgres-reader': { readOnly: true, tmpfs: ['/tmp'], memory: '128m' },
  // The image's entrypoint only chowns /data and drops to redis (999); the volume is redis's already.
  redis: { user: '999:999', readOnly: true, memory: '512m' },
  // SeaweedFS' entrypoint, as root, only chowns /data and drops to seaweed (1000), whose the
  // image's /data (so a fresh volume's) is already. MinIO's upstream image: the limit only.
  s3: (service) => (service.image.startsWith('chrislusf/seaweedfs:') ? { user: '1000:1000', readOnly: true, tmpfs: ['/tmp'], memory: '512m', goRuntime: true } : { memory: '512m', goRuntime: true }),
  // Every proxied connection holds buffers (a latency toxic holds its data): 112 MiB of 128 seen at 100 req/s.
  toxiproxy: { user: NOBODY, readOnly: true, memory: '256m', goRuntime: true },
  prometheus: { readOnly: true, tmpfs: ['/tmp'], memory: '512m', goRuntime: true },
  alertmanager: { readOnly: true, tmpfs: ['/tmp'], memory: '128m', goRuntime: true },
  // Upstream image (user 472); not read-only: plugins and its sqlite database live in the image's paths.
  grafana: { memory: '256m' },
  'postgres-exporter': { readOnly: true, memory: '128m', goRuntime: true },
  'redis-exporter': { readOnly: true, memory: '128m', goRuntime: true },
  'node-exporter': { readOnly: true, memory: '128m', goRuntime: true },
};

/** docker memory syntax (`256m`, `1g`, `512k`) in MiB. */
export function memoryMiB(limit: string): number {
  const match = /^(\d+(?:\.\d+)?)([kmg])$/i.exec(limit);
  if (!match) throw new Error(`memory limit "${limit}": expected a number and k, m or g`);
  const unit = { k: 1 / 1024, m: 1, g: 1024 }[match[2]!.toLowerCase() as 'k' | 'm' | 'g'];
  return Number(match[1]) * unit;
}

/**
 * The uid that reads a service's secrets (and the edge's TLS key): compose can't set a file
 * secret's owner or mode (v2.40 ignores `uid`/`gid`/`mode` for `file:` secrets; measured), so each
 * is a copy owned by its reader with mode 0600 (scripts/runners/stack/secret-files.ts). The image's user
 * after any switch its entrypoint makes (Postgres' gosu to postgres, 999).
 */
/** The postgres user of the Postgres and Patroni images. */
export const POSTGRES_UID = 999;
const SECRET_READERS: Readonly<Record<string, number>> = {
  frontend: 1000, ivor: 1000, events: 1000, newsroom: 1000, auth: 1000, 'alert-receiver': 1000,
  postgres: 999, 'postgres-primary': 999, 'postgres-replica': 999,
  'postgres-exporter': 65534, 'redis-exporter': 65534,
  grafana: 472,
};

/** Who reads this service's secrets: its `user`'s uid when numeric, else the image's (the table), else root. */
export function secretReader(service: ServiceSpec): number {
  const uid = /^(\d+)/.exec(service.user ?? '')?.[1];
  return uid !== undefined ? Number(uid) : (SECRET_READERS[service.logical] ?? 0);
}

/** The compose secret a reader gets: the secret's copy for that uid. */
export const secretSource = (name: string, uid: number) => `${name}_uid${uid}`;
/** Where that copy lives, relative to the state directory. */
export const secretCopyPath = (name: string, uid: number) => `secrets/uid-${uid}/${name}`;

/** The service with its table entry; what the service module set itself wins. */
export function harden(service: ServiceSpec): ServiceSpec {
  const entry = HARDENING[service.logical] ?? {};
  const defaults = typeof entry === 'function' ? entry(service) : entry;
  const merged: Record<string, unknown> = { ...service };
  for (const [key, value] of Object.entries(defaults)) if (merged[key] === undefined) merged[key] = value;
  return merged as unknown as ServiceSpec;
}
