/**
 * Topology → a Docker Swarm stack file (`docker stack deploy`, compose format 3.9). Pure, from
 * the same model as compose.yaml. What Swarm can't express, or does differently, is mapped here
 * and each mapping is said in the file's header, so an operator reading compose/stack.yaml knows
 * what changes on a multi-node target:
 *
 * - Every service `endpoint_mode: dnsrr` and published ports `mode: host`: this kernel has no IPVS,
 *   so Swarm's virtual IPs and ingress mesh can't work (docs/scale-out.md).
 * - Bind mounts become `configs` (a node has no checkout): one per file the model renders into a
 *   mounted directory; the TLS key becomes a secret.
 * - Secrets: one per name, given to the reading uid with mode 0400 (Swarm does what compose's file
 *   secrets can't, so no per-uid copies).
 * - Memory and CPU limits go to `deploy.resources`; `restart` to `deploy.restart_policy` (a job
 *   restarts on failure only, so it runs to completion once); `depends_on`, `dns_opt` and
 *   `security_opt` are left out (Swarm ignores or refuses them).
 * - Stateful services (a volume of their own) run one replica pinned to a zone; the apps and the
 *   data tier's stateless proxies run `APP_REPLICAS` replicas spread over the zones and update
 *   start-first.
 * - Traefik runs on every node (`mode: global`); the front is not in the stack: it runs on the host,
 *   in front of the nodes' published ports (compose/front/cluster.cfg).
 */
import type { Topology } from '../topology/index.js';
import { STATE } from '../topology/common.js';
import { FRONT_ENTRYPOINTS } from '../topology/front.js';
import { ZONES } from '../topology/cluster.js';
import { secretReader } from '../topology/hardening.js';
import { NETWORKS, networksOf, type ServiceSpec } from '../topology/types.js';
import { healthcheckOf, imageOf, resourcesOf, withGoMemLimit } from './service-parts.js';
import type { RenderedFile } from './files.js';
import { GENERATED_BY, renderYaml } from './yaml.js';

/** Replicas of each app service (the architecture runs 2–10 behind a balancer). */
export const APP_REPLICAS = 2;
export { ZONES } from '../topology/cluster.js';
/** The stack file's compose format: the newest the engine's CLI (20.10) validates. */
export const STACK_FORMAT = '3.9';

/** State-directory mounts and what they become on Swarm: the TLS key is a secret, the rest configs. */
const STATE_MOUNTS: Readonly<Record<string, readonly { readonly file: string; readonly kind: 'config' | 'secret' }[]>> = {
  tls: [
    { file: 'cert.pem', kind: 'config' },
    { file: 'key.pem', kind: 'secret' },
  ],
};

/**
 * A literal `$` the way the stack loader reads it: `$$`. Compose v2 leaves a `$(` that starts no
 * variable as it is; the 20.10 CLI's loader refuses it ("invalid interpolation format"). A `$$`
 * the model already wrote, and a `${…}` meant for interpolation, stay as they are.
 */
const literalDollars = (text: string) => text.replace(/(?<!\$)\$(?![${])/g, '$$$$');
const literalAll = (values: readonly string[] | undefined) => values?.map(literalDollars);

/** A config or secret's name: its path with every character Swarm refuses made `_`. */
const objectName = (path: string) => path.replace(/[^A-Za-z0-9_.-]/g, '_');

interface Mounted {
  readonly configs: { source: string; target: string; mode?: number }[];
  readonly secrets: { source: string; target: string; uid?: string; gid?: string; mode: number }[];
  readonly volumes: unknown[];
}

/**
 * A service's volumes on Swarm: named volumes as they are, tmpfs as tmpfs, bind mounts of what the
 * model renders (or the state directory holds) as configs and secrets; `objects` collects the
 * top-level definitions. A bind mount of anything else can't be expressed (an error).
 */
function mountsOf(service: ServiceSpec, files: readonly RenderedFile[], objects: { configs: Map<string, string>; secrets: Map<string, string> }, problems: string[]): Mounted {
  const mounted: Mounted = { configs: [], secrets: [], volumes: [] };
  for (const volume of service.volumes ?? []) {
    // The state directory's variable has a `:` of its own (`${PARITY_STATE_DIR:?…}`).
    const rest = volume.startsWith(`${STATE}/`) ? volume.slice(STATE.length) : volume;
    const [tail = '', target = ''] = rest.split(':');
    const source = rest === volume ? tail : `${STATE}${tail}`;
    if (/^[a-z][a-z0-9-]*$/.test(source)) {
      mounted.volumes.push(volume);
      continue;
    }
    if (source.startsWith('./')) {
      const path = source.slice(2);
      const inside = files.filter((file) => file.path === path || file.path.startsWith(`${path}/`));
      if (inside.length === 0) problems.push(`${service.name}: bind mount ${volume}: the model renders nothing at compose/${path}, so there is nothing to make a config of`);
      for (const file of inside) {
        const name = objectName(file.path);
        objects.configs.set(name, `./${file.path}`);
        mounted.configs.push({ source: name, target: file.path === path ? target : `${target}/${file.path.slice(path.length + 1)}`, ...(file.executable ? { mode: 0o555 } : {}) });
      }
      continue;
    }
    const state = source.startsWith(`${STATE}/`) ? source.slice(STATE.length + 1) : undefined;
    const known = state !== undefined ? STATE_MOUNTS[state] : undefined;
    if (state?.startsWith('traefik/dynamic')) {
      // The routes a deploy rewrites: the rendered starting point here; a deploy on Swarm replaces the config.
      for (const file of files.filter((candidate) => candidate.path.startsWith('traefik/dynamic/'))) {
        const name = objectName(`state/${file.path}`);
        objects.configs.set(name, `${STATE}/${file.path}`);
        mounted.configs.push({ source: name, target: `${target}/${file.path.slice('traefik/dynamic/'.length)}` });
      }
      continue;
    }
    if (!known) {
      problems.push(`${service.name}: bind mount ${volume}: Swarm runs it on a node that has no such path, and it is not a file the model renders`);
      continue;
    }
    for (const entry of known) {
      const name = objectName(`state/${state}/${entry.file}`);
      (entry.kind === 'secret' ? objects.secrets : objects.configs).set(name, `${source}/${entry.file}`);
      if (entry.kind === 'secret') mounted.secrets.push({ source: name, target: `${target}/${entry.file}`, uid: String(secretReader(service)), gid: String(secretReader(service)), mode: 0o400 });
      else mounted.configs.push({ source: name, target: `${target}/${entry.file}` });
    }
  }
  for (const path of service.tmpfs ?? []) mounted.volumes.push({ type: 'tmpfs', target: path });
  return mounted;
}

/** Stateful: a named volume of its own, so one replica, on one zone's node (its data lives there). */
const isStateful = (service: ServiceSpec) => (service.volumes ?? []).some((volume) => /^[a-z][a-z0-9-]*:/.test(volume));

function deployOf(service: ServiceSpec, topology: Topology, zoneIndex: number): Record<string, unknown> {
  const stateful = isStateful(service);
  // Every stateless service on the users' path runs replicated: the apps, and the data tier's
  // proxies (HAProxy's writer/reader endpoints, Toxiproxy), whose single task on a lost or drained
  // node would cut every app off its data stores until Swarm started it elsewhere (measured: ~15 s).
  const replicated = (service.tier === 'app' || service.tier === 'data') && !stateful && !service.job;
  const limits = resourcesOf(service, topology);
  // Traefik on every node: the front balances over the nodes, so losing one loses no entry.
  if (service.addresses?.front) {
    return {
      mode: 'global',
      endpoint_mode: 'dnsrr',
      ...(limits ? { resources: { limits } } : {}),
      restart_policy: { condition: 'any' },
      update_config: { parallelism: 1, order: 'stop-first' },
    };
  }
  return {
    mode: 'replicated',
    replicas: replicated ? APP_REPLICAS : 1,
    endpoint_mode: 'dnsrr',
    ...(limits ? { resources: { limits } } : {}),
    restart_policy: service.job ? { condition: 'on-failure', max_attempts: 3 } : { condition: 'any' },
    ...(replicated ? { update_config: { parallelism: 1, order: 'start-first' } } : {}),
    placement: stateful ? { constraints: [`node.labels.zone == ${ZONES[zoneIndex % ZONES.length]}`] } : { preferences: [{ spread: 'node.labels.zone' }] },
  };
}

/** Published ports in host mode (no host address: Swarm binds every address of the node); Traefik also publishes what the front reaches. */
function portsOf(service: ServiceSpec): unknown[] | undefined {
  const ports = (service.ports ?? []).map((port) => ({ target: port.container, ...(port.host ? { published: port.host } : {}), protocol: 'tcp', mode: 'host' }));
  if (service.addresses?.front) for (const target of Object.values(FRONT_ENTRYPOINTS)) ports.push({ target, published: target, protocol: 'tcp', mode: 'host' });
  return ports.length ? ports : undefined;
}

function environmentOf(service: ServiceSpec, topology: Topology): Record<string, string> | undefined {
  const environment = withGoMemLimit(service, resourcesOf(service, topology)?.memory);
  return environment && Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, literalDollars(value)]));
}

/** The Swarm check: the peer check where the model has one (services/topology/types.ts), with its `$` as the stack loader reads them. */
function swarmHealthcheck(service: ServiceSpec): Record<string, unknown> {
  const health = healthcheckOf(service, true);
  return Array.isArray(health.test) ? { ...health, test: literalAll(health.test as string[]) } : health;
}

function renderService(service: ServiceSpec, topology: Topology, files: readonly RenderedFile[], objects: { configs: Map<string, string>; secrets: Map<string, string> }, problems: string[], zoneIndex: number): Record<string, unknown> {
  const mounted = mountsOf(service, files, objects, problems);
  const networks = networksOf(service).filter((network) => network !== 'front');
  const uid = String(secretReader(service));
  const secrets = [...(service.secrets ?? []).map((name) => ({ source: name, target: name, uid, gid: uid, mode: 0o400 })), ...mounted.secrets];
  return {
    // One level only: the docker CLI's stack loader (20.10) doesn't interpolate nested defaults;
    // the color's variable (the widest) is the one a Swarm deploy sets.
    image: imageOf({ ...service, imageVariables: service.imageVariables?.slice(-1) ?? [] }),
    entrypoint: literalAll(service.entrypoint),
    command: literalAll(service.command),
    environment: environmentOf(service, topology),
    env_file: service.envFile?.length ? [...service.envFile] : undefined,
    ports: portsOf(service),
    volumes: mounted.volumes.length ? mounted.volumes : undefined,
    configs: mounted.configs.length ? mounted.configs : undefined,
    secrets: secrets.length ? secrets : undefined,
    healthcheck: swarmHealthcheck(service),
    user: service.user,
    cap_drop: ['ALL'],
    cap_add: service.capAdd?.length ? [...service.capAdd] : undefined,
    read_only: service.readOnly || undefined,
    networks: service.aliases?.length ? Object.fromEntries(networks.map((network) => [network, { aliases: [...service.aliases!] }])) : [...networks],
    labels: {
      'dev.parity.logical': service.logical,
      'dev.parity.tier': service.tier,
      ...(service.color ? { 'dev.parity.color': service.color } : {}),
    },
    deploy: deployOf(service, topology, zoneIndex),
  };
}

/** The stack as an object, and what the model has that Swarm can't express (empty when all of it maps). */
export function renderStackObject(topology: Topology, files: readonly RenderedFile[]): { readonly stack: Record<string, unknown>; readonly problems: readonly string[]; readonly leftOut: readonly string[] } {
  const problems: string[] = [];
  const objects = { configs: new Map<string, string>(), secrets: new Map<string, string>() };
  const inStack = topology.services.filter((service) => service.networkMode !== 'host');
  const leftOut = topology.services.filter((service) => service.networkMode === 'host').map((service) => `${service.name} (host network: runs on the host, in front of the nodes' published ports)`);
  // A Swarm runs images from its registry: a build of a developer's source stays on one engine.
  for (const service of inStack.filter((s) => s.build)) problems.push(`${service.name}: source: build has no Swarm equivalent (nodes pull images); build it, push it to the cluster's registry and use source: image`);
  // The copies of one database or consensus group (`copyOf`) go one zone each, in order, so losing
  // a zone keeps the others. Every other stateful service (Redis, S3, Prometheus, …) is a single
  // copy: all of them in the first zone, so the other zones' nodes hold only what survives their
  // loss (docs/scale-out.md names them as the single points of failure they are until replicated).
  const copies = new Map<string, number>();
  const zoneOf = (service: ServiceSpec): number => {
    if (!isStateful(service) || !service.copyOf) return 0;
    const index = copies.get(service.copyOf) ?? 0;
    copies.set(service.copyOf, index + 1);
    return index;
  };
  const services = Object.fromEntries(inStack.map((service) => [service.name, renderService(service, topology, files, objects, problems, zoneOf(service))]));
  const secretNames = [...new Set(inStack.flatMap((service) => service.secrets ?? []))].sort();
  return {
    stack: {
      version: STACK_FORMAT,
      services,
      networks: Object.fromEntries(NETWORKS.filter((network) => network !== 'front' && inStack.some((service) => networksOf(service).includes(network))).map((network) => [network, { driver: 'overlay', attachable: true }])),
      volumes: Object.fromEntries(topology.volumes.map((volume) => [volume, {}])),
      configs: Object.fromEntries([...objects.configs].sort(([a], [b]) => a.localeCompare(b)).map(([name, file]) => [name, { file }])),
      secrets: Object.fromEntries([
        ...secretNames.map((name): [string, { file: string }] => [name, { file: `${STATE}/secrets/${name}` }]),
        ...[...objects.secrets].sort(([a], [b]) => a.localeCompare(b)).map(([name, file]): [string, { file: string }] => [name, { file }]),
      ]),
    },
    problems,
    leftOut,
  };
}

/** compose/stack.yaml: the stack, with a header saying how it differs from compose.yaml. */
export function renderStack(topology: Topology, files: readonly RenderedFile[]): string {
  const { stack, problems, leftOut } = renderStackObject(topology, files);
  const header = [
    `# GENERATED by \`${GENERATED_BY}\` from services/ (renderStack): do not edit.`,
    '# The same model as compose.yaml, for a Docker Swarm (docker stack deploy -c stack.yaml parity); see services/render/stack.ts.',
    `# Apps and the data tier's stateless proxies: ${APP_REPLICAS} replicas spread over node.labels.zone (${ZONES.join(', ')}); stateful services: one replica pinned to a zone (copies of a database or of etcd one zone each, single copies all in ${ZONES[0]}).`,
    '# Every service dnsrr with host-mode ports (no IPVS here); bind mounts are configs; secrets go to their reader uid (0400).',
    ...leftOut.map((entry) => `# Not in the stack: ${entry}.`),
    ...problems.map((problem) => `# CAN'T BE EXPRESSED: ${problem}`),
  ].join('\n');
  return `${header}\n${renderYaml(stack, 'services/render/stack.ts (renderStack)').replace(/^# GENERATED[^\n]*\n/, '')}`;
}
